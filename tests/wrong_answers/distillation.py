"""Wrong answers to the distillation exercise, as edits of each framework's reference, and
the checks each must fail. With the bundled samples, every check rejects one per framework.
Names end in the framework: the file graded is <name>.ipynb."""
from autograder.generate import Sample

LOSS = frozenset({"check_loss_values", "check_large_logits", "check_gradient"})
# Without the temperature the teacher's targets stay sharp: the values and their gradients
# go wrong and the gradient size changes with T; at logits of 1000 both are one-hot anyway.
NO_TEMPERATURE = frozenset({"check_loss_values", "check_gradient", "check_t_squared"})
# alpha = 0.5 (the large-logits case) weighs both terms alike, so swapping them shows elsewhere.
ALPHA_SWAPPED = frozenset({"check_loss_values", "check_gradient", "check_sanity"})
# A step that differs from the reference's (the loss being right) is charged on check_student_updated;
# the sanity run then says "not judged: see check_student_updated".
STEP_WRONG = frozenset({"check_student_updated", "check_sanity"})
EVERYTHING = LOSS | {"check_t_squared", "check_teacher_frozen", "check_student_updated", "check_sanity"}

WRONG = {
    "teacher_no_temperature_torch": Sample(
        replace=(("F.log_softmax(teacher_logits / temperature, dim=-1)", "F.log_softmax(teacher_logits, dim=-1)"),),
        fails=NO_TEMPERATURE, framework="torch"),
    "teacher_no_temperature_keras": Sample(
        replace=(("ops.log_softmax(teacher_logits / temperature, axis=-1)", "ops.log_softmax(teacher_logits, axis=-1)"),),
        fails=NO_TEMPERATURE, framework="keras"),
    "kl_wrong_direction_torch": Sample(
        replace=(("F.kl_div(log_p_student, log_p_teacher,", "F.kl_div(log_p_teacher, log_p_student,"),),
        fails=LOSS, framework="torch"),
    "missing_t_squared_keras": Sample(
        replace=(("(1 - alpha) * temperature**2 * soft", "(1 - alpha) * soft"),),
        fails=LOSS | {"check_t_squared"}, framework="keras"),
    "alpha_wrong_term_torch": Sample(
        replace=(("alpha * hard + (1 - alpha) * temperature**2 * soft", "(1 - alpha) * hard + alpha * temperature**2 * soft"),),
        fails=ALPHA_SWAPPED, framework="torch"),
    "alpha_wrong_term_keras": Sample(
        replace=(("alpha * hard + (1 - alpha) * temperature**2 * soft", "(1 - alpha) * hard + alpha * temperature**2 * soft"),),
        fails=ALPHA_SWAPPED, framework="keras"),
    "teacher_updated_keras": Sample(
        replace=(("self.teacher(images, training=False)", "self.teacher(images, training=True)"),),
        fails=frozenset({"check_teacher_frozen"}), framework="keras"),
    "no_optimizer_step_torch": Sample(
        replace=(("    optimizer.step()\n", ""),),
        fails=STEP_WRONG, framework="torch"),
    "no_optimizer_step_keras": Sample(
        replace=(("        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))\n", ""),),
        fails=STEP_WRONG, framework="keras"),
    # Labels and logits swapped in the cross-entropy: nothing works.
    "labels_logits_swapped_torch": Sample(
        replace=(("F.cross_entropy(student_logits, labels)", "F.cross_entropy(labels, student_logits)"),),
        fails=EVERYTHING, framework="torch"),
    "labels_logits_swapped_keras": Sample(
        replace=(("sparse_categorical_crossentropy(labels, student_logits,", "sparse_categorical_crossentropy(student_logits, labels,"),),
        fails=EVERYTHING, framework="keras"),
    # No optimizer.zero_grad(): gradients add up from the second step on. One step (the old
    # probe) and the loose sanity thresholds passed it; several steps from transplanted weights do not.
    "no_zero_grad_torch": Sample(
        replace=(("    optimizer.zero_grad()\n", ""),),
        fails=STEP_WRONG, framework="torch"),
    # The loss tracker is never updated: fit reports 0.0, which was "finite" and "halved".
    "tracker_not_updated_keras": Sample(
        replace=(("        self.loss_tracker.update_state(loss)\n", ""),),
        fails=STEP_WRONG, framework="keras"),
    # Told "alpha weighs ... T**2" whatever the mistake; now the message names it.
    # KL averaged over every element, not over the batch: the soft term is 1/classes of the right one.
    "kl_mean_reduction_torch": Sample(
        replace=(('reduction="batchmean"', 'reduction="mean"'),),
        fails=LOSS, framework="torch"),
    # The hard-label term reads the logits as probabilities.
    "no_from_logits_keras": Sample(
        replace=(("sparse_categorical_crossentropy(labels, student_logits, from_logits=True)",
                  "sparse_categorical_crossentropy(labels, student_logits)"),),
        fails=LOSS, framework="keras"),
}

# A phrase of the message each of these wrong answers must get, per check: the feedback names the mistake.
MESSAGES = {
    "kl_mean_reduction_torch": {"check_loss_values": "reduction='batchmean'", "check_gradient": "not judged: see check_loss_values"},
    "no_from_logits_keras": {"check_loss_values": "from_logits=True"},
    "missing_t_squared_keras": {"check_loss_values": "multiply it by temperature**2", "check_t_squared": "shrink"},
    "teacher_no_temperature_torch": {"check_t_squared": "the T**2 is there"},
    "alpha_wrong_term_torch": {"check_loss_values": "alpha weighs the wrong term", "check_sanity": "not judged: see check_loss_values"},
    "kl_wrong_direction_torch": {"check_loss_values": "largest difference at (T, alpha)"},
}
