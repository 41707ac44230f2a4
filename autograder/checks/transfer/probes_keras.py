"""Probes for the Keras transfer-learning exercise: probes_common's steps on Keras (the same keys
as probes_torch.py).

build_model(base, num_classes) is handed small bases with random weights: a two-layer
conv base for 32x32 images, and VGG16's own convolutional base built for 32x32 inputs.
"""
from types import SimpleNamespace

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

import probes_common as common
from coursekit.sanity import keras_loss_curve
from probes_common import IMAGE, TINY_BASE_SEED, TINY_CHANNELS


def tiny_base(seed: int, weights: int = TINY_BASE_SEED):
    """conv 8 -> pool -> conv 16 -> pool: (N, 32, 32, 3) -> (N, 8, 8, 16)."""
    keras.utils.set_random_seed(weights)
    layers = keras.layers
    base = keras.Sequential([keras.Input((IMAGE, IMAGE, 3)),
                             layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                             layers.Conv2D(TINY_CHANNELS, 3, padding="same", activation="relu"), layers.MaxPooling2D()],
                            name="tiny_base")
    keras.utils.set_random_seed(seed)
    return base


def vgg16_base():
    return keras.applications.VGG16(include_top=False, weights=None, input_shape=(IMAGE, IMAGE, 3))


def _predict(model, images) -> np.ndarray:
    return np.asarray(model(images, training=False))


def _zero_weights(base):
    for weight in base.weights:
        weight.assign(np.zeros(weight.shape, dtype=weight.dtype))


def _fit_squared_error(model, images, target, steps):
    keras_loss_curve(model, images, target, "mean_squared_error", steps, lr=1e-2)


def _fit_cross_entropy(model, images, labels, steps, device):
    return keras_loss_curve(model, images, labels, "sparse_categorical_crossentropy", steps, lr=1e-2)


def _save_and_reload(ns, model, folder, seed):
    """model.save (.keras), then keras.models.load_model."""
    model.save(folder / "transfer.keras")
    return keras.models.load_model(folder / "transfer.keras")


def _sanity_steps():
    from coursekit.sanity import sanity_steps

    return sanity_steps(gpu_steps=100, cpu_steps=30, framework="keras")


KERAS = SimpleNamespace(
    seed=keras.utils.set_random_seed, tiny_base=tiny_base, vgg16_base=vgg16_base, predict=_predict,
    trainable=lambda model: int(sum(np.prod(w.shape) for w in model.trainable_weights)),
    weights=lambda model: list(model.weights), numpy=lambda weight: np.array(weight.numpy()),
    zero_weights=_zero_weights, fit_squared_error=_fit_squared_error, fit_cross_entropy=_fit_cross_entropy,
    probabilities=_predict,  # a Keras model ends in a softmax
    save_and_reload=_save_and_reload, sanity_steps=_sanity_steps)


def probe_loader_odd_files(ns, ctx):
    """load_image on files of every kind, corrupt ones included, written here."""
    return common.loader_odd_files(ns, ctx)


def probe_loader_petimages(ns, ctx):
    """load_image on every file of the synthetic PetImages."""
    return common.loader_petimages(ns, ctx)


def probe_outputs(ns, ctx):
    return common.outputs(ns, ctx, KERAS)


def probe_uses_base(ns, ctx):
    return common.uses_base(ns, ctx, KERAS)


def probe_training_step(ns, ctx):
    return common.training_step(ns, ctx, KERAS)


def probe_training(ns, ctx):
    return common.training(ns, ctx, KERAS)


def probe_save_reload(ns, ctx):
    return common.save_reload(ns, ctx, KERAS)
