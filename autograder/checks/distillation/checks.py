"""Checks for the distillation exercise: the learner's probe results against the reference's."""
import numpy as np

from autograder.checkkit import check, expect, expect_close, judged_only_if


def _step_wrong(got, want) -> bool:
    """True when, with the right loss, the learner's steps still move the student otherwise than
    the reference's (check_student_updated says how); the sanity run is then not judged."""
    step = got.values.get("probe_step")
    if step is None or not _loss_right(got, want):
        return False
    reference = want["probe_step"]
    return not (np.allclose(step["student_after"], reference["student_after"], rtol=1e-4, atol=1e-5)
                and np.isclose(step["loss"], reference["loss"], rtol=1e-4, atol=1e-5))


def _loss_right(got, want) -> bool:
    """Whether the learner's loss matched the reference's: only then can a training step's
    numbers be compared with the reference's (a wrong loss is charged on the loss checks)."""
    values = got.values.get("probe_loss_values")
    return values is not None and np.allclose(values["values"], want["probe_loss_values"]["values"], rtol=1e-4, atol=1e-5)

CASES = "(T, alpha) = (1, 0.5), (2, 0.1), (4, 0), (4, 1), (10, 0.3)"


@check(points=2, hint="alpha weighs the hard-label cross-entropy; (1 - alpha) * T**2 weighs KL(teacher_T || student_T).")
def check_loss_values(got, want):
    """the loss matches the reference on fixed logits for several T and alpha"""
    expect_close(got["probe_loss_values"]["values"], want["probe_loss_values"]["values"], f"loss for {CASES}", rtol=1e-4, atol=1e-5)


@check(points=1, hint="Use log-softmax for both soft distributions; exp(log p) - never softmax then log.")
def check_large_logits(got, want):
    """logits of size 1000 give the right, finite loss (no overflow)"""
    large = got["probe_loss_values"]["large"]
    expect(np.isfinite(large), f"the loss for logits of size 1000 is {large}: compute it from log-softmaxes")
    expect_close(large, want["probe_loss_values"]["large"], "loss for logits of size 1000", rtol=1e-3, atol=1e-2)


@check(points=2, hidden=True, hint="Differentiate through the student's logits only; the teacher's are constants.")
def check_gradient(got, want):
    """the gradient with respect to the student's logits matches the reference"""
    expect_close(got["probe_gradient"]["gradient"], want["probe_gradient"]["gradient"], "d loss / d student logits at T = 3, alpha = 0.2", rtol=1e-3, atol=1e-5)


@check(points=1, hint="Multiply the soft term by temperature ** 2.")
def check_t_squared(got, want):
    """the soft term's gradient keeps its size as T grows (the T squared scaling)"""
    norms = got["probe_scaling"]["grad_norms"]
    ratio = norms.max() / max(norms.min(), 1e-12)
    # with T**2 the norms at T = 5, 10, 20 stay within ~1.3x; without it they shrink ~16x
    expect(ratio < 2, f"gradient norms at T = 5, 10, 20 are {', '.join(f'{n:.3g}' for n in norms)}: they should stay about the same size as T grows")


@check(points=1, hint="Run the teacher in inference mode (training=False / teacher.eval() and torch.no_grad()) and update only the student.")
def check_teacher_frozen(got, want):
    """a training step leaves every teacher weight and batch-norm statistic unchanged"""
    change = got["probe_step"]["teacher_change"]
    expect(change == 0, f"the teacher changed during a step (largest change {change:.3g})")


@check(points=1, hint="Zero the gradients, take one optimizer step on the student's weights, and report this step's loss.")
def check_student_updated(got, want, note):
    """training steps change the student as the reference's do, and report the loss"""
    step, reference = got["probe_step"], want["probe_step"]
    expect(step["student_change"] > 0, "the student's weights did not change during a step: take an optimizer step")
    expect(step["loss_is_number"] and np.isfinite(step["loss"]), f"the step reported {step['loss']!r}, not the loss as a finite number")
    if not _loss_right(got, want):
        note("the steps were not compared with the reference's: your loss differs (see check_loss_values)")
        return
    expect_close(step["student_after"], reference["student_after"],
                 "the student's weights after four steps from the reference's weights on the same batches "
                 "(gradients left from the previous step add up unless they are zeroed: optimizer.zero_grad())",
                 rtol=1e-4, atol=1e-5)
    expect(np.isclose(step["loss"], reference["loss"], rtol=1e-4, atol=1e-5),
           f"from the same weights on the same four batches your steps report a loss of {float(step['loss']):.4g}, the "
           f"reference's {float(reference['loss']):.4g}: report this step's loss (Keras: update the loss tracker with it "
           "and return its result)")


@check(points=2, hidden=True, hint="With alpha = 0 only the teacher's soft targets drive the student.")
def check_sanity(got, want, note):
    """with alpha = 0 and random labels, the student's loss falls and it comes to agree with the teacher"""
    judged_only_if(not _step_wrong(got, want), "check_student_updated", "your training step differs from the reference's")
    run = got["probe_sanity"]
    losses = run["losses"]
    note(f"ran {len(losses)} steps on {run['device']}; loss {losses[0]:.3f} -> {losses[-1]:.3f}; "
         f"agreement with the teacher {float(run['agreement_before']):.0%} -> {float(run['agreement_after']):.0%}")
    expect(np.isfinite(losses).all(), "the loss became NaN or infinite")
    expect(losses[-1] <= 0.5 * losses[0], f"the loss fell from {losses[0]:.3f} to {losses[-1]:.3f}; expected at least a halving")
    expect(run["agreement_after"] >= 0.85, f"the student agrees with the teacher on {float(run['agreement_after']):.0%} of inputs; expected at least 85%")
