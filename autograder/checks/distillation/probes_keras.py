"""Probes for the Keras distillation exercise (same keys as probes_torch.py)."""
from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf

import probes_common as common
from probes_common import FEATURES, SANITY_CASE, SANITY_LR, STEP_BATCH, STEP_CASE, STEP_LR, agreement, step_task, task


def _gradient(loss_fn, student, teacher, labels, temperature, alpha):
    student = tf.Variable(student)
    with tf.GradientTape() as tape:
        loss = loss_fn(student, teacher, labels, temperature, alpha)
    return tape.gradient(loss, student).numpy()


KERAS = SimpleNamespace(tensors=lambda *arrays: tuple(tf.constant(a) for a in arrays), gradient=_gradient)


def probe_loss_values(ns, ctx):
    return common.loss_values(ns, ctx, KERAS)


def probe_gradient(ns, ctx):
    return common.gradient(ns, ctx, KERAS)


def probe_scaling(ns, ctx):
    return common.scaling(ns, ctx, KERAS)


def _distiller(ns, student, teacher, temperature, alpha):
    return ns.Distiller(student, teacher, temperature=temperature, alpha=alpha)


def _state(model):
    return [np.array(w) for w in model.weights]  # trainable weights and batch-norm statistics


def _largest_change(before, after):
    return max(float(np.abs(a - b).max()) for a, b in zip(before, after))


def probe_step(ns, ctx):
    keras.utils.set_random_seed(ctx["seed"])
    teacher = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(16), keras.layers.BatchNormalization(),
                                keras.layers.ReLU(), keras.layers.Dense(3)])
    student = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3)])
    x, _, labels = task(ctx["seed"], n=32)
    teacher_before, student_before = _state(teacher), _state(student)
    distiller = _distiller(ns, student, teacher, *STEP_CASE)
    distiller.compile(optimizer=keras.optimizers.SGD(STEP_LR))
    history = distiller.fit(x, labels, epochs=1, batch_size=len(x), verbose=0, shuffle=False)
    loss = np.asarray(history.history.get("loss", [np.nan]))
    return {
        "teacher_change": _largest_change(teacher_before, _state(teacher)),
        "student_change": _largest_change(student_before, _state(student)),
        "loss_is_number": loss.size == 1 and np.issubdtype(loss.dtype, np.number),
        **_steps_from_transplant(ns, ctx["seed"]),
    }


def _steps_from_transplant(ns, seed):
    """Several steps from transplanted weights on fixed batches: the loss fit reports (the
    mean of the steps' losses, from the loss tracker) and the student's weights after them."""
    x, labels, teacher_w, student_w, student_b = step_task(seed)
    teacher = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3, use_bias=False)])
    teacher.set_weights([teacher_w])
    student = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3)])
    student.set_weights([student_w, student_b])
    distiller = _distiller(ns, student, teacher, *STEP_CASE)
    distiller.compile(optimizer=keras.optimizers.SGD(STEP_LR))
    history = distiller.fit(x, labels, epochs=1, batch_size=STEP_BATCH, verbose=0, shuffle=False)
    loss = np.asarray(history.history.get("loss", [np.nan]), dtype=np.float64).ravel()
    kernel, bias = (np.asarray(w) for w in student.get_weights())
    return {"loss": float(loss[-1]) if loss.size else float("nan"),
            "student_after": np.concatenate([kernel.ravel(), bias])}


def probe_sanity(ns, ctx):
    """alpha = 0 and random labels: the student can only learn the teacher's soft targets."""
    from coursekit.sanity import sanity_steps

    steps, device = sanity_steps(gpu_steps=200, cpu_steps=60, framework="keras")
    keras.utils.set_random_seed(ctx["seed"])
    x, weights, labels = task(ctx["seed"])
    teacher = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3, use_bias=False)])
    teacher.set_weights([weights])
    student = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(3)])
    before = agreement(student.predict(x, verbose=0), teacher.predict(x, verbose=0))
    distiller = _distiller(ns, student, teacher, *SANITY_CASE)
    distiller.compile(optimizer=keras.optimizers.Adam(SANITY_LR))
    # One step an epoch (each epoch's loss is its step's own) from a repeated one-batch dataset:
    # fit keeps its iterator across epochs, so the 60 epochs take 0.4 s instead of 2.4 s.
    batches = tf.data.Dataset.from_tensors((x, labels)).repeat()
    history = distiller.fit(batches, epochs=steps, steps_per_epoch=1, verbose=0)
    after = agreement(student.predict(x, verbose=0), teacher.predict(x, verbose=0))
    return {"losses": np.asarray(history.history["loss"], dtype=np.float64), "agreement_before": before,
            "agreement_after": after, "device": device}
