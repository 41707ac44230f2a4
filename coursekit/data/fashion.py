"""FashionMNIST: torchvision's download when online, else a synthetic set in the same
raw IDX files (<root>/FashionMNIST/raw/), which torchvision's FashionMNIST class reads."""
import gzip
from pathlib import Path

import numpy as np

from coursekit.data._source import pick_source
from coursekit.data._synthetic import cached_dataset
from coursekit.network import download_first
from coursekit.paths import data_home

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SPLITS = {"train": "train", "test": "t10k"}
RAW_FILES = tuple(f"{prefix}-{kind}-idx{dims}-ubyte" for prefix in SPLITS.values()
                  for kind, dims in (("images", 3), ("labels", 1)))
# torchvision's mirror (http only), with the sizes and sha256 from TensorFlow Datasets' checksums
# file; then the dataset's own GitHub repository (https), whose copies are checked by their content.
MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
           "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
DOWNLOADS = {  # the .gz file: (size, sha256, shape of the array inside)
    "train-images-idx3-ubyte.gz": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                                   (60000, 28, 28)),
    "train-labels-idx1-ubyte.gz": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                                   (60000,)),
    "t10k-images-idx3-ubyte.gz": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                                  (10000, 28, 28)),
    "t10k-labels-idx1-ubyte.gz": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                                  (10000,)),
}
SYNTHETIC = {"n_train": 2000, "n_test": 500, "seed": 0, "version": 2}  # the cached set's parameters
MARKER = "SYNTHETIC.txt"  # written beside raw/, so a synthetic folder is never taken for the real one


def read_idx(path) -> np.ndarray:
    """An IDX file (plain or .gz) of unsigned bytes, as a NumPy array of its stated shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return _parse_idx(f.read(), path)


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4 or data[:3] != b"\0\0\x08" or not 1 <= data[3] <= 4:
        raise ValueError(f"{path} is not an unsigned-byte IDX file: its magic number is "
                         f"{data[:4].hex() or 'missing'}, expected 00000801 (labels) or 00000803 (images)")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: the header says {shape} but the file holds {len(data) - offset} bytes of data")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _write_idx(raw: Path, name: str, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    (raw / name).write_bytes(data)  # torchvision looks for the extracted files
    with open(raw / f"{name}.gz", "wb") as f, gzip.GzipFile(filename="", fileobj=f, mode="wb", mtime=0) as z:
        z.write(data)  # as downloaded; mtime=0 and no file name keep the bytes reproducible


# Silhouettes on the 28x28 grid, as (x, y) points: filled polygons, and strokes drawn
# bright ("line") or dark ("dark", a coat's zip or a shirt's button placket).
S = 4  # supersampling, for smooth edges
_SHORT_SLEEVES = [(9, 4), (12, 5), (16, 5), (19, 4), (25, 8), (22, 12), (20, 10), (20, 24), (8, 24), (8, 10),
                  (6, 12), (3, 8)]
_LONG_SLEEVES = [(9, 4), (12, 5), (16, 5), (19, 4), (24, 7), (26, 23), (22, 23), (20, 12), (20, 24), (8, 24),
                 (8, 12), (6, 23), (2, 23), (4, 7)]
_COAT = [(9, 3), (12, 4), (16, 4), (19, 3), (24, 6), (26, 25), (22, 25), (20, 13), (20, 26), (8, 26), (8, 13),
         (6, 25), (2, 25), (4, 6)]
_SHIRT = [(9, 4), (14, 9), (19, 4), (24, 7), (26, 22), (22, 22), (20, 12), (20, 25), (8, 25), (8, 12), (6, 22),
          (2, 22), (4, 7)]
_SHAPES = {
    0: [("poly", _SHORT_SLEEVES)],
    1: [("poly", [(8, 3), (20, 3), (21, 25), (16, 25), (14, 10), (12, 25), (7, 25)])],
    2: [("poly", _LONG_SLEEVES)],
    3: [("poly", [(11, 3), (17, 3), (17, 9), (16, 12), (22, 25), (6, 25), (12, 12), (11, 9)])],
    4: [("poly", _COAT), ("dark", [(14, 5), (14, 26)], 1)],
    5: [("poly", [(2, 19), (26, 18), (26, 21), (2, 22)]), ("line", [(5, 19), (10, 12), (14, 18)], 2),
        ("line", [(14, 18), (19, 12), (24, 18)], 2)],
    6: [("poly", _SHIRT), ("dark", [(14, 10), (14, 25)], 1)],
    7: [("poly", [(2, 16), (10, 14), (15, 11), (20, 12), (26, 17), (26, 21), (2, 21)])],
    8: [("poly", [(4, 11), (24, 11), (24, 25), (4, 25)]), ("arc", [(8, 3), (20, 17)], 2)],
    9: [("poly", [(12, 3), (22, 3), (22, 13), (26, 17), (26, 23), (2, 23), (2, 17), (12, 14)])],
}


def _random_affine(rng: np.random.Generator) -> np.ndarray:
    """A 2x3 map on the 28x28 grid: rotation, scale and shift about the centre."""
    angle = np.deg2rad(rng.uniform(-12, 12))
    linear = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = linear @ np.diag(rng.uniform(0.75, 1.12, size=2))
    centre = np.array([14.0, 14.0])
    return np.column_stack([linear, centre + rng.uniform(-3, 3, size=2) - linear @ centre])


def _silhouette(label: int, m: np.ndarray) -> np.ndarray:
    """The class's shape mapped by m, in [0, 1] with anti-aliased edges."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (28 * S, 28 * S), 0)
    draw = ImageDraw.Draw(canvas)
    for kind, points, *width in _SHAPES[label]:
        xy = [tuple(p) for p in (S * (np.asarray(points, float) @ m[:, :2].T + m[:, 2])).tolist()]
        if kind == "poly":
            draw.polygon(xy, fill=255)
        elif kind == "arc":  # a bag's handle: the top half of an ellipse in this box
            (x0, y0), (x1, y1) = xy
            box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            draw.arc(box, 180, 360, fill=255, width=S * width[0])
        else:
            draw.line(xy, fill=255 if kind == "line" else 60, width=S * width[0])
    return np.asarray(canvas.resize((28, 28), Image.BOX), np.float32) / 255


