"""The synthetic FashionMNIST: the real raw IDX files, read by torchvision, learnable."""
import gzip

import numpy as np
import pytest

from coursekit.data import fashion
from coursekit.network import OfflineError
from local_http import assert_offline_notice


@pytest.fixture(scope="module")
def root(data_home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSEKIT_DATA", str(data_home))
        return fashion.fashion_root("synthetic")


@pytest.fixture
def cache(data_home, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(data_home))
    return data_home


def raw(root):
    return root / "FashionMNIST" / "raw"


def load(root, split):
    prefix = fashion.SPLITS[split]
    return (fashion.read_idx(raw(root) / f"{prefix}-images-idx3-ubyte").reshape(-1, 784) / 255.0,
            fashion.read_idx(raw(root) / f"{prefix}-labels-idx1-ubyte"))


def test_layout_is_the_downloaded_one(root):
    for name in fashion.RAW_FILES:
        plain = (raw(root) / name).read_bytes()
        assert gzip.decompress((raw(root) / f"{name}.gz").read_bytes()) == plain
    assert fashion.FASHION_CLASSES[0] == "T-shirt/top" and fashion.FASHION_CLASSES[-1] == "Ankle boot"


def test_torchvision_reads_it_and_agrees_with_read_idx(root):
    from torchvision.datasets import FashionMNIST

    train = FashionMNIST(root, train=True, download=False)
    test = FashionMNIST(root, train=False, download=False)
    assert (len(train), len(test)) == (2000, 500)
    assert list(train.classes) == list(fashion.FASHION_CLASSES)
    image, label = train[7]
    assert image.size == (28, 28) and image.mode == "L" and 0 <= label <= 9
    images = fashion.read_idx(raw(root) / "train-images-idx3-ubyte.gz")
    labels = fashion.read_idx(raw(root) / "t10k-labels-idx1-ubyte")
    assert images.shape == (2000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, train.data.numpy())
    np.testing.assert_array_equal(labels, test.targets.numpy())
    assert np.bincount(train.targets.numpy()).tolist() == [200] * 10  # balanced, as in the real set


def test_images_look_like_fashionmnist(root):
    images, _ = load(root, "train")
    corners = images.reshape(-1, 28, 28)[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert np.median(corners) == 0  # black background, bright garment
    assert 0.1 < images.mean() < 0.4 and images.max() == 1.0


def test_read_idx_reads_gz_and_plain_alike(root):
    for name in fashion.RAW_FILES:
        plain, packed = fashion.read_idx(raw(root) / name), fashion.read_idx(raw(root) / f"{name}.gz")
        assert plain.dtype == np.uint8 and plain.shape[0] in (2000, 500)
        np.testing.assert_array_equal(plain, packed)


def test_read_idx_rejects_a_wrong_magic_number(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x0d\x03" + bytes(12))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*magic number"):
        fashion.read_idx(bad)


@pytest.mark.parametrize("content", [b"", b"<html>404 Not Found</html>", b"\x89PNG\r\n\x1a\n" + bytes(40)])
def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path, content):
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(bad, "wb") as f:
        f.write(content)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz is not an unsigned-byte IDX file"):
        fashion.read_idx(bad)


def test_read_idx_rejects_a_header_that_disagrees_with_the_data(tmp_path):
    bad = tmp_path / "short-idx1-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + bytes(7))  # says 10 labels, holds 7
    with pytest.raises(ValueError, match="short-idx1-ubyte.*holds 7 bytes"):
        fashion.read_idx(bad)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def files(folder, seed):
        fashion.write_synthetic_fashion(folder, n_train=40, n_test=10, seed=seed)
        return {p.name: p.read_bytes() for p in sorted(raw(folder).iterdir())}

    first = files(tmp_path / "a", 3)
    assert len(first) == 8
    assert files(tmp_path / "b", 3) == first
    other = files(tmp_path / "c", 4)
    assert other["train-images-idx3-ubyte"] != first["train-images-idx3-ubyte"]


def test_nearest_centroid_beats_chance_but_is_not_perfect(root):
    x, y = load(root, "train")
    x_test, y_test = load(root, "test")
    centroids = np.stack([x[y == k].mean(0) for k in range(10)])
    predicted = np.argmin(((x_test[:, None] - centroids) ** 2).sum(-1), axis=1)
    accuracy = (predicted == y_test).mean()
    print(f"nearest centroid on the synthetic FashionMNIST: test accuracy {accuracy:.3f} (chance 0.1)")
    assert 0.5 <= accuracy < 0.98, accuracy  # on the real set nearest centroid scores about 0.68


def test_offline_auto_says_so_and_uses_the_synthetic_set(cache, root, capsys):
    assert fashion.fashion_root() == root
    out = capsys.readouterr().out
    assert_offline_notice(out, "FashionMNIST", root)
    assert not (cache / "fashionmnist-real").exists()  # nothing tried to download (conftest also blocks sockets)


def test_offline_real_raises_a_helpful_error(cache):
    with pytest.raises(OfflineError, match="source='synthetic'.*FashionMNIST/raw"):
        fashion.fashion_root("real")


def test_synthetic_into_a_given_root(tmp_path, monkeypatch):
    monkeypatch.setitem(fashion.SYNTHETIC, "n_train", 30)  # small, for speed
    assert fashion.fashion_root("synthetic", root=tmp_path / "given") == tmp_path / "given"
    fashion.write_synthetic_fashion(tmp_path / "direct", n_train=30, n_test=500, seed=0)
    for name in fashion.RAW_FILES:
        assert (raw(tmp_path / "given") / name).read_bytes() == (raw(tmp_path / "direct") / name).read_bytes()
    with pytest.raises(OfflineError):  # a synthetic folder is never taken for the real set
        fashion.fashion_root("real", root=tmp_path / "given")


def test_a_downloaded_real_set_is_used_offline(tmp_path, root, capsys):
    import shutil

    shutil.copytree(raw(root), raw(tmp_path))  # raw files without the synthetic marker: the real set
    assert fashion.fashion_root("real", root=tmp_path) == tmp_path
    assert fashion.fashion_root("auto", root=tmp_path) == tmp_path
    assert capsys.readouterr().out == ""
