"""Diagnosis: when a learner's check fails, say which known mistake the results match.

The known mistakes are an exercise's bundled samples (checks/<slug>/samples.py; each Sample's
`mistake` is the learner-facing text). Their probe runs are made like the reference's, at
the batch's seed and in its cache (grading.cached_run), once per batch and only for samples
said to fail (Sample.fails) a check the learner failed, in either framework; a submission that is a sample byte for
byte reuses that run instead of probing again. A failed check is diagnosed
as a known mistake when that mistake fails the same check and every learner array the check
read (checking.judge says which) equals the mistake's within RTOL/ATOL, and the check read
at least one. Otherwise the check's own message (what was measured, where it differs) stays.
"""
import hashlib
import importlib
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autograder.checking import CheckResult, judge, load_saved_run
from autograder.exercise import CourseError, Exercise, Variant
from autograder.sandbox import ProbeRun

if TYPE_CHECKING:
    from autograder.generate import Sample

RTOL, ATOL = 1e-4, 1e-6  # relative and absolute tolerance of "the same array" (NaNs equal NaNs)


@dataclass(frozen=True)
class Known:
    """A known mistake's results: its probe run and the checks it fails."""

    name: str
    mistake: str
    run: ProbeRun
    failed: frozenset
    framework: str = ""


# ---- matching (pure) ----

def same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":  # booleans and numbers, as numbers
        return bool(np.allclose(a.astype(float), b.astype(float), rtol=RTOL, atol=ATOL, equal_nan=True))
    return a.dtype.kind == b.dtype.kind and bool(np.array_equal(a, b))  # text and anything else: exactly


def matches(check: str, reads: frozenset, got: ProbeRun, known: Known) -> bool:
    """Whether `known` fails `check` and holds what the learner's run held everywhere the check read."""
    if check not in known.failed or not any(key is not None for _, key in reads):
        return False
    for probe, key in reads:
        theirs = known.run.values.get(probe)
        if key is None:  # the check asked for a probe the learner's run lacks (the code failed there)
            if theirs is not None:
                return False
        elif theirs is None or key not in theirs or not same_array(got.values[probe][key], theirs[key]):
            return False
    return True


def diagnosis_text(matching: list[Known]) -> str:
    texts = list(dict.fromkeys(k.mistake or k.name for k in matching))
    if not texts:
        return ""
    if len(texts) == 1:
        return f"Your results match a known mistake: {texts[0]}"
    return "Your results match known mistakes, any of: " + "; ".join(texts)


def diagnose(judged: list[tuple[CheckResult, frozenset]], got: ProbeRun, known, framework: str = "") -> list[CheckResult]:
    """The records, each failed one with the known mistakes it matches. `known(checks)` gives the
    known mistakes' results that may fail those checks; it is called only for failed checks that
    read some of the learner's arrays (a "not judged" check is diagnosed where it points).
    The probes of both frameworks return the same facts, so a mistake made in the other framework
    counts too, where none of the learner's own framework matches (its words are the other's)."""
    failed = [(r, reads) for r, reads in judged if not r.passed and not r.message.startswith("not judged")
              and any(key is not None for _, key in reads)]
    mistakes = known({r.name for r, _ in failed}) if failed else []
    diagnosed = {}
    for result, reads in failed:
        matching = [k for k in mistakes if matches(result.name, reads, got, k)]
        own = [k for k in matching if k.framework == framework]
        diagnosed[id(result)] = diagnosis_text(own or matching)
    return [replace(r, diagnosis=diagnosed.get(id(r), "")) for r, _ in judged]


# ---- the known mistakes of an exercise ----

