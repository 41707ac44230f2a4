"""Probes for the Keras transfer-learning exercise (the same keys as probes_torch.py).

build_model(base, num_classes) is handed small bases with random weights: a two-layer
conv base for 32x32 images, and VGG16's own convolutional base built for 32x32 inputs.
"""
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

# Graders run submissions side by side: one thread each, no oversubscription. The child
# imports the probes before the submission, so no TensorFlow op has run yet.
try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:  # TensorFlow already started (probes imported in a live session)
    pass

from probes_common import IMAGE, loader_odd_files, loader_petimages, separable_task, true_class_summary


def probe_loader_odd_files(ns, ctx):
    """load_image on files of every kind, corrupt ones included, written here."""
    return loader_odd_files(ns, ctx)


def probe_loader_petimages(ns, ctx):
    """load_image on every file of the synthetic PetImages."""
    return loader_petimages(ns, ctx)


def tiny_base(seed: int):
    """conv 8 -> pool -> conv 16 -> pool: (N, 32, 32, 3) -> (N, 8, 8, 16)."""
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    return keras.Sequential([keras.Input((IMAGE, IMAGE, 3)),
                             layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                             layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D()],
                            name="tiny_base")


def vgg16_base():
    return keras.applications.VGG16(include_top=False, weights=None, input_shape=(IMAGE, IMAGE, 3))


def _predict(model, images) -> np.ndarray:
    return np.asarray(model(images, training=False))


def _trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def probe_outputs(ns, ctx):
    images, _ = separable_task(ctx["seed"], n=8)
    model = ns.build_model(tiny_base(ctx["seed"]), num_classes=2)
    keras.utils.set_random_seed(ctx["seed"])
    vgg = ns.build_model(vgg16_base(), num_classes=2)
    five = ns.build_model(tiny_base(ctx["seed"]), num_classes=5)
    outputs = _predict(model, images)
    return {
        "outputs": outputs,
        "shape_tiny": np.asarray(outputs.shape),
        "shape_vgg": np.asarray(_predict(vgg, images[:2]).shape),
        "shape_five": np.asarray(_predict(five, images[:2]).shape),
        "trainable_tiny": _trainable(model),
        "trainable_vgg": _trainable(vgg),
        "trainable_five": _trainable(five),
    }


def probe_uses_base(ns, ctx):
    """Outputs for different images; then again with every weight of the base set to zero."""
    images, _ = separable_task(ctx["seed"], n=8)
    base = tiny_base(ctx["seed"])
    model = ns.build_model(base, num_classes=2)
    intact = _predict(model, images)
    for weight in base.weights:
        weight.assign(np.zeros(weight.shape, dtype=weight.dtype))
    zeroed = _predict(model, images)
    return {"spread_intact": float(np.abs(intact - intact[:1]).max()),
            "spread_zeroed": float(np.abs(zeroed - zeroed[:1]).max())}


def _one_hot_first(outputs: np.ndarray) -> np.ndarray:
    """A target of the outputs' own shape: 1 in the first column, 0 elsewhere."""
    target = np.zeros(outputs.shape, np.float32)
    target[:, 0] = 1
    return target


def probe_training_step(ns, ctx):
    """A few Adam steps with a squared-error loss that fits any number of outputs: which weights move?"""
    images, _ = separable_task(ctx["seed"], n=8)
    base = tiny_base(ctx["seed"])
    model = ns.build_model(base, num_classes=2)
    keras.utils.set_random_seed(ctx["seed"])
    target = _one_hot_first(_predict(model, images))  # called first: a subclassed model has no weights until then
    base_ids = {id(w) for w in base.weights}
    head = [w for w in model.weights if id(w) not in base_ids]
    base_before = [w.numpy().copy() for w in base.weights]
    head_before = [w.numpy().copy() for w in head]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mean_squared_error")
    for _ in range(3):
        model.train_on_batch(images, target)
    return {
        "base_change": max(float(np.abs(w.numpy() - b).max()) for w, b in zip(base.weights, base_before)),
        "head_weights": len(head),
        "head_changed": int(sum(not np.array_equal(w.numpy(), b) for w, b in zip(head, head_before))),
    }


def probe_training(ns, ctx):
    """Adam on the separable task, one batch, cross-entropy on the model's probabilities."""
    from coursekit.sanity import sanity_steps

    steps, device = sanity_steps(gpu_steps=100, cpu_steps=30, framework="keras")
    images, labels = separable_task(ctx["seed"])
    model = ns.build_model(tiny_base(ctx["seed"]), num_classes=2)
    keras.utils.set_random_seed(ctx["seed"])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    # train_on_batch, not fit(epochs=steps): the same full-batch steps without fit's per-epoch overhead
    losses = [float(np.ravel(model.train_on_batch(images, labels))[0]) for _ in range(steps)]
    return {"losses": np.asarray(losses, np.float64), "device": device,
            **true_class_summary(_predict(model, images), labels)}


def probe_save_reload(ns, ctx):
    """Save with model.save (.keras), reload with keras.models.load_model, predict again."""
    images, _ = separable_task(ctx["seed"], n=8)
    model = ns.build_model(tiny_base(ctx["seed"]), num_classes=2)
    path = Path.cwd() / "saved" / "transfer.keras"
    path.parent.mkdir(exist_ok=True)
    before = _predict(model, images)
    model.save(path)
    reloaded = keras.models.load_model(path)
    return {"before": before, "again": _predict(model, images), "after": _predict(reloaded, images)}
