"""Checks for the distillation exercise: the learner's probe results against the reference's."""
import numpy as np

from autograder.checkkit import check, expect, expect_close, judged_only_if, largest_difference, loss_bar
from autograder.checks.distillation.probes_common import (CLASSES, GRADIENT_CASE, LARGE_SCALE, LOSS_CASES,
                                                          SCALING_TEMPERATURES, STEP_COUNT)


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

AGREEMENT = 0.85  # the sanity run's bar; the reference reaches 94-96%
CASES = "(T, alpha) = " + ", ".join(f"({t:g}, {a:g})" for t, a in LOSS_CASES)
TEMPERATURES = ", ".join(f"{t:g}" for t in SCALING_TEMPERATURES)


SPLIT_T = 4.0  # LOSS_CASES hold (SPLIT_T, 1) and (SPLIT_T, 0): the hard and the soft term alone


def _case(temperature: float, alpha: float) -> int:
    return LOSS_CASES.index((temperature, alpha))


def _loss_mistake(got: np.ndarray, want: np.ndarray) -> str:
    """What the loss values say about the mistake. At alpha = 1 the loss is the hard-label term
    alone, at alpha = 0 the soft term alone (both at T = SPLIT_T): which of them differs, and how."""
    hard, soft = _case(SPLIT_T, 1.0), _case(SPLIT_T, 0.0)
    close = lambda a, b: bool(np.isclose(a, b, rtol=1e-4, atol=1e-5))  # noqa: E731
    if close(got[hard], want[soft]) and close(got[soft], want[hard]):
        return ("alpha weighs the wrong term: alpha * hard-label cross-entropy + (1 - alpha) * the soft term, "
                "not the other way round")
    if not close(got[hard], want[hard]):
        return (f"at alpha = 1 (the hard-label term alone) your loss is {got[hard]:.4g}, expected {want[hard]:.4g}: the "
                "cross-entropy of the labels with the student's logits (Keras: from_logits=True; PyTorch: "
                "F.cross_entropy(logits, labels) takes logits), averaged over the batch")
    if close(got[soft], want[soft]):
        return "the hard and the soft term are right alone (alpha = 1, alpha = 0): mix them as alpha * hard + (1 - alpha) * soft"
    ratio = got[soft] / want[soft] if want[soft] else np.nan
    if np.isclose(ratio, 1 / SPLIT_T**2, rtol=1e-3):
        return "the soft term is 1/T**2 of the expected one: multiply it by temperature**2"
    if np.isclose(ratio, 1 / CLASSES, rtol=1e-3):
        return (f"the soft term is 1/{CLASSES} of the expected one (the number of classes): average the KL over the batch, "
                "not over every element (PyTorch: reduction='batchmean', not 'mean')")
    return (f"at alpha = 0 (the soft term alone, T = {SPLIT_T:g}) your loss is {got[soft]:.4g}, expected {want[soft]:.4g}: "
            "KL(teacher_T || student_T), both logits divided by T, times T**2, averaged over the batch")


@check(points=2, hint="At alpha = 1 the loss is the hard-label term alone, at alpha = 0 the soft term alone: "
                      "compare your function there with the formula in the notebook.")
def check_loss_values(got, want):
    """the loss matches the reference on fixed logits for several T and alpha"""
    values, reference = (np.asarray(v["values"], dtype=float) for v in (got["probe_loss_values"], want["probe_loss_values"]))
    if values.shape == reference.shape and not np.allclose(values, reference, rtol=1e-4, atol=1e-5):
        worst = int(np.argmax(np.abs(values - reference)))
        expect(False, f"loss for {CASES}: expected {np.round(reference, 4).tolist()}, got {np.round(values, 4).tolist()} "
                      f"(largest difference at (T, alpha) = ({LOSS_CASES[worst][0]:g}, {LOSS_CASES[worst][1]:g}): "
                      f"expected {reference[worst]:.4g}, got {values[worst]:.4g}); {_loss_mistake(values, reference)}")
    expect_close(values, reference, f"loss for {CASES}", rtol=1e-4, atol=1e-5)