_ROWS = np.linspace(0, 1, 28)[:, None]


def _garment(label: int, rng: np.random.Generator) -> np.ndarray:
    """One 28x28 uint8 image: a white-ish garment on black, shaded, maybe striped, noisy."""
    shape = _silhouette(label, _random_affine(rng))
    rows = _ROWS
    shade = rng.uniform(0.3, 1.0) * (1 + rng.uniform(-0.4, 0.4) * (rows - 0.5))
    if rng.random() < 0.3:  # a striped print
        shade = shade * (0.75 + 0.25 * np.sin(rows * rng.uniform(8, 30) + rng.uniform(0, 6)))
    image = shape * shade * (1 + 0.15 * rng.standard_normal((28, 28)))
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def _split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)  # balanced, as in the real set
    images = np.stack([_garment(int(y), rng) for y in labels]) if n else np.zeros((0, 28, 28), np.uint8)
    return images, labels


def write_synthetic_fashion(root, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Path:
    """FashionMNIST's four raw files (.gz and extracted) under root/FashionMNIST/raw/; returns root.

    The same seed writes the same bytes.
    """
    raw = Path(root) / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = _split(n, rng)
        _write_idx(raw, f"{SPLITS[split]}-images-idx3-ubyte", images)
        _write_idx(raw, f"{SPLITS[split]}-labels-idx1-ubyte", labels)
    (raw.parent / MARKER).write_text(f"Synthetic FashionMNIST written by coursekit (n_train={n_train}, "
                                     f"n_test={n_test}, seed={seed}), not the real dataset.\n")
    return Path(root)


def _has_raw_files(root: Path) -> bool:
    return all((root / "FashionMNIST" / "raw" / name).is_file() for name in RAW_FILES)


def _is_synthetic(root: Path) -> bool:
    return (root / "FashionMNIST" / MARKER).is_file()


def _has_real(root: Path) -> bool:
    return _has_raw_files(root) and not _is_synthetic(root)


def fashion_root(source: str = "auto", root=None) -> Path:
    """A folder to pass as `root` to torchvision.datasets.FashionMNIST(..., download=False).

    source: "real" (the four .gz files, checked and extracted into root or
    data_home()/fashionmnist-real), "synthetic" (generated in the real file format, cached;
    into root when given), or "auto" (the real set when it is already there or can be
    downloaded, else the synthetic one, with a one-line notice saying why).
    """
    real_root = Path(root or data_home() / "fashionmnist-real")
    return pick_source(source, "FashionMNIST", real_root, _has_real, lambda: _synthetic_root(root), _download_real,
                       f"download {', '.join(DOWNLOADS)} from {MIRRORS[0]} and put them, and each one "
                       f"gunzipped, into {real_root / 'FashionMNIST' / 'raw'}")


def _check_gz(path: Path) -> None:
    """Raise unless the .gz holds an IDX array of the shape its name calls for."""
    shape = DOWNLOADS[path.name.removesuffix(".part")][2]  # download() checks the file as <name>.part
    with gzip.open(path, "rb") as f:
        found = _parse_idx(f.read(), path).shape
    if found != shape:
        raise ValueError(f"it holds an array of shape {found}, not {shape}")


def _download_real(real_root: Path) -> None:
    """The four .gz files (checked) into real_root/.download/, each extracted beside it, then
    all moved into FashionMNIST/raw/ at once; a synthetic set there is replaced only then."""
    import shutil

    staging = real_root / ".download"
    for name, (size, sha256, _) in DOWNLOADS.items():
        if not (staging / name).is_file():
            mirrors = [(MIRRORS[0] + name, size, ("sha256", sha256)), (MIRRORS[1] + name, None, None)]
            download_first(mirrors, staging / name, check=_check_gz)
    raw = staging / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in DOWNLOADS:
        with gzip.open(staging / name, "rb") as packed:
            (raw / name.removesuffix(".gz")).write_bytes(packed.read())
        (staging / name).rename(raw / name)
    if (real_root / "FashionMNIST").exists():
        (real_root / "FashionMNIST").rename(staging / "replaced")
    (staging / "FashionMNIST").rename(real_root / "FashionMNIST")
    shutil.rmtree(staging)


def _synthetic_root(root) -> Path:
    params = {k: v for k, v in SYNTHETIC.items() if k != "version"}
    if root is None:
        return cached_dataset("fashionmnist", SYNTHETIC, lambda folder: write_synthetic_fashion(folder, **params))
    if not _is_synthetic(Path(root)):
        write_synthetic_fashion(root, **params)
    return Path(root)
