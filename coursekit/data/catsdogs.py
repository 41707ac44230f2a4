"""Dogs vs cats: Microsoft's PetImages (root/PetImages/Cat/<i>.jpg, root/PetImages/Dog/<i>.jpg).

The real set is downloaded when online; otherwise a synthetic set in the same layout,
with the real set's caveats: JPEGs of many sizes, some grayscale or CMYK, a few files
that are not JPEGs under a .jpg name, a Thumbs.db in each folder, and corrupt files
(empty, not an image at all, truncated). decode_image() survives all of them.
"""
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np

from coursekit.data._source import pick_source
from coursekit.data._synthetic import cached_dataset
from coursekit.network import DownloadError, download
from coursekit.paths import data_home

CLASS_NAMES = ("cat", "dog")
FOLDERS = ("Cat", "Dog")  # the real set's folder names, in label order
IMAGE_SUFFIXES = (".jpg", ".jpeg")
REAL_URL = ("https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
            "kagglecatsanddogs_5340.zip")
SYNTHETIC = {"n_per_class": 150, "seed": 0, "version": 2}  # the cached set's parameters
MARKER = "SYNTHETIC.txt"  # written beside PetImages/, so a synthetic folder is never taken for the real one

# Files that are not plain RGB JPEGs, per class, as in the real set (there Cat/666.jpg
# and Dog/11702.jpg are empty, and a few files are truncated or not images at all).
SPECIAL_FILES = {
    "Cat": ("empty", "not_image", "truncated", "gray", "gray", "cmyk", "cmyk", "gif"),
    "Dog": ("empty", "truncated", "gray", "gray", "cmyk", "cmyk", "png_rgba"),
}


# ---- reading ---------------------------------------------------------------------

def _petimages(root) -> Path:
    root = Path(root)
    return root / "PetImages" if (root / "PetImages").is_dir() else root


def _natural(path: Path):
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.stem)


def list_images(root) -> list[tuple[Path, int]]:
    """(path, label) for every .jpg under PetImages/Cat (label 0) and PetImages/Dog (label 1).

    root is the folder holding PetImages/ (or PetImages/ itself). Files are in
    numeric order within each class; other files (Thumbs.db) are skipped.
    """
    folder = _petimages(root)
    items = []
    for label, name in enumerate(FOLDERS):
        paths = [p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        items += [(p, label) for p in sorted(paths, key=_natural)]
    return items


def _open_rgb(path):
    """The image as PIL RGB, upright, with any transparency laid on white; raises when unreadable."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.load()  # decodes now, so a truncated file fails here
        try:
            image = ImageOps.exif_transpose(image)
        except Exception:  # a damaged EXIF block (struct.error and others): keep the picture unrotated
            image = image.copy()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    return image.convert("RGB")  # grayscale, CMYK and palette images too


def decode_image(path, size=(150, 150)) -> "np.ndarray | None":
    """The image as uint8 RGB of shape (height, width, 3), resized to size=(height, width)
    (None keeps its own size); None when the file is empty, corrupt or not an image."""
    from PIL import Image

    try:
        image = _open_rgb(path)
        if size is not None:
            image = image.resize((size[1], size[0]), Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def find_corrupt(root) -> list[Path]:
    """The listed images that cannot be decoded (empty, truncated, not an image)."""
    return [path for path, _ in list_images(root) if decode_image(path, size=None) is None]


# ---- the synthetic set -----------------------------------------------------------

def _fur(label: int, rng: np.random.Generator) -> np.ndarray:
    """A fur colour: cats lean grey, white and ginger, dogs brown and black; one in six
    takes the other class's colours, so colour alone is a hint, not the answer."""
    palettes = (
        [(150, 150, 160), (235, 235, 230), (235, 145, 60), (115, 125, 150)],  # cat
        [(125, 80, 45), (80, 50, 30), (185, 140, 90), (40, 32, 28)],  # dog
    )
    palette = palettes[label if rng.random() > 1 / 6 else 1 - label]
    base = np.array(palette[rng.integers(len(palette))], float)
    return np.clip(base * rng.uniform(0.85, 1.15) + rng.normal(0, 8, 3), 0, 255)


def _background(width: int, height: int, rng: np.random.Generator):
    """A muted, blurry room: a colour gradient with soft blobs, the same for both classes.

    Drawn at an eighth of the size and scaled up, which blurs it for free.
    """
    from PIL import Image, ImageDraw

    w, h = width // 8 + 2, height // 8 + 2
    grey = rng.uniform(60, 210)
    top, bottom = grey + rng.normal(0, 15, (2, 3))
    t = np.linspace(0, 1, h)[:, None, None]
    image = Image.fromarray(np.clip(top * (1 - t) + bottom * t, 0, 255).repeat(w, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(2, 6)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.1, 0.4) * min(w, h)
        colour = np.clip(rng.uniform(50, 220) + rng.normal(0, 20, 3), 0, 255)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in colour))
    return image.resize((width, height), Image.BILINEAR)


