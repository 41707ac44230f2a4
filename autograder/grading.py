"""Grade one submission: read -> extract -> run isolated -> check. Reports are report.py's.

A grade never fails with an exception (only an interrupt stops it): whatever goes wrong
becomes a Grade with every check at zero and `problem` saying why in one sentence, the
full error kept in `error` for the instructor.
"""
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from autograder import diagnosis
from autograder.checking import CheckResult, load_run, run_checks, save_run
from autograder.exercise import CourseError, Exercise, Variant
from autograder.extract import extract
from autograder.read import SubmissionError, read_submission
from autograder.sandbox import Interrupted, ProbeRun, run_isolated

HERE = Path(__file__).resolve().parent
# What runs a submission (the reference's cache key) and what scores it (a grade's key).
RUN_FILES = [HERE / n for n in ("child.py", "extract.py", "read.py", "sandbox.py", "worker.py", "zygote.py")]
ENGINE_FILES = RUN_FILES + [HERE / n for n in ("checking.py", "checkkit.py", "diagnosis.py", "grading.py")]
SEED_ENV = "AUTOGRADER_SEED"
MAX_ERROR = 20_000  # characters of a traceback kept in grade.json
# A grade's key: what decides it, and the words the summary uses when one part changed.
CHANGED = {
    "exercise": "the exercise changed",
    "submission": "the submission changed",
    "checks": "the checks changed",
    "probes": "the probes changed",
    "engine": "the grader changed",
    "library": "the course library (coursekit) changed",
    "reference": "the reference answer changed",
    "limits": "the time or memory limits changed",
    "seed": "the batch seed changed",
}


