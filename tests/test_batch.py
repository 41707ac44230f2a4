"""A batch that always finishes and a gradebook that never lies (issue 15): every trigger
of the issue in ONE batch beside two correct submissions; resume keyed on what decides a
grade; another exercise's --out refused; one grader per --out."""
import csv
import dataclasses
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.batch import GRADEBOOK, LOCK, folder_name, grade_folder
from autograder.checking import CheckResult
from autograder.exercise import REPO, CourseError, Exercise, load_exercise
from autograder.grading import Grade, changes, grade_key, reference_key
from autograder.report import feedback_page, gradescope_results, spreadsheet_safe, summary_table

SOLUTION = REPO / "solutions" / "pytorch_data.ipynb"
NOT_JSON = b"{ this is not a notebook"


def _reference_code() -> str:
    cells = json.loads(SOLUTION.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return "\n\n".join(c for c in code if "self_check" not in c)


def _notebook(**changes) -> bytes:
    notebook = json.loads(SOLUTION.read_text())
    notebook.update(changes)
    return json.dumps(notebook).encode()


def _learners_copy(learner: str) -> bytes:
    """The reference as a learner's own file, probed like one (never the reference byte for
    byte, which is graded on the reference's run)."""
    return _notebook(metadata={**json.loads(SOLUTION.read_text())["metadata"], "learner": learner})


# Code that runs at import hangs off a module-level name the asked-for class uses.
SURROGATE_ERROR = '''
def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    raise ValueError("a lone surrogate \\ud800 in the message")
'''
DEEP_SCRATCH = '''
def _deep_chain():
    import os
    start = os.getcwd()
    for _ in range(1500):
        os.mkdir("d")
        os.chdir("d")
    os.chdir(start)
    return True

FashionMNISTDataset.deep = _deep_chain()
'''
ARRAY_NAMED_FILE = '''
def _add_file_array():
    import io, zipfile
    import numpy

    def savez(path, *args, **arrays):
        with zipfile.ZipFile(path, "w") as archive:
            for key, value in {**arrays, "file": numpy.zeros(1)}.items():
                buffer = io.BytesIO()
                numpy.save(buffer, numpy.asarray(value), allow_pickle=False)
                archive.writestr(key + ".npy", buffer.getvalue())
    numpy.savez = savez
    return True

FashionMNISTDataset.patched = _add_file_array()
'''


def triggers() -> dict[bytes, bytes]:
    """file name (bytes: one is Latin-1) -> content, one per trigger of issue 15."""
    deep = b'{"cells": [], "metadata": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b'}, "nbformat": 4, "nbformat_minor": 5}'
    numbers = json.loads(SOLUTION.read_text())
    numbers["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": [1, 2, 3]})
    reference = _reference_code()
    return {
        b"surrogate_error.py": (reference + SURROGATE_ERROR).encode(),
        b"deep_notebook.ipynb": deep,
        b"nbformat_string.ipynb": _notebook(nbformat="4"),
        b"numbers_source.ipynb": json.dumps(numbers).encode(),
        b"long_expression.py": reference.encode() + b"\n\nX = " + b"1+" * 200_000 + b"1\n",
        b"deep_scratch.py": (reference + DEEP_SCRATCH).encode(),
        b"array_named_file.py": (reference + ARRAY_NAMED_FILE).encode(),
        b"grades.csv.ipynb": NOT_JSON,
        b"Jos\xe9.ipynb": NOT_JSON,  # a Latin-1 file name
        b"...ipynb": NOT_JSON,  # learner ".."
        b".reference.ipynb": NOT_JSON,
        b'=HYPERLINK("x","click").ipynb': NOT_JSON,
        b"+1+2.ipynb": NOT_JSON,
        b"@SUM(A1).ipynb": NOT_JSON,
        b"-cmd.ipynb": NOT_JSON,
        b"back\\slash.ipynb": NOT_JSON,
        b"\x1b[31mred.ipynb": NOT_JSON,  # a terminal escape code
        b"dup.py": reference.encode(),
        b"dup.ipynb": SOLUTION.read_bytes(),
    }


