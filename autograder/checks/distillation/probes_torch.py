"""Probes for the PyTorch distillation exercise (same keys as probes_keras.py)."""
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

import probes_common as common
from probes_common import FEATURES, SANITY_CASE, SANITY_LR, STEP_BATCH, STEP_CASE, STEP_LR, agreement, step_task, task


def _gradient(loss_fn, student, teacher, labels, temperature, alpha):
    student = student.clone().requires_grad_(True)
    loss_fn(student, teacher, labels, temperature, alpha).backward()
    return student.grad.numpy()


TORCH = SimpleNamespace(tensors=lambda *arrays: tuple(torch.tensor(a) for a in arrays), gradient=_gradient)


def probe_loss_values(ns, ctx):
    return common.loss_values(ns, ctx, TORCH)


def probe_gradient(ns, ctx):
    return common.gradient(ns, ctx, TORCH)


def probe_scaling(ns, ctx):
    return common.scaling(ns, ctx, TORCH)


def _state(module):
    return [t.detach().clone() for t in module.state_dict().values()]


def _largest_change(before, after):
    return max(float((a.float() - b.float()).abs().max()) for a, b in zip(before, after))


def probe_step(ns, ctx):
    torch.manual_seed(ctx["seed"])
    teacher = nn.Sequential(nn.Linear(FEATURES, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    student = nn.Linear(FEATURES, 3)
    x, _, labels = task(ctx["seed"], n=32)
    teacher_before, student_before = _state(teacher), _state(student)
    optimizer = torch.optim.SGD(student.parameters(), lr=STEP_LR)
    loss = ns.distill_step(student, teacher, optimizer, torch.tensor(x), torch.tensor(labels), *STEP_CASE)
    return {
        "teacher_change": _largest_change(teacher_before, _state(teacher)),
        "student_change": _largest_change(student_before, _state(student)),
        "loss_is_number": isinstance(loss, (float, int)),
        **_steps_from_transplant(ns, ctx["seed"]),
    }


def _steps_from_transplant(ns, seed):
    """Several steps from transplanted weights on fixed batches: the reported loss (their mean)
    and the student's weights after them, to compare with the reference's (a step that never
    zeroes the gradients drifts from the second step on)."""
    x, labels, teacher_w, student_w, student_b = step_task(seed)
    teacher, student = nn.Linear(FEATURES, 3, bias=False), nn.Linear(FEATURES, 3)
    with torch.no_grad():
        teacher.weight.copy_(torch.from_numpy(teacher_w.T.copy()))
        student.weight.copy_(torch.from_numpy(student_w.T.copy()))
        student.bias.copy_(torch.from_numpy(student_b))
    optimizer = torch.optim.SGD(student.parameters(), lr=STEP_LR)
    losses = [float(ns.distill_step(student, teacher, optimizer, torch.from_numpy(x[i:i + STEP_BATCH]),
                                    torch.from_numpy(labels[i:i + STEP_BATCH]), *STEP_CASE))
              for i in range(0, len(x), STEP_BATCH)]
    weights = np.concatenate([student.weight.detach().numpy().T.ravel(), student.bias.detach().numpy()])
    return {"loss": float(np.mean(losses)), "student_after": weights}


def probe_sanity(ns, ctx):
    """alpha = 0 and random labels: the student can only learn the teacher's soft targets."""
    from coursekit.sanity import sanity_steps

    steps, device = sanity_steps(gpu_steps=200, cpu_steps=60)
    torch.manual_seed(ctx["seed"])
    x, weights, labels = task(ctx["seed"])
    teacher = nn.Linear(FEATURES, 3, bias=False)
    teacher.weight.data = torch.tensor(weights.T.copy())
    student = nn.Linear(FEATURES, 3)
    teacher, student = teacher.to(device), student.to(device)
    x, labels = torch.tensor(x, device=device), torch.tensor(labels, device=device)
    optimizer = torch.optim.Adam(student.parameters(), lr=SANITY_LR)
    with torch.no_grad():
        before = agreement(student(x).cpu().numpy(), teacher(x).cpu().numpy())
    losses = [ns.distill_step(student, teacher, optimizer, x, labels, *SANITY_CASE) for _ in range(steps)]
    with torch.no_grad():
        after = agreement(student(x).cpu().numpy(), teacher(x).cpu().numpy())
    return {"losses": np.asarray(losses, dtype=np.float64), "agreement_before": before, "agreement_after": after, "device": device}
