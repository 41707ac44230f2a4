"""Oxford-IIIT Pet with its trimaps: the real archives (checked, from either host) when they
can be downloaded, else a synthetic set in the same layout (<root>/oxford-iiit-pet/images,
annotations/trimaps, list files). torchvision's OxfordIIITPet class reads either."""
from pathlib import Path

import numpy as np

from coursekit.data._source import pick_source
from coursekit.data._synthetic import cached_dataset
from coursekit.network import DownloadError, download_first
from coursekit.paths import data_home

PET_CLASSES = ("pet", "background", "border")  # trimap values 1, 2, 3 minus one
SYNTHETIC = {"n_images": 120, "seed": 0, "version": 2}  # the cached set's parameters
MARKER = "SYNTHETIC.txt"  # written in oxford-iiit-pet/, so a synthetic folder is never taken for the real one

# A few real breeds with their real ids: (name, CLASS-ID 1..37, SPECIES 1 cat / 2 dog, BREED-ID).
BREEDS = (
    ("Abyssinian", 1, 1, 1), ("Bengal", 6, 1, 2), ("Persian", 24, 1, 8), ("Siamese", 33, 1, 11),
    ("beagle", 5, 2, 4), ("pug", 26, 2, 18), ("samoyed", 30, 2, 20), ("shiba_inu", 32, 2, 22),
)
# Fur colour (RGB) and pattern per breed.
FUR = {
    "Abyssinian": ((170, 105, 60), "ticked"), "Bengal": ((200, 140, 70), "spots"),
    "Persian": ((225, 220, 210), "plain"), "Siamese": ((225, 205, 175), "points"),
    "beagle": ((175, 110, 55), "patches"), "pug": ((205, 170, 120), "points"),
    "samoyed": ((240, 238, 232), "plain"), "shiba_inu": ((205, 120, 55), "plain"),
}
# The two archives, from the host TensorFlow Datasets uses (its checksums file gives the sizes
# and sha256) and from the older address torchvision still uses (its md5s, in torchvision's source).
HOSTS = ("https://thor.robots.ox.ac.uk/~vgg/data/pets/", "https://www.robots.ox.ac.uk/~vgg/data/pets/data/")
ARCHIVES = {  # name: (url, size, checksum) for each host, in order
    "images.tar.gz": [
        (HOSTS[0] + "images.tar.gz", 791918971,
         ("sha256", "67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d")),
        (HOSTS[1] + "images.tar.gz", None, ("md5", "5c4f3ee8e5d25df40f4fd59a7f44e54c")),
    ],
    "annotations.tar.gz": [
        (HOSTS[0] + "annotations.tar.gz", 19173078,
         ("sha256", "52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91")),
        (HOSTS[1] + "annotations.tar.gz", None, ("md5", "95a8c909bbe2e81eed6a22bccdf3f68f")),
    ],
}
POINTED_EARS = {"samoyed", "shiba_inu"}  # dogs; every cat has them
LIST_HEADER = (
    "#Image CLASS-ID SPECIES BREED ID\n"
    "#ID: 1:37 Class ids\n"
    "#SPECIES: 1:Cat 2:Dog\n"
    "#BREED ID: 1-25:Cat 1:12:Dog\n"
    "#All images with 1st letter as captial are cat images\n"
    "#images with small first letter are dog images\n"
)  # copied as it is in the real list.txt, typos included


def _smooth_noise(rng, shape, cells: int) -> np.ndarray:
    """Noise in [-1, 1] with features about shape/cells pixels wide."""
    from PIL import Image

    low = Image.fromarray(rng.uniform(-1, 1, size=(cells + 1, cells + 1)).astype(np.float32))
    return np.clip(np.asarray(low.resize((shape[1], shape[0]), Image.BICUBIC)), -1, 1)


def _grain(rng, h: int, w: int, sigma: float) -> np.ndarray:
    """Per-pixel brightness noise, (h, w, 1) float32."""
    return sigma * rng.standard_normal((h, w, 1), np.float32)


