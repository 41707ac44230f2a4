"""The synthetic Oxford-IIIT Pet: real layout, real trimap values, read by torchvision."""
import numpy as np
import pytest
from PIL import Image

from coursekit.data import pets
from coursekit.network import OfflineError
from local_http import assert_offline_notice


@pytest.fixture(scope="module")
def root(data_home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSEKIT_DATA", str(data_home))
        return pets.pets_dir("synthetic")


def rows(path):
    return [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]


def test_layout_and_trimap_values(root):
    base = root / "oxford-iiit-pet"
    images = sorted((base / "images").glob("*.jpg"))
    assert len(images) == 120
    sizes, values = set(), set()
    for path in images:
        with Image.open(path) as image, Image.open(base / "annotations" / "trimaps" / f"{path.stem}.png") as trimap:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert trimap.format == "PNG" and trimap.mode == "L" and trimap.size == image.size
            values |= set(np.unique(np.asarray(trimap)).tolist())
            sizes.add(image.size)
    assert values == {1, 2, 3}
    assert len(sizes) > 50 and all(150 <= s <= 300 for size in sizes for s in size)


def test_list_files_parse_like_the_real_ones(root):
    annotations = root / "oxford-iiit-pet" / "annotations"
    header = [line for line in (annotations / "list.txt").read_text().splitlines() if line.startswith("#")]
    assert header[0] == "#Image CLASS-ID SPECIES BREED ID"
    listed = rows(annotations / "list.txt")
    trainval, test = rows(annotations / "trainval.txt"), rows(annotations / "test.txt")
    assert not (annotations / "trainval.txt").read_text().startswith("#")  # torchvision reads every line
    assert sorted(map(tuple, listed)) == sorted(map(tuple, trainval + test))
    assert not {r[0] for r in trainval} & {r[0] for r in test}
    assert 0.4 < len(trainval) / len(listed) < 0.6
    for name, class_id, species, breed_id in listed:
        breed = name.rsplit("_", 1)[0]
        assert species == ("1" if breed[0].isupper() else "2")  # capital = cat, as in the real set
        assert (breed, int(class_id), int(species), int(breed_id)) in pets.BREEDS


def test_torchvision_reads_it_and_agrees_with_load_pets(root):
    from torchvision.datasets import OxfordIIITPet

    images, masks = pets.load_pets(root, "test", size=96, limit=6)
    seg = OxfordIIITPet(root, split="test", target_types="segmentation", download=False)
    species = OxfordIIITPet(root, split="test", target_types="binary-category", download=False)
    assert len(seg) == len(pets.read_split(root, "test"))
    for i in (0, 5):
        image, trimap = seg[i]
        expected = np.asarray(trimap.resize((96, 96), Image.NEAREST), dtype=np.int64) - 1
        np.testing.assert_array_equal(masks[i], expected)
        np.testing.assert_allclose(images[i], np.asarray(image.resize((96, 96), Image.BILINEAR)) / 255, atol=1e-6)
    cats = [name[0].isupper() for name in pets.read_split(root, "test")]
    assert [species[i][1] == 0 for i in range(len(species))] == cats


def test_load_pets_shapes_and_classes(root):
    images, masks = pets.load_pets(root, "trainval", size=64, limit=10)
    assert images.shape == (10, 64, 64, 3) and images.dtype == np.float32
    assert masks.shape == (10, 64, 64) and masks.dtype == np.int64
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0.1
    assert set(np.unique(masks).tolist()) == {0, 1, 2} and len(pets.PET_CLASSES) == 3
    with pytest.raises(ValueError, match="split"):
        pets.load_pets(root, "train")


def test_same_seed_same_bytes(tmp_path):
    a, b, c = (pets.write_synthetic_pets(tmp_path / name, n_images=4, seed=seed)
               for name, seed in (("a", 1), ("b", 1), ("c", 2)))
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 4 * 2 + 3 + 1  # images, trimaps, three lists and the marker
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert all((a / f).read_bytes() != (c / f).read_bytes() for f in files if f.suffix in (".jpg", ".png"))


def test_a_colour_rule_beats_the_majority_class(root):
    """Pet or background by colour: nearer the centre's colour or the frame edge's.

    Majority (background) is about 0.57 of the pixels; the rule gets about 0.80.
    """
    images, masks = pets.load_pets(root, "test", size=64)
    centre = images[:, 24:40, 24:40].reshape(len(images), -1, 3).mean(1)
    edge = np.concatenate([images[:, :4], images[:, :, :4].transpose(0, 2, 1, 3),
                           images[:, :, -4:].transpose(0, 2, 1, 3)], axis=1).reshape(len(images), -1, 3).mean(1)
    near_centre = ((images - centre[:, None, None]) ** 2).sum(-1) < ((images - edge[:, None, None]) ** 2).sum(-1)
    accuracy = (np.where(near_centre, 0, 1) == masks).mean()
    majority = (masks == np.bincount(masks.ravel()).argmax()).mean()
    assert accuracy > majority + 0.12, (accuracy, majority)


def test_auto_offline_says_so_and_uses_synthetic(data_home, monkeypatch, capsys):
    monkeypatch.setenv("COURSEKIT_DATA", str(data_home))
    root = pets.pets_dir()
    assert_offline_notice(capsys.readouterr().out, "Oxford-IIIT Pet", root)
    assert (root / "oxford-iiit-pet" / "annotations" / "trimaps").is_dir()


def test_real_offline_raises_with_what_to_do(data_home, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA", str(data_home))
    with pytest.raises(OfflineError, match="source='synthetic'"):
        pets.pets_dir("real")
    with pytest.raises(ValueError, match="source"):
        pets.pets_dir("kaggle")


def test_a_synthetic_folder_is_written_once_and_never_taken_for_the_real_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(pets.SYNTHETIC, "n_images", 2)  # small, for speed
    root = pets.pets_dir("synthetic", root=tmp_path)
    assert len(pets.read_split(root, "trainval")) == 2
    trimap = root / "oxford-iiit-pet" / "annotations" / "trimaps" / "Abyssinian_1.png"
    stamp = trimap.stat().st_mtime_ns
    assert pets.pets_dir(root=tmp_path) == root
    assert_offline_notice(capsys.readouterr().out, "Oxford-IIIT Pet", root)
    assert trimap.stat().st_mtime_ns == stamp  # not written again
    with pytest.raises(OfflineError):
        pets.pets_dir("real", root=tmp_path)  # the synthetic files there do not count as real
    (root / "oxford-iiit-pet" / pets.MARKER).unlink()  # as if the real set had been extracted here
    assert pets.pets_dir(root=tmp_path) == root and capsys.readouterr().out == ""