def _draw_animal(draw, label: int, cx: float, cy: float, r: float, rng: np.random.Generator) -> None:
    """A cat's face (pointed ears, whiskers) or a dog's (floppy ears, long snout), radius r."""
    fur = tuple(int(c) for c in _fur(label, rng))
    dark = tuple(int(c * 0.45) for c in fur)
    light = tuple(int(min(255, c * 1.3 + 40)) for c in fur)
    if label == 0:  # cat: triangles on top of a round face
        for side in (-1, 1):
            draw.polygon([(cx + side * 0.95 * r, cy - 0.2 * r), (cx + side * 0.75 * r, cy - 1.35 * r),
                          (cx + side * 0.2 * r, cy - 0.8 * r)], fill=fur)
        draw.ellipse((cx - r, cy - 0.9 * r, cx + r, cy + 0.85 * r), fill=fur)
        for side in (-1, 1):
            ex = cx + side * 0.38 * r
            draw.ellipse((ex - 0.16 * r, cy - 0.35 * r, ex + 0.16 * r, cy), fill=(120, 170, 60))
            draw.ellipse((ex - 0.04 * r, cy - 0.33 * r, ex + 0.04 * r, cy - 0.02 * r), fill=(10, 10, 10))
            for dy in (-0.05, 0.1, 0.25):  # whiskers
                draw.line([(cx + side * 0.2 * r, cy + 0.3 * r), (cx + side * 1.3 * r, cy + (0.3 + dy) * r)],
                          fill=(235, 235, 235), width=max(1, int(r / 40)))
        draw.polygon([(cx - 0.1 * r, cy + 0.15 * r), (cx + 0.1 * r, cy + 0.15 * r), (cx, cy + 0.28 * r)],
                     fill=(220, 120, 130))
    else:  # dog: long head, snout below, ears hanging at the sides
        draw.ellipse((cx - 0.85 * r, cy - r, cx + 0.85 * r, cy + 0.9 * r), fill=fur)
        for side in (-1, 1):
            draw.ellipse((cx + side * 0.7 * r - 0.3 * r, cy - 0.8 * r, cx + side * 0.7 * r + 0.3 * r, cy + 0.6 * r),
                         fill=dark)
            ex = cx + side * 0.33 * r
            draw.ellipse((ex - 0.12 * r, cy - 0.4 * r, ex + 0.12 * r, cy - 0.16 * r), fill=(40, 25, 15))
        draw.ellipse((cx - 0.45 * r, cy + 0.05 * r, cx + 0.45 * r, cy + 1.05 * r), fill=light)
        draw.ellipse((cx - 0.2 * r, cy + 0.1 * r, cx + 0.2 * r, cy + 0.38 * r), fill=(15, 15, 15))
        draw.line([(cx, cy + 0.38 * r), (cx, cy + 0.75 * r)], fill=(15, 15, 15), width=max(1, int(r / 30)))


