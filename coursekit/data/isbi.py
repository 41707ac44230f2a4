"""ISBI 2012 EM membrane segmentation: the real training stacks when online, else a
synthetic set in the same files (multi-page TIFFs, 255 = cell interior, 0 = membrane)."""
import os
from pathlib import Path

import numpy as np

from coursekit.data._source import pick_source
from coursekit.data._synthetic import cached_dataset
from coursekit.network import download
from coursekit.paths import data_home

URL_ENV = "COURSEKIT_ISBI_URL"
# The challenge site (brainiac2.mit.edu/isbi_challenge) is gone; this public GitHub
# repository keeps the three original stacks in data/.
DEFAULT_URL = "https://raw.githubusercontent.com/alexklibisz/isbi-2012/master/data/"
FILES = ("train-volume.tif", "train-labels.tif", "test-volume.tif")
# Git's object ids of the three files in that repository (its tree lists them): a checksum of
# the exact bytes, checked when the files come from DEFAULT_URL. Any copy is checked for its content.
GIT_BLOB_IDS = {
    "train-volume.tif": "358e48bed4f747c20da43251eb7138727d98cec3",
    "train-labels.tif": "74ab9858c0be80842c94c41c6fb980aab49e9558",
    "test-volume.tif": "3e3612ff0786d278b4d2712a29383c7ca58288ad",
}
EXPECTED_SHAPE = (30, 512, 512)  # every real stack: 30 sections of 512 x 512, uint8
SYNTHETIC = {"n_slices": 30, "size": 512, "seed": 0, "version": 2}  # the cached set's parameters
MARKER = "SYNTHETIC.txt"  # written beside the TIFFs, so a synthetic folder is never taken for the real one


MARGIN = 32  # pixels of cells beyond each edge, so the warp never smears the border


def _upsample(low: np.ndarray, size: int) -> np.ndarray:
    """A small float image stretched smoothly to size x size."""
    from PIL import Image

    return np.asarray(Image.fromarray(low.astype(np.float32)).resize((size, size), Image.BICUBIC))


def _seeds(rng, n_slices: int, size: int):
    """Cell centres that drift slowly through the stack, each alive for some slices.

    Denser in some places than others, so bundles of small axons sit beside large profiles.
    """
    span, full = n_slices + 40, size + 2 * MARGIN
    n = int(190 * (full / 512) ** 2 * span / 50)  # about 190 alive in any one 512 x 512 slice
    density = _upsample(rng.random((5, 5)) ** 2, full)
    points = rng.uniform(0, full - 1, size=(4 * n, 2))
    keep = rng.random(4 * n) < 0.1 + density[points[:, 0].astype(int), points[:, 1].astype(int)]
    points = points[keep][:n]
    n = len(points)
    start = rng.uniform(-40, n_slices, n)
    life = rng.uniform(25, 75, n)
    velocity = rng.normal(0, 1.0, size=(n, 2))
    return points, start, life, velocity


def _voronoi(where: np.ndarray, ids: np.ndarray, half: int) -> np.ndarray:
    """The id of the nearest point in `where` for each pixel of a half x half grid."""
    from scipy import ndimage

    marks = np.zeros((half, half), np.int32)
    marks[where[:, 0], where[:, 1]] = ids
    iy, ix = ndimage.distance_transform_edt(marks == 0, return_distances=False, return_indices=True)
    return marks[iy, ix]


def _cells(seeds, z: int, size: int, warp) -> np.ndarray:
    """Cell id per pixel: the nearest live seed (a Voronoi map), bent by a smooth warp.

    One step of Lloyd's relaxation (each seed moved to its cell's centre) evens out the
    cells, as packed neurites are. The map is made at half resolution (four times
    faster) and read through the full-resolution warp.
    """
    points, start, life, velocity = seeds
    alive = np.flatnonzero((start <= z) & (z < start + life))
    half = (size + 2 * MARGIN) // 2
    where = np.round((points[alive] + velocity[alive] * (z - start[alive, None])) / 2).astype(int)
    inside = ((where >= 0) & (where < half)).all(axis=1)  # drifted out: gone, not piled on the border
    alive, where = alive[inside], where[inside]
    cells = _voronoi(where, alive + 1, half)
    centre, found = _centres(cells, alive + 1)
    cells = _voronoi(centre[found], alive[found] + 1, half)
    grid = np.arange(size, dtype=np.float32) + MARGIN
    wy = np.clip((grid[:, None] + warp[0]) / 2, 0, half - 1).astype(int)
    wx = np.clip((grid[None, :] + warp[1]) / 2, 0, half - 1).astype(int)
    return cells[wy, wx]


def _centres(cells: np.ndarray, ids: np.ndarray):
    """Each id's mean pixel position (rounded), and whether it has any pixels (ids sorted)."""
    rank = np.searchsorted(ids, cells).ravel()
    count = np.bincount(rank, minlength=len(ids))
    totals = [np.bincount(rank, c.ravel(), len(ids)) for c in np.indices(cells.shape)]
    centre = np.stack(totals, 1) / np.maximum(count, 1)[:, None]
    return np.round(centre).astype(int), count > 0


