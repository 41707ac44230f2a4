"""What the Keras and PyTorch probes share: the odd image files, the loader probes (the
loader is the same in both frameworks), the small bases' inputs and the separable task."""
import io
from pathlib import Path

import numpy as np

SIZE = (36, 48)  # (height, width): not square, so a swapped order shows
IMAGE = 32  # the small bases take 32x32 RGB images
CORRUPT = ("empty.jpg", "truncated.jpg", "html.jpg", "thumbs.jpg")
COURSE_ANSWERS = {"load_image": "coursekit.data.catsdogs:decode_image"}  # the library's own answer: a load_image that only calls it scores 0 (the sandbox watches)


def _picture(height: int, width: int) -> np.ndarray:
    """A smooth, colourful uint8 RGB picture: red grows to the right, blue downwards, a green disc."""
    yy, xx = np.mgrid[0:height, 0:width]
    red = 40 + 200 * xx / width
    blue = 230 - 190 * yy / height
    green = np.where((yy - height / 2) ** 2 + (xx - width / 3) ** 2 < (min(height, width) / 4) ** 2, 210, 60)
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def _encode(array: np.ndarray, mode: str, fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(array).convert(mode)
    if mode == "P":
        image = Image.fromarray(array).quantize(64)
    image.save(buffer, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def write_odd_files(folder: Path) -> list[Path]:
    """Readable files in every mode the real PetImages has, then corrupt ones (CORRUPT)."""
    folder.mkdir(parents=True, exist_ok=True)
    wide, tall = _picture(90, 120), _picture(130, 70)
    jpeg = _encode(wide, "RGB", "JPEG")
    files = {
        "photo.jpg": jpeg,
        "portrait.jpg": _encode(tall, "RGB", "JPEG"),
        "grayscale.jpg": _encode(wide, "L", "JPEG"),
        "cmyk.jpg": _encode(wide, "CMYK", "JPEG"),
        "png_named.jpg": _encode(tall, "RGB", "PNG"),
        "rgba.png": _encode(np.dstack([wide, np.full(wide.shape[:2], 255, np.uint8)]), "RGBA", "PNG"),
        "gif_named.jpg": _encode(wide, "P", "GIF"),
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "html.jpg": b"<html><body>404 Not Found</body></html>\n",
        "thumbs.jpg": bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def _describe(value) -> tuple[bool, str, str, np.ndarray]:
    """(is None, shape, dtype, pixels as float32 SIZE x 3 or zeros) of what load_image returned."""
    if value is None:
        return True, "None", "None", np.zeros((*SIZE, 3), np.float32)
    array = np.asarray(value)
    shape = "x".join(str(n) for n in array.shape)
    ok = array.shape == (*SIZE, 3) and np.issubdtype(array.dtype, np.number)
    return False, shape, str(array.dtype), array.astype(np.float32) if ok else np.zeros((*SIZE, 3), np.float32)


def load_all(load_image, paths) -> dict:
    """Call the learner's load_image on each file; a crash is recorded, not raised."""
    is_none, crashed, errors, shapes, dtypes, pixels = [], [], [], [], [], []
    for path in paths:
        try:
            none, shape, dtype, array = _describe(load_image(str(path), SIZE))
            error = ""
        except Exception as exc:  # what the learner's loader raised on this file
            none, shape, dtype, array = False, "error", "error", np.zeros((*SIZE, 3), np.float32)
            error = f"{type(exc).__name__}: {exc}"[:300]
        is_none.append(none)
        crashed.append(bool(error))
        errors.append(error)
        shapes.append(shape)
        dtypes.append(dtype)
        pixels.append(array)
    return {"names": np.asarray([Path(p).name for p in paths]), "is_none": np.asarray(is_none, bool),
            "crashed": np.asarray(crashed, bool), "errors": np.asarray(errors), "shapes": np.asarray(shapes),
            "dtypes": np.asarray(dtypes), "pixels": np.stack(pixels)}


def loader_odd_files(ns, ctx):
    return load_all(ns.load_image, write_odd_files(Path.cwd() / "odd_files"))


def loader_petimages(ns, ctx):
    """The course's synthetic PetImages: varied sizes, grayscale, CMYK, misnamed and corrupt files."""
    from coursekit.data.catsdogs import list_images

    paths = [path for path, _ in list_images(ctx["data"]["petimages"])]
    result = load_all(ns.load_image, paths)
    del result["pixels"]  # flags and shapes are enough here; the odd files check the pixels
    result["names"] = np.asarray([f"{Path(p).parent.name}/{Path(p).name}" for p in paths])
    return result


def separable_task(seed: int, n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """n images (N, 32, 32, 3), float32 in [0, 1.5]: class 0 has more red, class 1 more blue."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.uniform(0, 1, (n, IMAGE, IMAGE, 3)).astype(np.float32)
    images[labels == 0, ..., 0] += 0.5
    images[labels == 1, ..., 2] += 0.5
    return images, labels.astype(np.int64)


def true_class_summary(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] <= labels.max():
        return {"accuracy": 0.0, "true_probability": 0.0}
    return {"accuracy": float(np.mean(probabilities.argmax(1) == labels)),
            "true_probability": float(np.mean(probabilities[np.arange(len(labels)), labels]))}