def _photo(label: int, rng: np.random.Generator):
    """One RGB picture of varied size and aspect: backdrop, animal, sensor noise."""
    from PIL import Image, ImageDraw

    width = int(rng.integers(60, 401))
    # aspect (height / width) within 1:2.5 .. 2.5:1, as in the real photos
    height = int(np.clip(round(width * np.exp(rng.uniform(-0.9, 0.9))), 60, 400))
    image = _background(width, height, rng)
    r = rng.uniform(0.28, 0.41) * min(width, height)
    cx = rng.uniform(r, width - r)  # the face, ears and snout stay inside the picture
    cy = rng.uniform(1.35 * r, height - 1.05 * r)
    _draw_animal(ImageDraw.Draw(image), label, cx, cy, r, rng)
    noisy = np.asarray(image, np.float32) + 6 * rng.standard_normal((height, width, 3), dtype=np.float32)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _encode(image, kind: str, rng: np.random.Generator) -> bytes:
    """The bytes of one file of the given kind ("plain", "gray", "cmyk", "gif", "png_rgba", or a corrupt kind)."""
    if kind == "empty":
        return b""
    if kind == "not_image":  # e.g. the error page a scraper saved under a .jpg name
        return b"<html><head><title>404 Not Found</title></head><body>Image not found</body></html>\n"
    buffer = io.BytesIO()
    if kind == "gif":
        image.quantize(64, method=2).save(buffer, format="GIF")  # 2: fast octree, a palette image
    elif kind == "png_rgba":
        image.convert("RGBA").save(buffer, format="PNG")
    else:
        mode = {"gray": "L", "cmyk": "CMYK"}.get(kind, "RGB")
        image.convert(mode).save(buffer, format="JPEG", quality=int(rng.integers(70, 96)))
    data = buffer.getvalue()
    return data[: len(data) * 3 // 5] if kind == "truncated" else data


def write_synthetic_petimages(root, n_per_class: int = 60, seed: int = 0) -> Path:
    """root/PetImages/{Cat,Dog}/<i>.jpg in the real set's layout and with its caveats; returns root.

    See SPECIAL_FILES for the grayscale, CMYK, misnamed and corrupt files in each class.
    The same seed writes the same bytes.
    """
    least = max(len(kinds) for kinds in SPECIAL_FILES.values())
    if n_per_class < least:
        raise ValueError(f"n_per_class must be at least {least} (room for the special files), not {n_per_class}")
    rng = np.random.default_rng(seed)
    for label, name in enumerate(FOLDERS):
        folder = Path(root) / "PetImages" / name
        folder.mkdir(parents=True, exist_ok=True)
        kinds = ["plain"] * n_per_class
        for index, kind in zip(rng.permutation(n_per_class), SPECIAL_FILES[name]):
            kinds[index] = kind
        for index, kind in enumerate(kinds):
            (folder / f"{index}.jpg").write_bytes(_encode(_photo(label, rng), kind, rng))
        # Windows' thumbnail cache, as in the real zip: an OLE header, not an image
        (folder / "Thumbs.db").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    (Path(root) / MARKER).write_text(f"Synthetic PetImages written by coursekit (n_per_class={n_per_class}, "
                                     f"seed={seed}), not the real dataset.\n")
    return Path(root)


# ---- the loader --------------------------------------------------------------------

def _has_real(root: Path) -> bool:
    return all((root / "PetImages" / name).is_dir() for name in FOLDERS) and not (root / MARKER).is_file()


def check_zip(path) -> None:
    """Raise unless path is a whole zip (every member's CRC checked) holding PetImages/Cat and Dog."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if not all(any(n.startswith(f"PetImages/{folder}/") for n in names) for folder in FOLDERS):
            raise ValueError("it has no PetImages/Cat and PetImages/Dog folders")
        broken = archive.testzip()
        if broken:
            raise ValueError(f"{broken} in it is damaged (wrong CRC)")


def _download_real(root: Path) -> None:
    """Microsoft's zip (checked) into root/.download/, extracted there, then PetImages/ swapped in;
    the synthetic marker, if any, goes last. The zip is deleted once extracted."""
    staging = root / ".download"
    zip_path = download(REAL_URL, staging / Path(REAL_URL).name, check=check_zip)
    unpacked = staging / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(unpacked)
    except (OSError, zipfile.BadZipFile) as error:
        raise DownloadError(REAL_URL, f"could not be extracted ({error})") from None
    if (root / "PetImages").exists():
        (root / "PetImages").rename(staging / "replaced")
    (unpacked / "PetImages").rename(root / "PetImages")
    (root / MARKER).unlink(missing_ok=True)
    shutil.rmtree(staging)


def petimages_dir(source: str = "auto", root=None) -> Path:
    """The folder holding PetImages/Cat and PetImages/Dog.

    source: "real" (Microsoft's zip, about 800 MB, into root or data_home()/petimages-real),
    "synthetic" (generated in the same layout, cached; into root when given),
    or "auto" (the real set when it is already there or can be downloaded, else the synthetic
    one, with a one-line notice saying why). Microsoft publishes no checksum: the zip is
    checked whole (its length, every member's CRC, the two folders) before it is extracted.
    """
    real_root = Path(root or data_home() / "petimages-real")
    return pick_source(source, "PetImages (cats vs dogs)", real_root, _has_real, lambda: _synthetic_root(root),
                       _download_real, f"download {REAL_URL} by hand and unzip it into {real_root}")


def _synthetic_root(root) -> Path:
    params = {k: v for k, v in SYNTHETIC.items() if k != "version"}
    if root is None:
        return cached_dataset("petimages", SYNTHETIC, lambda folder: write_synthetic_petimages(folder, **params))
    if not (Path(root) / MARKER).is_file():
        write_synthetic_petimages(root, **params)
    return Path(root)