def write_triggers(folder: Path, names=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in triggers().items():
        if names is None or name in names:
            (Path(os.fsdecode(folder)).joinpath(os.fsdecode(name))).write_bytes(content)


# ---- one batch: every trigger beside two correct submissions ----

CORRECT = ("alice", "bob")
FORMULA = ("=", "+", "@", "\t", "\r")
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(learner -> Grade, out, submissions): one batch of every trigger and two correct answers."""
    root = tmp_path_factory.mktemp("batch")
    submissions, out = root / "submissions", root / "out"
    write_triggers(submissions)
    for name in CORRECT:
        (submissions / f"{name}.ipynb").write_bytes(_learners_copy(name))
    grades = grade_folder(load_exercise("pytorch_data"), submissions, out, workers=2, progress=False)
    return {g.learner: g for g in grades}, out, submissions


def _learner(file_name: bytes) -> str:
    return os.fsdecode(file_name).rsplit(".", 1)[0]


def test_the_batch_finishes_with_a_row_for_every_learner(batch):
    grades, out, _ = batch
    assert set(grades) == {_learner(n) for n in triggers()} | set(CORRECT)
    for name in CORRECT:
        assert grades[name].score == grades[name].max_score == 12 and not grades[name].problem
    rows = list(csv.DictReader(open(out / GRADEBOOK, encoding="utf-8")))
    assert len(rows) == len(grades)


UNREADABLE = [n for n, content in triggers().items() if content == NOT_JSON]


@pytest.mark.parametrize("file_name", list(triggers()))
def test_each_trigger_has_its_own_explained_row(batch, file_name):
    """A file that cannot be graded says why (the grader's error kept for the instructor); one that
    can be graded in spite of the trigger has its full row, every lost point with its message."""
    grades, out, _ = batch
    grade = grades[_learner(file_name)]
    assert grade.max_score == 12
    if grade.problem:
        assert grade.problem.startswith("could not be graded: ") and len(grade.problem) > 30 and grade.score == 0
        assert all(c.message == grade.problem for c in grade.checks)
    else:
        assert all(c.message for c in grade.checks if not c.passed)
    stored = json.loads((out / grade.folder / "grade.json").read_text())
    assert stored["learner"] == grade.learner and stored["error"] == grade.error  # the original name, the full error
    results = (out / grade.folder / "results.json").read_text()
    assert "Traceback" not in results


@pytest.mark.parametrize("file_name", UNREADABLE + [b"dup.py"])
def test_a_file_that_cannot_be_read_is_a_zero_that_says_why(batch, file_name):
    grade = batch[0][_learner(file_name)]
    assert grade.problem.startswith("could not be graded: ") and grade.score == 0 and not grade.retry


def test_an_unexpected_error_keeps_its_traceback_for_the_instructor(batch):
    grades, out, _ = batch
    for learner in ("deep_scratch", "long_expression", "deep_notebook"):
        if grades[learner].retry:  # the grader's failure (not yet a SubmissionError): the full traceback
            assert "Traceback" in json.loads((out / learner / "grade.json").read_text())["error"]


def test_a_lone_surrogate_in_an_error_is_reported_not_fatal(batch):
    grades, out, _ = batch
    grade = grades["surrogate_error"]
    assert not grade.problem and 0 < grade.score < grade.max_score
    page = (out / "surrogate_error" / "feedback.html").read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert "\\ud800" in page
    results = (out / "surrogate_error" / "results.json").read_text()
    assert "\\ud800" not in results.replace("\\\\ud800", "")  # no lone surrogate escape a strict JSON reader rejects
    assert "savez" not in grades["array_named_file"].problem


def test_an_array_named_file_is_saved(tmp_path):
    import numpy as np

    from autograder.checking import load_run, save_run
    from autograder.sandbox import ProbeRun

    save_run(ProbeRun(values={"probe_x": {"file": np.arange(3)}}), tmp_path)
    assert load_run(tmp_path).values["probe_x"]["file"].tolist() == [0, 1, 2]


def test_reports_stay_in_their_own_folders_under_out(batch):
    grades, out, submissions = batch
    assert sorted(p.name for p in out.parent.iterdir()) == ["out", "submissions"]
    assert (out / GRADEBOOK).is_file()
    assert not list((out / ".reference").glob("**/grade.json"))
    folders = {g.folder for g in grades.values()}
    assert len(folders) == len(grades)
    for folder in folders:
        assert (out / folder / "grade.json").is_file() and (out / folder).parent == out
        assert not folder.startswith(".") and folder != GRADEBOOK and "/" not in folder
    assert grades[".."].folder == "%2E." and grades[".reference"].folder == "%2Ereference"
    assert grades["dup"].problem == "could not be graded: more than one file for this learner (dup.ipynb and dup.py); keep one and grade again"


def test_the_gradebook_opens_in_a_spreadsheet_as_text(batch):
    _, out, _ = batch
    with open(out / GRADEBOOK, encoding="utf-8", newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    for cell in cells:  # what a spreadsheet evaluates: =, +, @, tab, CR, or - before a non-digit
        assert not cell.startswith(FORMULA) and not (cell.startswith("-") and not cell[1:2].isdigit()), cell
    assert "'=HYPERLINK(\"x\",\"click\")" in cells and "'+1+2" in cells and "'@SUM(A1)" in cells and "'-cmd" in cells


def test_names_are_shown_escaped(batch):
    grades, out, _ = batch
    table = summary_table(list(grades.values()))
    assert "\x1b" not in table and "\\x1b[31mred" in table and "Jos\\xe9" in table
    table.encode("utf-8")  # no lone surrogate left
    assert "\x1b" not in (out / GRADEBOOK).read_text(encoding="utf-8")


def test_folder_names_are_distinct_and_safe():
    names = ["a", "a%", "a%25", ".a", "%2Ea", "grades.csv", "%67rades.csv", "a/b", "a%2Fb", os.fsdecode(b"\xe9"), "\xe9",
             "x" * 300, "x" * 301]
    folders = [folder_name(n) for n in names]
    assert len(set(folders)) == len(names)
    for folder in folders:
        assert not folder.startswith(".") and "/" not in folder and folder.casefold() != GRADEBOOK
        assert len(folder.encode()) <= 200 and folder.isprintable()


def test_spreadsheet_rule():
    assert [spreadsheet_safe(c) for c in ["=1", "+1", "@A", "\tx", "\rx", "-x", "-", "-1", "1-", "a=b"]] == \
        ["'=1", "'+1", "'@A", "'\tx", "'\rx", "'-x", "'-", "-1", "1-", "a=b"]


# ---- resume, refusal, lock, signals ----

@dataclasses.dataclass(frozen=True)
class _MovedChecks(Exercise):
    """The same exercise with its checks.py read from elsewhere."""
    moved: Path = Path()

    @property
    def checks_file(self) -> Path:
        return self.moved


def test_resume_keeps_what_holds_and_regrades_what_changed(batch, tmp_path, capsys):
    _, done, submissions = batch
    out, folder = tmp_path / "out", tmp_path / "submissions"
    shutil.copytree(done, out)
    folder.mkdir()
    for name in ("alice.ipynb", "+1+2.ipynb"):
        shutil.copy(submissions / name, folder / name)
    (out / "alice" / "grade.json.x1.part").write_text("half")  # what a killed run left
    (out / ".reference" / "partial-x1").mkdir()
    stamp = (out / "alice" / "grade.json").stat().st_mtime_ns
    exercise = load_exercise("pytorch_data")

    kept = grade_folder(exercise, folder, out, progress=False)
    assert "resuming: 2 already graded, 0 to go" in capsys.readouterr().err
    assert (out / "alice" / "grade.json").stat().st_mtime_ns == stamp and not any(g.regraded for g in kept)
    assert not list(out.glob("*/*.part")) and not list(out.glob(".reference/partial-*"))
    assert {r["learner"] for r in csv.DictReader(open(out / GRADEBOOK))} == {"alice", "'+1+2"}

    checks = tmp_path / "checks" / "checks.py"  # the same checks, check_length now worth 2 points
    checks.parent.mkdir()
    text = exercise.checks_file.read_text()
    checks.write_text(text.replace("@check(points=1, hint=\"__len__", "@check(points=2, hint=\"__len__", 1))
    assert checks.read_text() != text
    moved = _MovedChecks(**{f.name: getattr(exercise, f.name) for f in dataclasses.fields(exercise)}, moved=checks)
    regraded = {g.learner: g for g in grade_folder(moved, folder, out, progress=False)}
    assert "2 to regrade: the checks changed" in capsys.readouterr().err
    assert "2 regraded: the checks changed" in summary_table(list(regraded.values()))
    assert regraded["alice"].score == regraded["alice"].max_score == 13
    assert regraded["+1+2"].max_score == 13 and regraded["+1+2"].problem


def test_every_part_of_a_grade_s_key_is_named_when_it_changes(monkeypatch, tmp_path):
    exercise = load_exercise("pytorch_data")
    variant = exercise.variants[0]
    key, reference = grade_key(exercise, "abc", 1), reference_key(exercise, variant, 1)
    assert changes(key, grade_key(exercise, "abc", 1)) == []
    assert changes(key, grade_key(exercise, "abd", 1)) == ["the submission changed"]
    assert changes(key, grade_key(exercise, "abc", 2)) == ["the batch seed changed"]
    assert reference_key(exercise, variant, 2) != reference
    extra = tmp_path / "extra.py"
    extra.write_text("X = 1\n")
    import autograder.grading as grading

    library = grading._library_files()
    monkeypatch.setattr(grading, "_library_files", lambda: [*library, extra])
    assert changes(key, grade_key(exercise, "abc", 1)) == ["the course library (coursekit) changed"]
    assert reference_key(exercise, variant, 1) != reference
    slower = dataclasses.replace(exercise, limits=dataclasses.replace(exercise.limits, probe_s=1))
    monkeypatch.undo()
    assert changes(key, grade_key(slower, "abc", 1)) == ["the time or memory limits changed"]


def test_an_out_of_another_exercise_is_refused(batch):
    _, out, submissions = batch
    with pytest.raises(CourseError, match="holds grades of pytorch_data, not distillation"):
        grade_folder(load_exercise("distillation"), submissions, out, progress=False)


def test_a_second_grader_on_one_out_exits_with_a_message(batch):
    _, out, submissions = batch
    with open(out / LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(CourseError, match="another grader is writing to"):
            grade_folder(load_exercise("pytorch_data"), submissions, out, progress=False)


def _descendants(pid: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigterm_stops_like_ctrl_c_and_leaves_no_sandbox(batch, tmp_path):
    _, done, _ = batch
    folder, out = tmp_path / "submissions", tmp_path / "out"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.ipynb").write_bytes(_learners_copy(name))
    shutil.copytree(done / ".reference", out / ".reference")  # the reference runs and the batch seed
    command = [sys.executable, "-m", "autograder", "grade", "pytorch_data", str(folder), "--out", str(out), "--workers", "1"]
    grader = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sandboxes, deadline = set(), time.monotonic() + 300
    while not list(out.glob("*/grade.json")) and time.monotonic() < deadline and grader.poll() is None:
        sandboxes |= _descendants(grader.pid)
        time.sleep(0.2)
    while not _descendants(grader.pid) and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.2)  # the next learner's sandbox is starting
    sandboxes |= _descendants(grader.pid)
    grader.send_signal(signal.SIGTERM)
    output = grader.communicate(timeout=120)[0].decode()
    assert grader.returncode == 130 and "interrupted" in output and "run the same command again" in output, output
    assert sandboxes
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in sandboxes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in sandboxes if _alive(p)]
    assert 1 <= len(list(out.glob("*/grade.json"))) < 3


# ---- the learner's reports ----

def _grade(**changes) -> Grade:
    checks = [CheckResult("check_a", "a() works", 1, 1, False, True, "", ""),
              CheckResult("check_b", "b() is seeded", 0, 2, True, False, "expected `torch.Generator` got None", "use `seed`")]
    return dataclasses.replace(Grade("ann", "pytorch_data", "ann.ipynb", "", "torch", checks, isolation="namespace",
                                     seconds=3.4), **changes)


def test_feedback_page_fits_a_phone_and_shows_code():
    page = feedback_page(_grade())
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<code>torch.Generator</code>" in page and "<code>seed</code>" in page
    assert "px" not in page and "white-space:pre-wrap" in page  # no fixed widths; long lines wrap
    hostile = feedback_page(_grade(learner="<script>x\x1b\ud800", notes=["a <b> `c<d`"]))
    assert "<script>" not in hostile and "<code>c&lt;d</code>" in hostile and "\\x1b" in hostile
    hostile.encode("utf-8")


def test_results_json_in_gradescope_format():
    results = gradescope_results(_grade(flags=["wrote outside its scratch folder"]))
    assert results["score"] == 1 and results["execution_time"] == 3 and results["stdout_visibility"] == "hidden"
    assert [t["status"] for t in results["tests"]] == ["passed", "failed"]
    assert [t["visibility"] for t in results["tests"]] == ["visible", "after_published"]
    assert results["tests"][1]["max_score"] == 2 and "Hint: use `seed`" in results["tests"][1]["output"]
    assert "isolation" not in results["output"] and results["extra_data"]["isolation"] == "namespace"
    assert "wrote outside its scratch folder" in results["output"]
