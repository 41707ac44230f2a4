"""Knowledge distillation: the distillation loss and the distiller's training step.

Sources and references: solutions/distillation_{keras,torch}.ipynb. Learners' copies:
exercises/distillation_*.ipynb. Chapter: book/distillation.md. Probes: probes_*.py
(sandbox; shared inputs in probes_common.py). Checks: checks.py.
"""
from autograder.exercise import Exercise, Variant

EXERCISE = Exercise(
    slug="distillation",
    title="Knowledge distillation: loss and training step",
    variants=(
        Variant("keras", "distillation_keras.ipynb", "probes_keras.py", ("distillation_loss", "Distiller")),
        Variant("torch", "distillation_torch.ipynb", "probes_torch.py", ("distillation_loss", "distill_step")),
    ),
)
