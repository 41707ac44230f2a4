"""Score a probe run: the exercise's checks, called in the grader's own process.

The checks are the course's own code and judge plain arrays (loaded with allow_pickle=False);
no learner code is ever loaded here. Each `check_*` function of checks.py is called in file
order with the arguments it names (`got`, `want`, `note`), under its `@check(points, hidden,
hint)` metadata; `judge` also says which probe arrays each check read (for diagnosis.py).
"""
import importlib.util
import hashlib
import inspect
import json
import threading
import traceback
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from _pytest.outcomes import Failed, OutcomeException

from autograder.checkkit import Probes
from autograder.exercise import CourseError
from autograder.sandbox import ProbeRun

ARGUMENTS = {"got", "want", "note"}
MAX_MESSAGE = 3000


@dataclass
class CheckResult:
    name: str
    title: str
    points: float
    max_points: float
    hidden: bool
    passed: bool
    message: str  # what went wrong (expected, got), or notes on a pass
    hint: str
    diagnosis: str = ""  # the known mistake these results match (diagnosis.py), if any


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    points: float
    hidden: bool
    hint: str
    function: object
    arguments: tuple[str, ...]


def save_run(run: ProbeRun, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for probe, arrays in run.values.items():
        _save_arrays(folder / f"{probe}.npz", arrays)
    meta = {"errors": run.errors, "isolation": run.isolation, "seconds": run.seconds, "probes": sorted(run.values)}
    (folder / "run.json").write_text(json.dumps(meta, indent=1))


def _save_arrays(path: Path, arrays: dict) -> None:
    """np.savez(path, **arrays), which fails on an array named `file` (its own parameter)."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def load_run(folder: Path) -> ProbeRun:
    meta = json.loads((folder / "run.json").read_text())
    values = {}
    for probe in meta["probes"]:
        with np.load(folder / f"{probe}.npz", allow_pickle=False) as archive:
            values[probe] = {key: archive[key] for key in archive.files}
    return ProbeRun(values, meta["errors"], meta["isolation"], meta["seconds"])


def load_saved_run(folder: Path) -> ProbeRun:
    """load_run for a cached run that never changes once written (a reference's, a known mistake's):
    read once per process, its arrays read-only since every grade shares them."""
    stamp = (Path(folder) / "run.json").stat().st_mtime_ns
    return _load_once(str(Path(folder).resolve()), stamp)


@lru_cache(maxsize=32)
def _load_once(folder: str, stamp: int) -> ProbeRun:
    run = load_run(Path(folder))
    for arrays in run.values.values():
        for array in arrays.values():
            array.flags.writeable = False
    return run


def run_checks(checks_file: Path, got: Path, want: Path, visible_only: bool = False) -> list[CheckResult]:
    """The records of every check (the visible ones only, with visible_only) on two saved runs."""
    return [result for result, _ in judge(checks_file, load_run(got), load_saved_run(want), visible_only)]


def judge(checks_file: Path, got: ProbeRun, want: ProbeRun, visible_only: bool = False) -> list[tuple[CheckResult, frozenset]]:
    """(record, reads) per check: reads holds (probe, key) for each of the learner's arrays the
    check read, and (probe, None) for each probe it asked for that the learner's run lacks."""
    judged = []
    for check in load_checks(checks_file):
        if visible_only and check.hidden:
            continue
        judged.append(_call(check, got, Probes(want.values, want.errors, "reference")))
    return judged


def _call(check: Check, got: ProbeRun, want: Probes) -> tuple[CheckResult, frozenset]:
    reads, notes = set(), []
    given = {"got": Probes(_ReadRun(got.values, reads), got.errors, "learner"), "want": want, "note": notes.append}
    try:
        check.function(**{name: given[name] for name in check.arguments})
        passed, message = True, "\n".join(notes)
    except (Failed, AssertionError) as failure:  # the check's verdict on the learner's results
        passed, message = False, _failure_text(failure)
    except (Exception, OutcomeException) as error:  # a bug of the check (OutcomeException: a pytest.skip, ...)
        passed, message = False, _crash_text(check, error)
    result = CheckResult(check.name, check.title, check.points if passed else 0, check.points, check.hidden,
                         passed, message[:MAX_MESSAGE], check.hint)
    return result, frozenset(reads)


def _failure_text(failure: BaseException) -> str:
    """As pytest reported it: the message of a pytest.fail, 'AssertionError: ...' for an assertion."""
    text = "".join(traceback.format_exception_only(type(failure), failure)).rstrip()
    return text.removeprefix("Failed: ")


def _crash_text(check: Check, error: BaseException) -> str:
    first = (traceback.format_exception_only(type(error), error)[-1]).strip()
    return (f"not judged: the grader's own check {check.name} crashed ({first[:500]}). This is a fault in the "
            "course's checks, not in your code: please tell your instructor.")


class _ReadRun(dict):
    """A run's probes as the checks see them, noting each probe asked for that the run lacks."""

    def __init__(self, values: dict, reads: set):
        super().__init__({probe: _ReadProbe(arrays, probe, reads) for probe, arrays in values.items()})
        self._reads = reads

    def __contains__(self, probe) -> bool:
        found = super().__contains__(probe)
        if not found:
            self._reads.add((probe, None))
        return found

    def get(self, probe, default=None):
        return self[probe] if probe in self else default


class _ReadProbe(dict):
    """One probe's arrays, noting each key a check reads (iterating reads them all)."""

    def __init__(self, arrays: dict, probe: str, reads: set):
        super().__init__(arrays)
        self._probe, self._reads = probe, reads

    def __getitem__(self, key):
        self._reads.add((self._probe, key))
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def _read_all(self):
        self._reads.update((self._probe, key) for key in super().keys())

    def __iter__(self):
        self._read_all()
        return super().__iter__()

    def keys(self):
        self._read_all()
        return super().keys()

    def values(self):
        self._read_all()
        return super().values()

    def items(self):
        self._read_all()
        return super().items()


_loading = threading.Lock()


def load_checks(checks_file: Path) -> tuple[Check, ...]:
    """The checks of a checks.py, in file order; imported once per content."""
    text = Path(checks_file).read_bytes()
    with _loading:
        return _import_checks(str(Path(checks_file).resolve()), hashlib.sha256(text).hexdigest())


@lru_cache(maxsize=None)
def _import_checks(path: str, digest: str) -> tuple[Check, ...]:
    spec = importlib.util.spec_from_file_location(f"autograder_checks_{digest[:16]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    functions = [(name, f) for name, f in vars(module).items()
                 if name.startswith("check_") and inspect.isfunction(f) and f.__module__ == module.__name__]
    unmarked = [name for name, f in functions if _mark(f) is None]
    if unmarked:
        raise CourseError(f"{path}: checks without @check: {unmarked}")
    checks = []
    for name, function in functions:
        arguments = tuple(inspect.signature(function).parameters)
        if unknown := set(arguments) - ARGUMENTS:
            raise CourseError(f"{path}: {name} asks for {sorted(unknown)}; a check takes only got, want and note")
        meta = _mark(function)
        checks.append(Check(name, _title(function, name), meta.get("points", 1), bool(meta.get("hidden")),
                            meta.get("hint", ""), function, arguments))
    return tuple(checks)


def _mark(function) -> dict | None:
    """The arguments of the function's @check (checkkit.check)."""
    meta = getattr(function, "check", None)
    return meta if isinstance(meta, dict) else None


def _title(function, name: str) -> str:
    """The docstring's whole first sentence (it may run over several lines), or the check's name."""
    text = " ".join((function.__doc__ or name).split())
    return text.split(". ")[0].rstrip(".")