def _background(rng, h: int, w: int) -> np.ndarray:
    """A room, a lawn or a sofa: colour regions with texture, float32 RGB in [0, 255]."""
    kind = rng.integers(3)
    yy = (np.arange(h, dtype=np.float32) / h)[:, None, None]
    if kind == 0:  # wall above a floor
        wall, floor = rng.uniform(90, 235, 3), rng.uniform(50, 190, 3)
        image = np.where(yy < rng.uniform(0.45, 0.8), wall, floor) * np.ones((1, w, 1), np.float32)
    elif kind == 1:  # grass, with some sky or hedge at the top
        grass = np.array([rng.uniform(50, 110), rng.uniform(110, 170), rng.uniform(30, 80)])
        top = rng.uniform(60, 220, 3)
        image = np.where(yy < rng.uniform(0, 0.35), top, grass) * np.ones((1, w, 1), np.float32)
        image += 25 * _smooth_noise(rng, (h, w), 40)[..., None]  # blades
    else:  # a sofa or blanket with stripes
        base, stripe = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
        period = rng.uniform(12, 40)
        phase = (np.arange(w)[None, :] + rng.uniform(0.2, 0.8) * np.arange(h)[:, None]) / period
        image = np.where(((phase % 1) < 0.3)[..., None], stripe, base)
    image = image.astype(np.float32)
    for _ in range(rng.integers(0, 4)):  # furniture, toys, doors
        y0, x0 = rng.integers(0, h - 10), rng.integers(0, w - 10)
        image[y0:y0 + rng.integers(10, h // 2), x0:x0 + rng.integers(10, w // 2)] = rng.uniform(30, 240, 3)
    image += 30 * _smooth_noise(rng, (h, w), 4)[..., None]  # uneven light
    return image + _grain(rng, h, w, 8)


def _pet_shape(rng, h: int, w: int, pointed_ears: bool):
    """The pet silhouette (bool mask) and where its face is (cx, cy, head radius)."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    s = min(h, w) * rng.uniform(0.2, 0.32)  # head radius grows with the framing
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.3, 0.5)
    body_w, body_h = s * rng.uniform(0.9, 1.6), s * rng.uniform(1.0, 1.6)
    bx = cx + s * rng.uniform(-0.6, 0.6)
    draw.ellipse([bx - body_w, cy + 0.3 * s, bx + body_w, cy + 0.3 * s + 2 * body_h], fill=255)
    rx, ry = s * rng.uniform(0.85, 1.05), s * rng.uniform(0.75, 0.95)
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    for side in (-1, 1):
        ex = cx + side * rx * 0.6
        if pointed_ears:
            draw.polygon([(ex - 0.35 * s, cy - 0.5 * ry), (ex + 0.35 * s, cy - 0.5 * ry),
                          (ex + side * 0.2 * s, cy - ry - s * rng.uniform(0.45, 0.7))], fill=255)
        else:  # floppy ears hanging beside the head
            draw.ellipse([ex + side * 0.35 * s - 0.3 * s, cy - 0.6 * ry,
                          ex + side * 0.35 * s + 0.3 * s, cy + 0.6 * ry], fill=255)
    if rng.random() < 0.5:  # a tail, from inside the body up and out
        side, body_y = rng.choice([-1, 1]), cy + 0.3 * s + body_h
        end = (bx + side * (body_w + s * rng.uniform(0.2, 0.6)), body_y - body_h * rng.uniform(0.2, 0.9))
        draw.line([(bx + side * 0.7 * body_w, body_y), end], fill=255, width=max(3, int(0.25 * s)))
    return np.asarray(canvas) > 0, (cx, cy, s)


def _fur(rng, breed: str, h: int, w: int, face) -> np.ndarray:
    """Fur colour and texture over the whole frame (the mask cuts it out), float32 RGB."""
    base, pattern = FUR[breed]
    colour = np.clip(np.array(base) * rng.uniform(0.85, 1.1) + rng.normal(0, 5, 3), 0, 255).astype(np.float32)
    fur = colour * (1 + 0.12 * _smooth_noise(rng, (h, w), 24))[..., None]
    fur += _grain(rng, h, w, 14)  # hair: brightness, not hue
    cx, cy, s = face
    yy, xx = np.ogrid[:h, :w]
    if pattern == "spots":
        fur *= np.where(_smooth_noise(rng, (h, w), 14) > 0.35, 0.45, 1.0)[..., None]
    elif pattern == "patches":  # beagle: dark saddle, white muzzle
        fur *= np.where(_smooth_noise(rng, (h, w), 5) > 0.2, 0.35, 1.0)[..., None]
        fur[(xx - cx) ** 2 + (yy - cy - 0.45 * s) ** 2 < (0.25 * s) ** 2] = 235
    elif pattern == "points":  # dark face
        fur[(xx - cx) ** 2 / 0.5 + (yy - cy - 0.2 * s) ** 2 < (0.6 * s) ** 2] *= 0.35
    elif pattern == "ticked":
        fur *= 1 + _grain(rng, h, w, 0.15)
    fur *= (1.15 - 0.3 * yy / h)[..., None].astype(np.float32)  # light from above
    for side in (-1, 1):  # eyes and nose
        eye = (xx - cx - side * 0.38 * s) ** 2 + (yy - cy + 0.1 * s) ** 2 < (0.11 * s) ** 2
        fur[eye] = (20, 20, 15) if breed[0].islower() else (90, 140, 60)
    fur[(xx - cx) ** 2 + (yy - cy - 0.35 * s) ** 2 < (0.09 * s) ** 2] = (35, 25, 25)
    return fur


def _trimap(mask: np.ndarray) -> np.ndarray:
    """1 = pet, 2 = background, 3 = a thin band on the outline, as in the real trimaps."""
    width = max(2, round(min(mask.shape) / 60))
    band = (mask & (_distance(mask) <= width)) | (~mask & (_distance(~mask) <= width))
    return np.where(band, 3, np.where(mask, 1, 2)).astype(np.uint8)


def _distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the nearest False pixel: the mean of the city-block and chessboard
    distances, near enough the Euclidean one for a band a few pixels wide, and faster."""
    from scipy import ndimage

    return sum(ndimage.distance_transform_cdt(mask, metric=m) for m in ("taxicab", "chessboard")) / 2


def _pet_image(rng, breed: str, cat: bool):
    """One photo (uint8 RGB) and its trimap (uint8 in {1, 2, 3})."""
    from scipy import ndimage

    h, w = int(rng.integers(150, 301)), int(rng.integers(150, 301))
    mask, face = _pet_shape(rng, h, w, pointed_ears=cat or breed in POINTED_EARS)
    alpha = ndimage.gaussian_filter(mask.astype(np.float32), 1.2)[..., None]  # a soft fur edge
    image = alpha * _fur(rng, breed, h, w, face) + (1 - alpha) * _background(rng, h, w)
    return np.clip(image, 0, 255).astype(np.uint8), _trimap(mask)


def _names(n_images: int) -> list[tuple[str, tuple]]:
    """Image ids like the real ones (Breed_name_<n>), breeds in turn."""
    counts = {}
    names = []
    for i in range(n_images):
        breed = BREEDS[i % len(BREEDS)]
        counts[breed[0]] = counts.get(breed[0], 0) + 1
        names.append((f"{breed[0]}_{counts[breed[0]]}", breed))
    return names


def write_synthetic_pets(root, n_images: int = 120, seed: int = 0) -> Path:
    """Write root/oxford-iiit-pet/ as the real set lays it out; returns root.

    images/<Breed>_<n>.jpg, annotations/trimaps/<Breed>_<n>.png (1 pet, 2 background,
    3 border), annotations/list.txt, trainval.txt and test.txt (about half each).
    """
    from PIL import Image

    base = Path(root) / "oxford-iiit-pet"
    images, trimaps = base / "images", base / "annotations" / "trimaps"
    images.mkdir(parents=True, exist_ok=True)
    trimaps.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = {"trainval": [], "test": []}
    for i, (name, (breed, class_id, species, breed_id)) in enumerate(_names(n_images)):
        image, trimap = _pet_image(rng, breed, cat=species == 1)
        Image.fromarray(image).save(images / f"{name}.jpg", quality=90)
        Image.fromarray(trimap).save(trimaps / f"{name}.png")
        split = "trainval" if (i // len(BREEDS)) % 2 == 0 else "test"
        lines[split].append(f"{name} {class_id} {species} {breed_id}\n")
    annotations = base / "annotations"
    all_lines = sorted(lines["trainval"] + lines["test"], key=lambda line: int(line.split()[1]))
    (annotations / "list.txt").write_text(LIST_HEADER + "".join(all_lines))
    for split, rows in lines.items():  # the real split files have no header
        (annotations / f"{split}.txt").write_text("".join(rows))
    (base / MARKER).write_text(f"Synthetic Oxford-IIIT Pet written by coursekit (n_images={n_images}, "
                               f"seed={seed}), not the real dataset.\n")
    return Path(root)


def _has_real(root: Path) -> bool:
    base = root / "oxford-iiit-pet"
    return (base / "images").is_dir() and (base / "annotations" / "trimaps").is_dir() and not (base / MARKER).is_file()


def pets_dir(source: str = "auto", root=None) -> Path:
    """The folder that holds oxford-iiit-pet/ (pass it as torchvision's `root`).

    source: "real" (images.tar.gz and annotations.tar.gz, about 810 MB, checked and extracted
    into root or data_home()/oxford-pet-real), "synthetic" (generated in the same layout,
    cached; into root when given), or "auto" (the real set when it is already there or can be
    downloaded, else the synthetic one, with a one-line notice saying why).
    """
    real_root = Path(root or data_home() / "oxford-pet-real")
    return pick_source(source, "Oxford-IIIT Pet", real_root, _has_real, lambda: _synthetic_root(root), _download_real,
                       f"download images.tar.gz and annotations.tar.gz from {HOSTS[0]} (or {HOSTS[1]}) "
                       f"and extract both into "
                       f"{real_root / 'oxford-iiit-pet'}")


def _download_real(real_root: Path) -> None:
    """Both archives (checked) into real_root/.download/, extracted there, then swapped in for
    any oxford-iiit-pet/ already in real_root (a synthetic set): nothing changes until all is whole."""
    import shutil
    import tarfile

    staging = real_root / ".download"
    # an archive in staging/ was renamed there only once checked: kept from a run that failed later
    archives = [staging / name if (staging / name).is_file() else download_first(mirrors, staging / name)
                for name, mirrors in ARCHIVES.items()]
    unpacked = staging / "oxford-iiit-pet"
    shutil.rmtree(unpacked, ignore_errors=True)
    try:
        for archive in archives:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
    except (OSError, tarfile.TarError) as error:
        raise DownloadError(str(archive), f"could not be extracted ({error})") from None
    old = staging / "replaced"
    if (real_root / "oxford-iiit-pet").exists():
        (real_root / "oxford-iiit-pet").rename(old)
    unpacked.rename(real_root / "oxford-iiit-pet")
    shutil.rmtree(staging)


def _synthetic_root(root) -> Path:
    params = {k: v for k, v in SYNTHETIC.items() if k != "version"}
    if root is None:
        return cached_dataset("oxford-pet", SYNTHETIC, lambda folder: write_synthetic_pets(folder, **params))
    if not (Path(root) / "oxford-iiit-pet" / MARKER).is_file():
        write_synthetic_pets(root, **params)
    return Path(root)


def read_split(root, split: str = "trainval") -> list[str]:
    """The image ids listed in annotations/<split>.txt ('#' lines skipped)."""
    if split not in ("trainval", "test"):
        raise ValueError(f"split must be 'trainval' or 'test', not {split!r}")
    path = Path(root) / "oxford-iiit-pet" / "annotations" / f"{split}.txt"
    lines = path.read_text().splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def load_pets(root, split: str = "trainval", size: int = 128, limit=None):
    """Images float32 (N, size, size, 3) in [0, 1] and masks int64 (N, size, size).

    Mask classes are PET_CLASSES: 0 pet, 1 background, 2 border (the trimap minus one),
    resized with nearest neighbour so no new classes appear on edges.
    """
    from PIL import Image

    base = Path(root) / "oxford-iiit-pet"
    ids = read_split(root, split)[:limit]
    images = np.empty((len(ids), size, size, 3), np.float32)
    masks = np.empty((len(ids), size, size), np.int64)
    for i, name in enumerate(ids):
        with Image.open(base / "images" / f"{name}.jpg") as image:  # a few real ones are CMYK or PNG
            images[i] = np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR)) / 255.0
        with Image.open(base / "annotations" / "trimaps" / f"{name}.png") as trimap:
            masks[i] = np.asarray(trimap.resize((size, size), Image.NEAREST), dtype=np.int64) - 1
    return images, masks
