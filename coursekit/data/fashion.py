"""FashionMNIST: torchvision's download when online, else a synthetic set in the same
raw IDX files (<root>/FashionMNIST/raw/), which torchvision's FashionMNIST class reads."""
import gzip
from pathlib import Path

import numpy as np

from coursekit.data._synthetic import cached_dataset
from coursekit.network import OfflineError, is_online
from coursekit.paths import data_home

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SPLITS = {"train": "train", "test": "t10k"}
IDX_TYPES = {0x08: np.uint8}


def read_idx(path) -> np.ndarray:
    """An IDX file (plain or .gz) as a NumPy array of its stated shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_idx(raw: Path, name: str, array: np.ndarray) -> None:
    data = _idx_bytes(array)
    (raw / name).write_bytes(data)  # torchvision checks for the extracted files
    with open(raw / f"{name}.gz", "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as z:
        z.write(data)  # as downloaded; mtime=0 keeps the bytes reproducible


# Silhouettes on a 28x28 grid: (row0, row1, col0, col1) boxes per class; unions of boxes.
_SHAPES = {
    0: [(5, 23, 8, 20), (5, 11, 3, 25)],  # T-shirt: body and short sleeves
    1: [(3, 25, 8, 13), (3, 25, 15, 20), (3, 8, 8, 20)],  # Trouser: two legs
    2: [(5, 23, 8, 20), (5, 21, 3, 7), (5, 21, 21, 25)],  # Pullover: long sleeves
    3: [(3, 10, 10, 18), (10, 25, 6, 22)],  # Dress: narrow top, wide skirt
    4: [(4, 25, 7, 21), (4, 24, 2, 6), (4, 24, 22, 26), (4, 25, 13, 15)],  # Coat: long, open front
    5: [(17, 21, 3, 25), (12, 17, 6, 9), (12, 17, 13, 16), (12, 17, 20, 23)],  # Sandal: straps
    6: [(5, 23, 8, 20), (5, 16, 3, 7), (5, 16, 21, 25), (5, 23, 13, 14)],  # Shirt: buttons line
    7: [(15, 22, 2, 26), (11, 15, 10, 24)],  # Sneaker: low shoe
    8: [(9, 24, 4, 24), (4, 9, 9, 11), (4, 9, 17, 19), (4, 6, 9, 19)],  # Bag: box with handle
    9: [(15, 23, 2, 26), (4, 15, 14, 25)],  # Ankle boot: shoe with shaft
}


def _garment(label: int, rng: np.random.Generator) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    for r0, r1, c0, c1 in _SHAPES[label]:
        image[r0:r1, c0:c1] = 1.0
    texture = 0.55 + 0.35 * rng.random() + 0.1 * rng.standard_normal((28, 28))
    image *= texture
    image = np.roll(image, (rng.integers(-2, 3), rng.integers(-2, 3)), axis=(0, 1))
    image += 0.12 * np.abs(rng.standard_normal((28, 28)))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def _split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    return np.stack([_garment(int(y), rng) for y in labels]), labels


def write_synthetic_fashion(root, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Path:
    """FashionMNIST's raw files (.gz and extracted) under root/FashionMNIST/raw/."""
    raw = Path(root) / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = _split(n, rng)
        _write_idx(raw, f"{SPLITS[split]}-images-idx3-ubyte", images)
        _write_idx(raw, f"{SPLITS[split]}-labels-idx1-ubyte", labels)
    return Path(root)


def fashion_root(source: str = "auto", root=None) -> Path:
    """A folder to pass as `root` to torchvision.datasets.FashionMNIST(..., download=False).

    source: "real" (torchvision's download), "synthetic", or "auto" (real when online).
    """
    if source == "auto":
        source = "real" if is_online() else "synthetic"
        if source == "synthetic":
            print(f"no network: using the synthetic FashionMNIST in {_synthetic_root(root)}")
    if source == "synthetic":
        return _synthetic_root(root)
    if source != "real":
        raise ValueError(f"source must be 'auto', 'real' or 'synthetic', not {source!r}")
    if not is_online():
        raise OfflineError("no network: the real FashionMNIST cannot be downloaded; use source='synthetic' "
                           "or copy the four raw files into <root>/FashionMNIST/raw/")
    import torchvision

    root = Path(root or data_home() / "fashionmnist-real")
    for train in (True, False):
        torchvision.datasets.FashionMNIST(root, train=train, download=True)
    return root


def _synthetic_root(root) -> Path:
    if root is not None:
        return write_synthetic_fashion(root)
    return cached_dataset("fashionmnist", {"n_train": 2000, "n_test": 500, "seed": 0}, write_synthetic_fashion)
