"""What the Keras and PyTorch probes share: the odd image files, the loader probes (the
loader is the same in both frameworks), the small bases' inputs, the separable task, and every
model probe's steps. A framework's probes file hands those steps an adapter (`fw`), a namespace of:

    seed(seed)                        seed the framework's own generator
    tiny_base(seed, weights)          the small base build_model is handed: random weights drawn from `weights`
                                      (TINY_BASE_SEED), then the generator seeded with `seed` for the head
    vgg16_base()                      VGG16's convolutional base, random weights
    predict(model, images)            inference-mode outputs for (N, 32, 32, 3) float32 images
    trainable(model)                  how many numbers training may change
    weights(model)                    the model's weight tensors (the model has been called)
    numpy(weight)                     a weight tensor's values, copied
    zero_weights(base)                set every weight of the base to zero
    fit_squared_error(model, images, target, steps)   Adam steps on a squared error, lr 1e-2
    fit_cross_entropy(model, images, labels, steps, device) -> losses   on the model's outputs
    probabilities(model, images)      the outputs as class probabilities (PyTorch: softmax of the logits)
    save_and_reload(ns, model, folder, seed) -> the reloaded model, with the framework's own API
    sanity_steps()                    (steps, device) of the training-sanity run
"""
import io
from pathlib import Path

import numpy as np

SIZE = (36, 48)  # (height, width): not square, so a swapped order shows
IMAGE = 32  # the small bases take 32x32 RGB images
TINY_CHANNELS = 16  # the small base's output channels
# The small base's weights are fixed, not drawn from the batch's seed: at some seeds a random base
# barely tells red from blue and no head learns the sanity task in its steps (benchmarks/transfer.md).
TINY_BASE_SEED = 0
OUTPUT_IMAGES, VGG_IMAGES = 8, 2  # images probe_outputs predicts for (VGG16's base and five classes: fewer)
HEAD_STEPS = 3  # probe_training_step: Adam steps with a squared-error loss
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


def outputs(ns, ctx, fw) -> dict:
    images, _ = separable_task(ctx["seed"], n=OUTPUT_IMAGES)
    model = ns.build_model(fw.tiny_base(ctx["seed"]), num_classes=2)
    fw.seed(ctx["seed"])
    vgg = ns.build_model(fw.vgg16_base(), num_classes=2)
    five = ns.build_model(fw.tiny_base(ctx["seed"]), num_classes=5)
    predicted = fw.predict(model, images)
    return {
        "outputs": predicted,
        "shape_tiny": np.asarray(predicted.shape),
        "shape_vgg": np.asarray(fw.predict(vgg, images[:VGG_IMAGES]).shape),
        "shape_five": np.asarray(fw.predict(five, images[:VGG_IMAGES]).shape),
        "trainable_tiny": fw.trainable(model),
        "trainable_vgg": fw.trainable(vgg),
        "trainable_five": fw.trainable(five),
    }


def uses_base(ns, ctx, fw) -> dict:
    """Outputs for different images; then again with every weight of the base set to zero."""
    images, _ = separable_task(ctx["seed"], n=OUTPUT_IMAGES)
    base = fw.tiny_base(ctx["seed"])
    model = ns.build_model(base, num_classes=2)
    intact = fw.predict(model, images)
    fw.zero_weights(base)
    zeroed = fw.predict(model, images)
    return {"spread_intact": float(np.abs(intact - intact[:1]).max()),
            "spread_zeroed": float(np.abs(zeroed - zeroed[:1]).max())}


def training_step(ns, ctx, fw) -> dict:
    """HEAD_STEPS Adam steps with a squared-error loss that fits any number of outputs: which weights move?"""
    images, _ = separable_task(ctx["seed"], n=OUTPUT_IMAGES)
    base = fw.tiny_base(ctx["seed"])
    model = ns.build_model(base, num_classes=2)
    fw.seed(ctx["seed"])
    predicted = fw.predict(model, images)  # called first: a subclassed or lazy model has no weights until then
    target = np.zeros(predicted.shape, np.float32)  # 1 in the first column: a target of the outputs' own shape
    target[:, 0] = 1
    base_ids = {id(w) for w in fw.weights(base)}
    head = [w for w in fw.weights(model) if id(w) not in base_ids]
    base_before = [fw.numpy(w) for w in fw.weights(base)]
    head_before = [fw.numpy(w) for w in head]
    fw.fit_squared_error(model, images, target, HEAD_STEPS)
    return {
        "base_change": max(float(np.abs(fw.numpy(w) - b).max()) for w, b in zip(fw.weights(base), base_before)),
        "head_weights": len(head),
        "head_changed": int(sum(not np.array_equal(fw.numpy(w), b) for w, b in zip(head, head_before))),
    }


def training(ns, ctx, fw) -> dict:
    """Adam on the separable task, one batch, cross-entropy; accuracy and confidence after."""
    steps, device = fw.sanity_steps()
    images, labels = separable_task(ctx["seed"])
    model = ns.build_model(fw.tiny_base(ctx["seed"]), num_classes=2)
    fw.seed(ctx["seed"])
    losses = fw.fit_cross_entropy(model, images, labels, steps, device)
    return {"losses": np.asarray(losses, np.float64), "device": device,
            **true_class_summary(fw.probabilities(model, images), labels)}


def save_reload(ns, ctx, fw) -> dict:
    """Save and reload with the framework's own API, predict again."""
    images, _ = separable_task(ctx["seed"], n=OUTPUT_IMAGES)
    model = ns.build_model(fw.tiny_base(ctx["seed"]), num_classes=2)
    folder = Path.cwd() / "saved"
    folder.mkdir(exist_ok=True)
    before = fw.predict(model, images)
    reloaded = fw.save_and_reload(ns, model, folder, ctx["seed"])
    return {"before": before, "again": fw.predict(model, images), "after": fw.predict(reloaded, images)}