@check(points=1, hint="Use log-softmax for both soft distributions; exp(log p) - never softmax then log.")
def check_large_logits(got, want):
    """logits of size 1000 give the right, finite loss (no overflow)"""
    large = got["probe_loss_values"]["large"]
    expect(np.isfinite(large), f"the loss for logits of size {LARGE_SCALE} is {large}: compute it from log-softmaxes")
    if not np.isclose(large, want["probe_loss_values"]["large"], rtol=1e-3, atol=1e-2):
        judged_only_if(_loss_right(got, want), "check_loss_values", "your loss differs on ordinary logits too")
    expect_close(large, want["probe_loss_values"]["large"], f"loss for logits of size {LARGE_SCALE}", rtol=1e-3, atol=1e-2)


@check(points=2, hidden=True, hint="Differentiate through the student's logits only; the teacher's are constants.")
def check_gradient(got, want):
    """the gradient with respect to the student's logits matches the reference"""
    gradient, reference = got["probe_gradient"]["gradient"], want["probe_gradient"]["gradient"]
    if not (np.shape(gradient) == np.shape(reference) and np.allclose(gradient, reference, rtol=1e-3, atol=1e-5)):
        judged_only_if(_loss_right(got, want), "check_loss_values", "the gradient of another loss differs anyway")
    expect_close(gradient, reference, "d loss / d student logits at T = {:g}, alpha = {:g}".format(*GRADIENT_CASE), rtol=1e-3, atol=1e-5)


@check(points=1, hint="The soft term's gradient keeps its size as T grows when both logits are divided by T and "
                      "the term is multiplied by T**2.")
def check_t_squared(got, want):
    """the soft term's gradient keeps its size as T grows (the T squared scaling), as the reference's does"""
    norms = np.asarray(got["probe_scaling"]["grad_norms"], dtype=float)
    relative = norms / np.asarray(want["probe_scaling"]["grad_norms"], dtype=float)  # 1 at every T for the reference
    shown = ", ".join(f"{n:.3g}" for n in norms)
    expect(np.isfinite(relative).all() and relative.min() > 0, f"gradient norms at T = {TEMPERATURES} are {shown}")
    growth = relative[-1] / relative[0]  # from the first T to the last: (first / last)**2 without T**2
    expect(growth > 1 / 2, f"gradient norms at T = {TEMPERATURES} are {shown}: they shrink as T grows, by about "
                           "1/T**2; multiply the soft term by temperature**2")
    expect(growth < 2, f"gradient norms at T = {TEMPERATURES} are {shown}: they grow with T; the T**2 is there, but the soft "
                       "targets are not softened alike: divide both the teacher's and the student's logits by T")


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
                 f"the student's weights after {STEP_COUNT} steps from the reference's weights on the same batches "
                 "(gradients left from the previous step add up unless they are zeroed: optimizer.zero_grad())",
                 rtol=1e-4, atol=1e-5)
    expect(np.isclose(step["loss"], reference["loss"], rtol=1e-4, atol=1e-5),
           f"from the same weights on the same {STEP_COUNT} batches your steps report a loss of {float(step['loss']):.4g}, the "
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
    problem = _sanity_problem(run, want["probe_sanity"])
    if problem:  # a run on a wrong loss says nothing of its own: that mistake is check_loss_values'
        judged_only_if(_loss_right(got, want), "check_loss_values", "the sanity run trains with your loss")
    expect(not problem, problem)


def _sanity_problem(run, reference) -> str:
    """What is wrong with the sanity run, or "" when it learned as it should."""
    losses = run["losses"]
    if not np.isfinite(losses).all():
        return "the loss became NaN or infinite"
    bar, why = loss_bar(reference["losses"], usual=0.5, most=0.6)
    if not losses[-1] <= bar * losses[0]:
        return f"the loss fell from {losses[0]:.3f} to {losses[-1]:.3f}; expected {bar:.0%} of the first or less{why}"
    agree = min(AGREEMENT, float(reference["agreement_after"]) - 0.05)  # the reference's run at this seed may reach less
    if not run["agreement_after"] >= agree:
        return (f"the student agrees with the teacher on {float(run['agreement_after']):.0%} of inputs; "
                f"expected at least {agree:.0%}")
    return ""
