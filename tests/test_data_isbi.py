"""The synthetic ISBI 2012: multi-page TIFFs like the real stacks, with a learnable signal."""
import time

import numpy as np
import pytest
import tifffile

from coursekit.data import isbi
from coursekit.network import OfflineError
from local_http import assert_offline_notice


@pytest.fixture(scope="module")
def root(data_home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSEKIT_DATA", str(data_home))
        return isbi.isbi_dir("synthetic")


@pytest.fixture(scope="module")
def train(root):
    return isbi.load_isbi(root)


def test_tiffs_are_multipage_stacks_like_the_real_ones(root):
    from PIL import Image

    for name in isbi.FILES:
        with tifffile.TiffFile(root / name) as tif:
            assert len(tif.pages) == 30
            assert all(page.shape == (512, 512) and page.dtype == np.uint8 for page in tif.pages)
        with Image.open(root / name) as image:  # other readers see 30 frames too
            assert image.n_frames == 30 and image.mode == "L"
    labels = tifffile.imread(root / "train-labels.tif")
    assert labels.shape == (30, 512, 512) and set(np.unique(labels).tolist()) == {0, 255}


def test_load_isbi_and_membrane_fraction(root, train):
    volume, membranes = train
    assert volume.shape == membranes.shape == (30, 512, 512)
    assert volume.dtype == membranes.dtype == np.uint8
    assert set(np.unique(membranes).tolist()) == {0, 1}
    assert 0.17 < membranes.mean() < 0.27  # the real labels: about 22% membrane
    np.testing.assert_array_equal(membranes, tifffile.imread(root / "train-labels.tif") == 0)
    test = isbi.load_isbi_test(root)
    assert test.shape == (30, 512, 512) and not np.array_equal(test, volume)


def test_membranes_are_dark_and_a_threshold_beats_the_majority_class(train):
    """Threshold a smoothed image, fitted on slices 0-24, scored on 25-29.

    Majority (interior) is about 0.75 of the pixels; the threshold gets about 0.90.
    """
    from scipy import ndimage

    volume, membranes = train
    assert volume[membranes == 1].mean() < volume[membranes == 0].mean() - 40
    smooth = np.stack([ndimage.gaussian_filter(s.astype(np.float32), 1.5) for s in volume])
    fit, score = slice(0, 25), slice(25, 30)
    threshold = max(range(0, 256, 4), key=lambda t: ((smooth[fit] < t) == membranes[fit]).mean())
    accuracy = ((smooth[score] < threshold) == membranes[score]).mean()
    majority = 1 - membranes[score].mean()
    assert accuracy > majority + 0.1, (accuracy, majority)


def test_neighbouring_slices_are_alike_as_in_serial_sections(train):
    _, membranes = train
    m = membranes.astype(bool)

    def iou(a, b):
        return (a & b).sum() / (a | b).sum()

    assert iou(m[10], m[11]) > 2 * iou(m[10], m[25])


def test_same_seed_same_bytes_and_fast(tmp_path):
    start = time.perf_counter()
    a = isbi.write_synthetic_isbi(tmp_path / "a", n_slices=4, size=128, seed=3)
    assert time.perf_counter() - start < 5
    b = isbi.write_synthetic_isbi(tmp_path / "b", n_slices=4, size=128, seed=3)
    c = isbi.write_synthetic_isbi(tmp_path / "c", n_slices=4, size=128, seed=4)
    for name in isbi.FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()
    assert tifffile.imread(a / "train-volume.tif").shape == (4, 128, 128)


def test_extract_patches_tiles_every_slice(train):
    volume, membranes = train
    x, y = isbi.extract_patches(volume[:2], membranes[:2], patch=128, stride=128)
    assert x.shape == y.shape == (2 * 16, 128, 128)
    np.testing.assert_array_equal(x[16 + 5], volume[1, 128:256, 128:256])  # slice 1, row 1, column 1
    np.testing.assert_array_equal(y[3], membranes[0, 0:128, 384:512])
    overlapping, none = isbi.extract_patches(volume[:1], patch=256, stride=128)
    assert overlapping.shape == (9, 256, 256) and none is None


def test_auto_offline_says_so_and_uses_synthetic(data_home, monkeypatch, capsys):
    monkeypatch.setenv("COURSEKIT_DATA", str(data_home))
    root = isbi.isbi_dir()
    assert_offline_notice(capsys.readouterr().out, "ISBI 2012", root)
    assert all((root / name).is_file() for name in isbi.FILES)


def test_real_offline_raises_with_what_to_do(data_home, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(data_home))
    with pytest.raises(OfflineError, match="train-volume.tif"):
        isbi.isbi_dir("real")


def test_a_synthetic_folder_is_written_once_and_never_taken_for_the_real_one(tmp_path, monkeypatch):
    monkeypatch.setitem(isbi.SYNTHETIC, "n_slices", 2)  # small, for speed
    monkeypatch.setitem(isbi.SYNTHETIC, "size", 64)
    root = isbi.isbi_dir("synthetic", root=tmp_path)
    assert isbi.load_isbi(root)[0].shape == (2, 64, 64)
    stamp = (root / "train-volume.tif").stat().st_mtime_ns
    assert isbi.isbi_dir("synthetic", root=tmp_path) == root
    assert (root / "train-volume.tif").stat().st_mtime_ns == stamp  # not written again
    with pytest.raises(OfflineError):
        isbi.isbi_dir("real", root=tmp_path)  # the synthetic files there do not count as real
    (root / isbi.MARKER).unlink()  # as if real files in the real format had been copied here
    monkeypatch.setattr(isbi, "EXPECTED_SHAPE", (2, 64, 64))
    assert isbi.isbi_dir(root=tmp_path) == tmp_path  # auto: a real copy on disk is used offline
    (root / "train-labels.tif").write_bytes(b"<html>")  # a damaged copy is not trusted
    with pytest.raises(OfflineError):
        isbi.isbi_dir("real", root=tmp_path)
