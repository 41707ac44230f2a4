"""Grade one submission: read -> extract -> run isolated -> check. Reports are report.py's."""
import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.checking import CheckResult, run_checks, save_run
from autograder.exercise import Exercise, Variant
from autograder.extract import extract
from autograder.read import SubmissionError, read_submission
from autograder.sandbox import ProbeRun, run_isolated

ENGINE_FILES = [Path(__file__).with_name(n) for n in ("child.py", "extract.py", "sandbox.py")]


@dataclass
class Grade:
    learner: str
    exercise: str
    file: str
    sha256: str
    framework: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why parts could not be graded
    isolation: str = ""
    seconds: float = 0.0

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
        data = {k: v for k, v in data.items() if k not in ("score", "max_score")}
        return cls(**dict(data, checks=[CheckResult(**c) for c in data["checks"]]))


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def probe_submission(exercise: Exercise, path: Path, data: dict) -> tuple[Variant, ProbeRun, list[str]]:
    """Read, extract and run the probes; a broken file raises SubmissionError."""
    cells = read_submission(path)
    variant = exercise.variant_for(cells)
    extracted = extract(cells, list(variant.names))
    context = {"seed": 0, "data": {k: str(v) for k, v in data.items()}}
    run = run_isolated(extracted.source, extracted.line_map, exercise.probes_file(variant), context, exercise.limits)
    return variant, run, extracted.notes


def reference_run(exercise: Exercise, variant: Variant, data: dict, cache: Path) -> Path:
    """The reference's probe run, by the same path as a learner's, cached by content."""
    if stored := exercise.stored_reference(variant):  # the learner's kit: the run saved when it was built
        return stored
    common = exercise.probes_file(variant).with_name("probes_common.py")
    inputs = [exercise.solution(variant), exercise.probes_file(variant), *ENGINE_FILES]
    if common.exists():
        inputs.append(common)
    key = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()[:16]
    folder = cache / f"{exercise.slug}-{variant.framework}-{key}"
    if not (folder / "run.json").exists():
        _, run, notes = probe_submission(exercise, exercise.solution(variant), data)
        if run.errors or notes:
            raise RuntimeError(f"the reference {exercise.solution(variant).name} fails its own probes: {run.errors or notes}")
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            save_run(run, Path(tmp) / "run")
            (Path(tmp) / "run").rename(folder)
    return folder


def grade_submission(exercise: Exercise, path: Path, learner: str, data: dict, cache: Path,
                     visible_only: bool = False) -> Grade:
    grade = Grade(learner, exercise.slug, Path(path).name, file_hash(path) if Path(path).is_file() else "")
    try:
        variant, run, grade.notes = probe_submission(exercise, path, data)
    except SubmissionError as error:
        grade.notes = [str(error)]
        return _all_failed(grade, exercise, data, cache, str(error), visible_only)
    grade.framework, grade.isolation, grade.seconds = variant.framework, run.isolation, round(run.seconds, 2)
    want = reference_run(exercise, variant, data, cache)
    with tempfile.TemporaryDirectory() as tmp:
        save_run(run, Path(tmp))
        grade.checks = run_checks(exercise.checks_file, Path(tmp), want, visible_only)
    return grade


def _all_failed(grade: Grade, exercise: Exercise, data: dict, cache: Path, why: str, visible_only: bool) -> Grade:
    """Every check at zero, each saying why (a file we could not read at all)."""
    variant = exercise.variants[0]
    want = reference_run(exercise, variant, data, cache)
    with tempfile.TemporaryDirectory() as tmp:
        names = json.loads((want / "run.json").read_text())["probes"]
        save_run(ProbeRun(errors={p: why for p in names}), Path(tmp))
        grade.checks = run_checks(exercise.checks_file, Path(tmp), want, visible_only)
    return grade
