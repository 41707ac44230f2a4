"""What the Keras and PyTorch probes share, so both are judged on the same numbers: the fixed
inputs, the cases, and the loss probes' steps. A framework's probes file hands those an adapter
(`fw`), a namespace of:

    tensors(*arrays)                                  the framework's tensors of numpy arrays
    gradient(loss_fn, student, teacher, labels, temperature, alpha)   d loss / d student logits, numpy
"""
import numpy as np

BATCH, CLASSES, FEATURES = 8, 5, 20
LOSS_CASES = [(1.0, 0.5), (2.0, 0.1), (4.0, 0.0), (4.0, 1.0), (10.0, 0.3)]  # (temperature, alpha)
GRADIENT_CASE = (3.0, 0.2)
SCALING_TEMPERATURES = [5.0, 10.0, 20.0]
LARGE_SCALE, LARGE_CASE = 1000, (2.0, 0.5)  # logits scaled by LARGE_SCALE overflow a softmax-then-log
STEP_CASE, STEP_LR = (2.0, 0.5), 0.1  # probe_step: (temperature, alpha) and the SGD learning rate
SANITY_CASE, SANITY_LR = (4.0, 0.0), 0.05  # probe_sanity: alpha = 0, Adam


def logits(seed: int = 0):
    """Student logits, teacher logits and labels for one batch."""
    rng = np.random.default_rng(seed)
    student = rng.normal(size=(BATCH, CLASSES)).astype(np.float32)
    teacher = (2 * rng.normal(size=(BATCH, CLASSES))).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=BATCH).astype(np.int64)
    return student, teacher, labels


def task(seed: int = 0, n: int = 256):
    """Inputs, a teacher's fixed weights, and labels unrelated to the teacher: a student that
    comes to agree with the teacher has learned from the soft targets, not the labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    teacher_weights = (rng.normal(size=(FEATURES, 3)) * 2).astype(np.float32)
    random_labels = rng.integers(0, 3, size=n).astype(np.int64)
    return x, teacher_weights, random_labels


STEP_BATCH, STEP_COUNT = 8, 4  # probe_step: four steps on four fixed batches of eight


def step_task(seed: int):
    """probe_step's fixed data and starting weights: a linear teacher (no batch norm, so training
    mode cannot change its logits) and the student's transplanted weights, as (in, out) matrices."""
    rng = np.random.default_rng([seed, 7])
    x = rng.normal(size=(STEP_BATCH * STEP_COUNT, FEATURES)).astype(np.float32)
    labels = rng.integers(0, 3, size=len(x)).astype(np.int64)
    teacher = (rng.normal(size=(FEATURES, 3)) * 2).astype(np.float32)
    student = (rng.normal(size=(FEATURES, 3)) * 0.3).astype(np.float32)
    student_bias = (rng.normal(size=3) * 0.1).astype(np.float32)
    return x, labels, teacher, student, student_bias


def agreement(student_logits, teacher_logits) -> float:
    return float(np.mean(np.argmax(student_logits, 1) == np.argmax(teacher_logits, 1)))


def loss_facts(distillation_loss, student, teacher, labels) -> dict:
    """The learner's loss for every (T, alpha) case, and for logits scaled by LARGE_SCALE (overflow)."""
    values = [float(distillation_loss(student, teacher, labels, t, a)) for t, a in LOSS_CASES]
    large = float(distillation_loss(student * LARGE_SCALE, teacher * LARGE_SCALE, labels, *LARGE_CASE))
    return {"values": np.asarray(values), "large": large}


def loss_values(ns, ctx, fw) -> dict:
    return loss_facts(ns.distillation_loss, *fw.tensors(*logits(ctx["seed"])))


def gradient(ns, ctx, fw) -> dict:
    return {"gradient": fw.gradient(ns.distillation_loss, *fw.tensors(*logits(ctx["seed"])), *GRADIENT_CASE)}


def scaling(ns, ctx, fw) -> dict:
    """The soft term's gradient norm (alpha = 0) at each of SCALING_TEMPERATURES."""
    tensors = fw.tensors(*logits(ctx["seed"]))
    return {"grad_norms": np.asarray([np.linalg.norm(fw.gradient(ns.distillation_loss, *tensors, t, 0.0))
                                      for t in SCALING_TEMPERATURES])}