def _membrane_distance(cells: np.ndarray) -> np.ndarray:
    """Distance of each pixel to the nearest edge between two cells.

    The mean of the city-block and chessboard distances: within a pixel of the
    Euclidean one this close to an edge, and three times faster to compute.
    """
    from scipy import ndimage

    edge = np.zeros(cells.shape, bool)
    edge[:-1] |= cells[:-1] != cells[1:]
    edge[:, :-1] |= cells[:, :-1] != cells[:, 1:]
    distances = [ndimage.distance_transform_cdt(~edge, metric=m) for m in ("taxicab", "chessboard")]
    return (0.5 * (distances[0] + distances[1])).astype(np.float32)


_YY, _XX = np.mgrid[-24:25, -24:25]


def _organelles(rng, cells: np.ndarray, distance: np.ndarray, shade: np.ndarray) -> None:
    """Mitochondria (dark ellipses with lighter cristae) and vesicle clusters, drawn into
    shade and kept inside their cell: they are interior in the labels, as in the real set."""
    size = cells.shape[0]
    roomy = np.flatnonzero(distance[24:-24, 24:-24].ravel() > 6)  # centres well inside a cell
    for k in rng.choice(roomy, size=min(len(roomy), rng.integers(15, 30)), replace=False):
        cy, cx = 24 + k // (size - 48), 24 + k % (size - 48)
        b = min(rng.uniform(4, 8), distance[cy, cx] - 2)
        a, t = b * rng.uniform(1, 2.5), rng.uniform(0, np.pi)
        window = np.s_[cy - 24:cy + 25, cx - 24:cx + 25]
        u, v = _XX * np.cos(t) + _YY * np.sin(t), -_XX * np.sin(t) + _YY * np.cos(t)
        r = (u / a) ** 2 + (v / b) ** 2
        inside = (r < 1) & (cells[window] == cells[cy, cx]) & (distance[window] > 2.5)
        cristae = 0.3 * np.cos(u * rng.uniform(1.0, 1.6) + v * rng.uniform(-0.4, 0.4)) * (r < 0.6)
        shade[window][inside] = (rng.uniform(60, 90) * (1 + cristae) + 30 * r)[inside]
    for _ in range(rng.integers(3, 8)):  # synaptic vesicles: clusters of small dark rings
        cy, cx = rng.integers(24, size - 24, 2)
        window = np.s_[cy - 24:cy + 25, cx - 24:cx + 25]
        for dy, dx in rng.normal(0, 6, size=(rng.integers(6, 18), 2)).clip(-18, 18):
            ring = (np.abs(np.hypot(_YY - dy, _XX - dx) - 2.5) < 0.9) & (distance[window] > 3)
            shade[window][ring] -= 45


