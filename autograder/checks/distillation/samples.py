"""Bundled wrong answers for the distillation exercise (autograder/samples/distillation/)."""
from autograder.generate import Sample

SAMPLES = {
    # Forgot the T squared: the soft term fades as the temperature rises.
    "missing_t_squared": Sample(
        mistake='the soft term is not multiplied by `temperature ** 2`, so its weight fades as the temperature rises: use `(1 - alpha) * temperature**2 * soft`.',
        replace=(("(1 - alpha) * temperature**2 * soft", "(1 - alpha) * soft"),),
        fails=frozenset({"check_loss_values", "check_large_logits", "check_gradient", "check_t_squared"}),
        framework="torch",
    ),
    # KL(student || teacher): the wrong direction.
    "kl_wrong_direction": Sample(
        mistake="the KL divergence runs the wrong way, KL(student || teacher); distillation uses KL(teacher || student): weigh by the teacher's probabilities, `p_teacher * (log p_teacher - log p_student)`.",
        replace=(("ops.exp(log_p_teacher) * (log_p_teacher - log_p_student)", "ops.exp(log_p_student) * (log_p_student - log_p_teacher)"),),
        fails=frozenset({"check_loss_values", "check_large_logits", "check_gradient"}),
        framework="keras",
    ),
    # The teacher runs in training mode: its batch-norm statistics drift.
    "teacher_updated": Sample(
        mistake='the teacher runs in training mode, so its batch-norm statistics change during a step: call `teacher.eval()` (Keras: `training=False`) and compute its logits without gradients.',
        replace=(("    teacher.eval()\n", ""),),
        fails=frozenset({"check_teacher_frozen"}),
        framework="torch",
    ),
}
