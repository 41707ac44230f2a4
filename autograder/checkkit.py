"""What a checks.py file uses: the @check decorator and assertions that explain themselves.

Checks run in the grader's pytest process, never beside learner code. They read the
plain data the probes returned: `got` (the learner's) and `want` (the reference's).
"""
import numpy as np
import pytest


def check(points: float = 1, hidden: bool = False, hint: str = ""):
    """Mark a check function: its points, whether learners see it before grading, a hint."""
    return pytest.mark.check(points=points, hidden=hidden, hint=hint)


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


def describe(value) -> str:
    array = np.asarray(value)
    if array.ndim == 0:
        return repr(array.item())
    preview = np.array2string(array.ravel()[:6], precision=4, separator=", ")
    return f"array of shape {array.shape}, dtype {array.dtype}, starting {preview}"


def expect(condition, message: str) -> None:
    if not bool(condition):
        pytest.fail(message, pytrace=False)


def expect_equal(got, want, what: str) -> None:
    got_array, want_array = np.asarray(got), np.asarray(want)
    same = got_array.shape == want_array.shape and np.array_equal(got_array, want_array)
    expect(same, f"{what}: expected {describe(want)}, got {describe(got)}")


def expect_close(got, want, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    got_array, want_array = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    expect(got_array.shape == want_array.shape,
           f"{what}: expected shape {want_array.shape}, got shape {got_array.shape}")
    expect(np.allclose(got_array, want_array, rtol=rtol, atol=atol),
           f"{what}: expected {describe(want)}, got {describe(got)} (tolerance rtol={rtol}, atol={atol}; "
           f"largest difference {np.max(np.abs(got_array - want_array)):.3g})")