def _grain(rng, size: int) -> np.ndarray:
    """Noise with about 2-pixel grains: half-resolution noise stretched (cheaper than a blur)."""
    return _upsample(rng.standard_normal((size // 2, size // 2), np.float32), size)


def _slice(rng, seeds, z: int, size: int, warp):
    """One EM-like section (uint8) and its labels (255 interior, 0 membrane)."""
    from scipy import ndimage

    cells = _cells(seeds, z, size, warp)
    distance = _membrane_distance(cells)
    thickness = 1.3 + 0.9 * _upsample(rng.random((6, 6)), size)  # half-width in pixels
    tone = rng.normal(165, 22, cells.max() + 1).clip(100, 220).astype(np.float32)  # each cell its own grey
    shade = tone[cells] + 22 * _grain(rng, size)  # grainy cytoplasm
    _organelles(rng, cells, distance, shade)
    wall = np.exp(-0.5 * (distance / thickness) ** 2)
    dark = 55 + 25 * _upsample(rng.random((8, 8)), size)  # membranes stained unevenly
    image = shade * (1 - wall) + dark * wall
    image = ndimage.gaussian_filter(image, 0.9) + 12 * rng.standard_normal((size, size), np.float32)
    image += 24 * (_upsample(rng.random((3, 3)), size) - 0.5)  # uneven section thickness
    labels = np.where(distance <= thickness + 0.5, 0, 255).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def _stack(rng, n_slices: int, size: int):
    from scipy import ndimage

    seeds = _seeds(rng, n_slices, size)
    coarse = ndimage.gaussian_filter1d(rng.normal(0, 1, (2, n_slices, 6, 6)), 2.0, axis=1)
    middle = ndimage.gaussian_filter1d(rng.normal(0, 1, (2, n_slices, 14, 14)), 1.5, axis=1)
    images, labels = [], []
    for z in range(n_slices):  # the warps change slowly from slice to slice, so cells bend
        warp = [14 * _upsample(coarse[k, z], size) + 5 * _upsample(middle[k, z], size) for k in range(2)]
        image, label = _slice(rng, seeds, z, size, warp)
        images.append(image)
        labels.append(label)
    return np.stack(images), np.stack(labels)


def _write_tiff(path: Path, stack: np.ndarray) -> None:
    import tifffile

    # metadata=None: no JSON description; tifffile writes no date unless asked, so bytes repeat
    tifffile.imwrite(path, stack, photometric="minisblack", metadata=None)


def write_synthetic_isbi(root, n_slices: int = 30, size: int = 512, seed: int = 0) -> Path:
    """train-volume.tif, train-labels.tif and test-volume.tif under root; returns root.

    Each is n_slices pages of size x size uint8; labels are 255 in cells, 0 on membranes.
    """
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, not {size}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    volume, labels = _stack(train_rng, n_slices, size)
    _write_tiff(root / "train-volume.tif", volume)
    _write_tiff(root / "train-labels.tif", labels)
    _write_tiff(root / "test-volume.tif", _stack(test_rng, n_slices, size)[0])
    (root / MARKER).write_text(f"Synthetic ISBI 2012 written by coursekit (n_slices={n_slices}, size={size}, "
                               f"seed={seed}), not the real dataset.\n")
    return root


def check_stack(path) -> None:
    """Raise ValueError unless path is an ISBI stack: EXPECTED_SHAPE, uint8, and for the
    labels only the values 0 and 255."""
    import tifffile

    name = Path(path).name.removesuffix(".part")  # download() checks the file as <name>.part
    stack = tifffile.imread(path)
    if stack.shape != EXPECTED_SHAPE or stack.dtype != np.uint8:
        raise ValueError(f"{name} holds {stack.dtype} {stack.shape}, not uint8 {EXPECTED_SHAPE}")
    if "labels" in name and not np.isin(np.unique(stack), (0, 255)).all():
        raise ValueError(f"{name} holds label values other than 0 and 255")


def _is_stack(path: Path) -> bool:
    try:
        check_stack(path)
        return True
    except Exception:  # tifffile's own errors too: not a stack a run may trust
        return False


def _has_real(root: Path) -> bool:
    return not (root / MARKER).is_file() and all(_is_stack(root / name) for name in FILES)


def isbi_dir(source: str = "auto", root=None) -> Path:
    """The folder that holds train-volume.tif, train-labels.tif and test-volume.tif.

    source: "real", "synthetic" (generated in the same files, cached; into root when
    given), or "auto" (the real set when it is already downloaded or can be, else the
    synthetic one, with a one-line notice saying why).
    The challenge site (brainiac2.mit.edu/isbi_challenge) is gone, so the real files
    come from $COURSEKIT_ISBI_URL, a folder URL holding the three files, by default
    https://raw.githubusercontent.com/alexklibisz/isbi-2012/master/data/ (a public copy
    of the original stacks), into root or data_home()/isbi2012-real. Each file is checked
    (its git object id from the default URL; from any URL its shape, type and label values)
    before it is used.
    """
    real_root = Path(root or data_home() / "isbi2012-real")
    base = _base_url()
    return pick_source(source, "ISBI 2012", real_root, _has_real, lambda: _synthetic_root(root), _download_real,
                       f"download {', '.join(FILES)} from {base} and copy them into {real_root}")


def _base_url() -> str:
    return (os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/") + "/"


def _download_real(real_root: Path) -> None:
    """Each file into real_root/.download/ (checked there), then all three into place; the
    synthetic marker, if any, goes last, so a failure never leaves a set a later run trusts."""
    base = _base_url()
    staging = real_root / ".download"
    for name in FILES:
        if not _is_stack(staging / name):
            checksum = ("git-sha1", GIT_BLOB_IDS[name]) if base == DEFAULT_URL else None
            download(base + name, staging / name, checksum=checksum, check=check_stack)
    for name in FILES:
        os.replace(staging / name, real_root / name)
    (real_root / MARKER).unlink(missing_ok=True)
    staging.rmdir()


def _synthetic_root(root) -> Path:
    params = {k: v for k, v in SYNTHETIC.items() if k != "version"}
    if root is None:
        return cached_dataset("isbi2012", SYNTHETIC, lambda folder: write_synthetic_isbi(folder, **params))
    if not (Path(root) / MARKER).is_file():
        write_synthetic_isbi(root, **params)
    return Path(root)


def load_isbi(root):
    """The training stack: volume uint8 (N, H, W) and membranes uint8 (N, H, W), 1 = membrane."""
    import tifffile

    root = Path(root)
    volume = tifffile.imread(root / "train-volume.tif")
    labels = tifffile.imread(root / "train-labels.tif")
    return volume, (labels < 128).astype(np.uint8)


def load_isbi_test(root) -> np.ndarray:
    """The unlabelled test stack, uint8 (N, H, W)."""
    import tifffile

    return tifffile.imread(Path(root) / "test-volume.tif")


def extract_patches(volume: np.ndarray, labels=None, patch: int = 128, stride: int = 128):
    """Tiles of patch x patch from every slice, row by row: (patches, label patches or None)."""
    _, h, w = volume.shape
    corners = [(y, x) for y in range(0, h - patch + 1, stride) for x in range(0, w - patch + 1, stride)]

    def tile(stack):
        return np.stack([s[y:y + patch, x:x + patch] for s in stack for y, x in corners])

    return tile(volume), None if labels is None else tile(labels)