@dataclass
class Grade:
    learner: str  # as the file or folder is named (may hold any character; report.shown() displays it)
    exercise: str
    file: str
    sha256: str
    framework: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why parts could not be graded
    isolation: str = ""
    seconds: float = 0.0
    problem: str = ""  # "could not be graded: <why>" when nothing could be graded
    error: str = ""  # the full error behind `problem`, for the instructor (grade.json only)
    retry: bool = False  # the grader's failure, not the submission's: graded again on the next run
    folder: str = ""  # its reports' folder under --out
    key: dict = field(default_factory=dict)  # what decided this grade (see CHANGED)
    regraded: str = ""  # why this run graded it again
    flags: list[str] = field(default_factory=list)  # tampering the sandbox detected
    timings: dict = field(default_factory=dict)  # seconds by stage (ProbeRun.timings, "checks"): benchmarks only

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)

    def to_json(self) -> dict:
        return dict(asdict(self), score=self.score, max_score=self.max_score)

    @classmethod
    def from_json(cls, data: dict) -> "Grade":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        return cls(**dict(data, checks=[CheckResult(**c) for c in data.get("checks", [])]))


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _digest(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _library_files() -> list[Path]:
    import coursekit

    package = Path(coursekit.__file__).resolve().parent
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def grade_key(exercise: Exercise, submission_sha: str, seed: int) -> dict:
    """Everything that decides a grade; a stored grade whose key differs is graded again."""
    folder = exercise.folder
    return {
        "exercise": exercise.slug,
        "submission": submission_sha,
        "checks": _digest([exercise.checks_file, folder / "__init__.py", *folder.glob("samples.py")]),  # samples: diagnosis
        "probes": _digest(sorted(folder.glob("probes*.py"))),
        "engine": _digest(ENGINE_FILES),
        "library": _digest(_library_files()),
        "reference": _digest([exercise.solution(v) for v in exercise.variants]),
        "limits": hashlib.sha256(repr(exercise.limits).encode()).hexdigest()[:16],
        "seed": str(seed),
    }


def changes(old: dict, new: dict) -> list[str]:
    """Why a stored grade is stale, in words (empty: it still holds)."""
    return [CHANGED.get(part, f"the {part} changed") for part in new if old.get(part) != new[part]]


def batch_seed(cache: Path) -> int:
    """ctx["seed"] of a batch: $AUTOGRADER_SEED, else the one stored with the reference cache,
    else drawn now and stored there (a resumed batch uses the same seed)."""
    if os.environ.get(SEED_ENV):
        try:
            return int(os.environ[SEED_ENV])
        except ValueError:
            raise CourseError(f"{SEED_ENV}={os.environ[SEED_ENV]!r}: the seed must be a whole number") from None
    stored = cache / "seed.json"
    if not stored.exists():
        fd, draft = tempfile.mkstemp(dir=cache, prefix="partial-")
        with os.fdopen(fd, "w") as f:
            json.dump({"seed": secrets.randbelow(2**31)}, f)
        try:
            os.link(draft, stored)  # never replaces: a grader that drew first wins
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return int(json.loads(stored.read_text())["seed"])


def probe_submission(exercise: Exercise, path: Path, data: dict, seed: int = 0) -> tuple[Variant, ProbeRun, list[str]]:
    """Read, extract and run the probes; a broken file raises SubmissionError."""
    cells = read_submission(path)
    variant = exercise.variant_for(cells)
    extracted = extract(cells, list(variant.names))
    context = {"seed": seed, "data": {k: str(v) for k, v in data.items()}}
    run = run_isolated(extracted.source, extracted.line_map, exercise.probes_file(variant), context, exercise.limits)
    return variant, run, extracted.notes


def reference_run(exercise: Exercise, variant: Variant, data: dict, cache: Path, seed: int | None = None) -> Path:
    """The reference's probe run, by the same path as a learner's, cached by content and seed."""
    if stored := exercise.stored_reference(variant):  # the learner's kit: the run saved when it was built
        return stored

    def sound(run: ProbeRun, notes: list[str]) -> None:  # a failing reference is never kept
        if run.errors or notes:
            raise RuntimeError(f"the reference {exercise.solution(variant).name} fails its own probes: {run.errors or notes}")

    return cached_run(exercise, variant, exercise.solution(variant), data, cache, seed, sound)


def cached_run(exercise: Exercise, variant: Variant, notebook: Path, data: dict, cache: Path, seed: int | None = None,
               vet=lambda run, notes: None, wait: bool = True) -> Path | None:
    """A trusted notebook's probe run (the reference's, a known mistake's), by the same path as a
    learner's, made once per content and seed in `cache` (a lock per run: graders that need the same
    run at once wait for the first; with wait=False, None while another one is making it);
    `vet` may refuse a run (it raises) before it is kept."""
    seed = batch_seed(cache) if seed is None else seed
    folder = cache / f"{exercise.slug}-{variant.framework}-{run_key(exercise, variant, notebook, seed)}"
    if (folder / "run.json").exists():  # also in a cache this grader cannot write to
        return folder
    with open(cache / f"{folder.name}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        if not (folder / "run.json").exists():
            _, run, notes = probe_submission(exercise, notebook, data, seed)
            vet(run, notes)
            with tempfile.TemporaryDirectory(dir=cache, prefix="partial-") as tmp:
                save_run(run, Path(tmp) / "run")
                (Path(tmp) / "run" / "submission.json").write_text(json.dumps({"notes": notes, "flags": [str(f) for f in run.flags]}))
                try:
                    (Path(tmp) / "run").rename(folder)
                except OSError:  # another grader finished the same run first: same inputs, same result
                    if not (folder / "run.json").exists():
                        raise
    return folder


def load_cached_run(folder: Path) -> tuple[ProbeRun, list[str]]:
    """A cached run with its flags, and its extraction notes."""
    run = load_run(folder)
    saved = json.loads((folder / "submission.json").read_text()) if (folder / "submission.json").exists() else {}
    run.flags = saved.get("flags", [])
    return run, saved.get("notes", [])


def reference_key(exercise: Exercise, variant: Variant, seed: int) -> str:
    return run_key(exercise, variant, exercise.solution(variant), seed)


def run_key(exercise: Exercise, variant: Variant, notebook: Path, seed: int) -> str:
    """What a notebook's probe run depends on: its content, the probes, the engine that runs
    them, the course library the probes call, the limits and the seed."""
    common = exercise.probes_file(variant).with_name("probes_common.py")
    inputs = [notebook, exercise.probes_file(variant), *RUN_FILES, *_library_files()]
    if common.exists():
        inputs.append(common)
    return hashlib.sha256(f"{_digest(inputs)}-{exercise.limits!r}-{seed}".encode()).hexdigest()[:16]


def check_list(exercise: Exercise, want: Path) -> list[CheckResult]:
    """The exercise's checks (names, titles, points), from scoring the reference against itself
    once per reference run: the row of a submission that could not be graded lists them at 0."""
    saved = want / f"checks-{_digest([exercise.checks_file, HERE / 'checkkit.py'])}.json"
    if saved.exists():
        return [CheckResult(**c) for c in json.loads(saved.read_text())]
    checks = run_checks(exercise.checks_file, want, want)
    try:
        fd, draft = tempfile.mkstemp(dir=want, prefix="partial-")
        with os.fdopen(fd, "w") as f:
            json.dump([asdict(c) for c in checks], f)
        os.replace(draft, saved)
    except OSError:  # a read-only reference (the learner's kit): not cached
        pass
    return checks


def grade_submission(exercise: Exercise, path: Path, learner: str, data: dict, cache: Path,
                     visible_only: bool = False, seed: int | None = None) -> Grade:
    """The grade of one file; only an interrupt raises."""
    grade = Grade(learner, exercise.slug, Path(path).name, "")
    try:
        seed = batch_seed(cache) if seed is None else seed
        grade.sha256 = file_hash(path) if Path(path).is_file() else ""
        grade.key = grade_key(exercise, grade.sha256, seed)
        # a bundled sample: the reference's run, or the one made for diagnosis (same path, same seed)
        reused = _reference_copy(exercise, grade.sha256, data, cache, seed) or diagnosis.reused_run(exercise, path, data, cache, seed)
        variant, run, grade.notes = reused or probe_submission(exercise, path, data, seed)
        grade.framework, grade.isolation, grade.seconds = variant.framework, run.isolation, round(run.seconds, 2)
        grade.flags = [str(f) for f in getattr(run, "flags", None) or []]
        grade.timings = dict(run.timings)
        want = reference_run(exercise, variant, data, cache, seed)
        checking = time.perf_counter()
        grade.checks = diagnosis.diagnosed_checks(exercise, variant, run, want, data, cache, seed, visible_only)
        grade.timings["checks"] = round(time.perf_counter() - checking, 3)
        return grade
    except (Interrupted, CourseError):  # an interrupt, or the instructor's mistake (the CLI prints it)
        raise
    except SubmissionError as error:
        grade.notes = [str(error)]
        return could_not_grade(grade, _checks_or_none(exercise, data, cache, seed, visible_only), str(error))
    except Exception as error:
        return could_not_grade(grade, _checks_or_none(exercise, data, cache, seed, visible_only), explain(error),
                               error=traceback.format_exc()[-MAX_ERROR:], retry=True)


def _reference_copy(exercise: Exercise, sha256: str, data: dict, cache: Path, seed: int) -> tuple[Variant, ProbeRun, list[str]] | None:
    """The reference's run where a submission (its hash) is the reference notebook byte for byte; else None."""
    for variant in exercise.variants:
        try:
            solution = exercise.solution(variant)
        except CourseError:  # no course folder (the learner's kit)
            return None
        if not exercise.stored_reference(variant) and solution.is_file() and file_hash(solution) == sha256:
            return (variant, *load_cached_run(reference_run(exercise, variant, data, cache, seed)))
    return None


def _checks_or_none(exercise, data, cache, seed, visible_only) -> list[CheckResult]:
    try:
        checks = check_list(exercise, reference_run(exercise, exercise.variants[0], data, cache, seed))
    except Interrupted:
        raise
    except Exception:  # the reference itself is broken: the row has no checks, its error says why
        return []
    return [c for c in checks if not (visible_only and c.hidden)]


def could_not_grade(grade: Grade, checks: list[CheckResult], why: str, error: str = "", retry: bool = False) -> Grade:
    """Every check at zero, the row saying why."""
    grade.problem = f"could not be graded: {why}"
    grade.error, grade.retry = error or why, retry
    grade.checks = [CheckResult(c.name, c.title, 0, c.max_points, c.hidden, False, grade.problem, "") for c in checks]
    return grade


def explain(error: BaseException) -> str:
    """One sentence for an error the grader did not expect (the traceback goes to grade.json)."""
    if isinstance(error, RecursionError) and any(f.name.startswith("_rmtree") for f in traceback.extract_tb(error.__traceback__)):
        return "the folders its code left behind are nested too deeply for the grader to delete (Python's recursion limit)"
    if isinstance(error, RecursionError):
        return "it is nested too deeply, or an expression in it is too long, for the grader (Python's recursion limit)"
    if isinstance(error, UnicodeError):
        return f"some text in it cannot be handled as UTF-8 ({getattr(error, 'reason', error)})"
    if isinstance(error, MemoryError):
        return "the grader ran out of memory on it"
    first = (str(error).strip().splitlines() or [""])[0][:300]
    return f"the grader failed on it ({type(error).__name__}{': ' + first if first else ''}); grade.json holds the details"