def known_notebooks(exercise: Exercise, variant: Variant) -> list[tuple[str, "Sample", str]]:
    """(name, Sample, notebook text) of each sample in this framework: the reference's
    notebook with the sample's replacements, as `autograder generate` writes it. None outside
    the instructor's course (the learner's kit has no samples and no solutions)."""
    from autograder.generate import mutate

    try:
        samples = importlib.import_module(f"autograder.checks.{exercise.slug}.samples").SAMPLES
    except ModuleNotFoundError:
        return []
    try:
        solution = exercise.solution(variant)
    except CourseError:  # no course folder
        return []
    if exercise.stored_reference(variant) or not solution.is_file():
        return []
    text = solution.read_text()
    return [(name, sample, _mutated(text, sample.replace, mutate))
            for name, sample in samples.items() if sample.framework == variant.framework]


_mutations: dict = {}


def _mutated(text: str, replacements, mutate) -> str:
    key = (hashlib.sha256(text.encode()).hexdigest(), replacements)
    if key not in _mutations:
        _mutations[key] = mutate(text, replacements)
    return _mutations[key]


def known_run(exercise: Exercise, variant: Variant, name: str, notebook: str, data: dict, cache: Path, seed: int,
              wait: bool = True) -> Path | None:
    """A known mistake's probe run folder, made at most once per cache and seed (with wait=False,
    None while another grader is making it)."""
    from autograder.grading import cached_run

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.ipynb"
        path.write_text(notebook)
        return cached_run(exercise, variant, path, data, cache, seed, wait=wait)


_failed_checks: dict = {}
_failed_lock = threading.Lock()


def known_mistakes(exercise: Exercise, data: dict, cache: Path, seed: int, checks: set[str]) -> list[Known]:
    """The known mistakes (of every framework) said to fail any of `checks` (Sample.fails: only
    their runs are made), with their runs and the checks they do fail against their own reference."""
    from autograder.grading import reference_run

    wanted = [(variant, name, sample, notebook) for variant in exercise.variants
              for name, sample, notebook in known_notebooks(exercise, variant) if sample.fails & checks]
    folders = {}
    for wait in (False, True):  # first the runs no other grader is making, then those: graders diagnosing at once share the work
        for variant, name, _, notebook in wanted:
            folder = folders.get((variant, name)) or known_run(exercise, variant, name, notebook, data, cache, seed, wait)
            if folder:
                folders[variant, name] = folder
    return [_known(exercise, variant, name, sample, folders[variant, name],
                   reference_run(exercise, variant, data, cache, seed)) for variant, name, sample, _ in wanted]


def _known(exercise, variant, name, sample, folder, want) -> Known:
    run = load_saved_run(folder)
    key = (str(folder), str(want), exercise.checks_file.read_bytes())
    with _failed_lock:
        if key not in _failed_checks:
            _failed_checks[key] = frozenset(r.name for r, _ in judge(exercise.checks_file, run, load_saved_run(want))
                                            if not r.passed)
    return Known(name, sample.mistake, run, _failed_checks[key], variant.framework)


def reused_run(exercise: Exercise, path: Path, data: dict, cache: Path, seed: int) -> tuple[Variant, ProbeRun, list[str]] | None:
    """A submission that is a known mistake's notebook byte for byte (the bundled samples the demo
    grades): the run made for diagnosis, with its extraction notes and flags; else None."""
    try:
        content = Path(path).read_bytes()
    except OSError:
        return None
    for variant in exercise.variants:
        for name, _, notebook in known_notebooks(exercise, variant):
            if notebook.encode() == content:
                from autograder.grading import load_cached_run

                return (variant, *load_cached_run(known_run(exercise, variant, name, notebook, data, cache, seed)))
    return None


def diagnosed_checks(exercise: Exercise, variant: Variant, run: ProbeRun, want: Path, data: dict, cache: Path,
                     seed: int, visible_only: bool = False) -> list[CheckResult]:
    """The learner's check records, each failed one naming the known mistake it matches."""
    judged = judge(exercise.checks_file, run, load_saved_run(want), visible_only)
    if visible_only:  # the self-check: quick, and the learner's kit knows no mistakes anyway
        return [result for result, _ in judged]
    return diagnose(judged, run, lambda checks: known_mistakes(exercise, data, cache, seed, checks), variant.framework)
