"""What a checks.py file uses: the @check decorator and assertions that explain themselves.

Checks run in the grader's own process (checking.py), never beside learner code. They read the
plain data the probes returned: `got` (the learner's) and `want` (the reference's).
"""
import numpy as np
import pytest


def check(points: float = 1, hidden: bool = False, hint: str = ""):
    """Mark a check function: its points, whether learners see it before grading, a hint."""
    def mark(function):
        function.check = {"points": points, "hidden": hidden, "hint": hint}  # read by checking.load_checks
        return function
    return mark


class Probes:
    """The probes of one run: probes["probe_x"] is a dict of arrays, or fails the check
    with the error the learner's code met in that probe."""

    def __init__(self, values: dict, errors: dict, who: str):
        self.values, self.errors, self.who = values, errors, who

    def __getitem__(self, probe: str) -> dict:
        if probe in self.values:
            return self.values[probe]
        if self.who == "reference":
            raise RuntimeError(f"the reference failed in {probe}: {self.errors.get(probe)} (a course bug)")
        pytest.fail(f"your code failed here: {self.errors.get(probe, 'this step did not run')}", pytrace=False)


def describe(value, dtype: bool = True) -> str:
    """A short account of a value for feedback: numbers to 4 significant digits, never a whole
    array; dtype=False when the caller cast the values itself (the dtype is then not the learner's)."""
    array = np.asarray(value)
    if array.ndim == 0:
        item = array.item()
        return f"{item:.4g}" if isinstance(item, float) else repr(item)
    preview = np.array2string(array.ravel()[:4], precision=4, separator=", ")
    kind = f", dtype {array.dtype}" if dtype else ""
    return f"array of shape {array.shape}{kind}, starting {preview}"


def expect(condition, message: str) -> None:
    if not bool(condition):
        pytest.fail(message, pytrace=False)


def judged_only_if(inputs_ok, earlier_check: str, why: str) -> None:
    """Fail as "not judged" when an earlier check's failure broke this check's inputs, so a
    mistake is charged (and explained) once, by the check that names it."""
    expect(inputs_ok, f"not judged: see {earlier_check} ({why})")


def loss_bar(reference_losses, usual: float, most: float) -> tuple[float, str]:
    """The fraction of its first loss a sanity run must fall to, and why: `usual`; where the
    reference's own run at the same seed falls less far, twice the reference's fraction, up to
    `most` (the seed is drawn per batch: a bar the reference itself may miss would fail correct answers)."""
    losses = np.asarray(reference_losses, dtype=float)
    reached = float(losses[-1] / losses[0]) if losses.size and losses[0] > 0 else 0.0
    bar = min(most, max(usual, 2 * reached))
    why = "" if bar == usual else f" (the reference's own run reached {reached:.0%} at this seed)"
    return bar, why


def expect_equal(got, want, what: str) -> None:
    got_array, want_array = np.asarray(got), np.asarray(want)
    same = got_array.shape == want_array.shape and np.array_equal(got_array, want_array)
    expect(same, f"{what}: expected {describe(want)}, got {describe(got)}")


def expect_close(got, want, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    got_array, want_array = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    expect(got_array.shape == want_array.shape,
           f"{what}: expected shape {want_array.shape}, got shape {got_array.shape}")
    expect(np.allclose(got_array, want_array, rtol=rtol, atol=atol),
           f"{what}: expected {describe(want_array, dtype=False)}, got {describe(got_array, dtype=False)} "
           f"(tolerance rtol={rtol}, atol={atol}; {largest_difference(got_array, want_array)})")


def largest_difference(got, want) -> str:
    """Where the values differ most, so a learner can look there: the index, the reference's
    value and the learner's (arrays of one shape)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    difference = np.abs(got - want)
    if difference.ndim == 0:
        return f"difference {float(difference):.3g}"
    where = np.unravel_index(np.nanargmax(np.where(np.isnan(difference), np.inf, difference)), difference.shape)
    return (f"largest difference {float(difference[where]):.3g} at index {tuple(int(i) for i in where)}: "
            f"expected {float(want[where]):.4g}, got {float(got[where]):.4g}")
