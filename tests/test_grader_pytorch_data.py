"""The PyTorch data exercise graded end to end: samples, wrong answers, resume, CLI."""
import csv
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.batch import grade_folder
from autograder.exercise import REPO, load_exercise
from autograder.generate import mutate
from autograder.sandbox import isolation_level
from wrong_answers.pytorch_data import WRONG

SLUG = "pytorch_data"
SAMPLES = importlib.import_module(f"autograder.checks.{SLUG}.samples").SAMPLES
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Samples and wrong answers, graded in one batch with two workers."""
    folder = tmp_path_factory.mktemp("submissions")
    for sample in (REPO / "autograder" / "samples" / SLUG).glob("*.ipynb"):
        shutil.copy(sample, folder)
    reference = (REPO / "solutions" / f"{SLUG}.ipynb").read_text()
    for name, wrong in WRONG.items():
        (folder / f"{name}.ipynb").write_text(mutate(reference, wrong.replace))
    out = tmp_path_factory.mktemp("grades")
    grades = grade_folder(load_exercise(SLUG), folder, out, workers=2, progress=False)
    return {g.learner: g for g in grades}, out


def failed(grade) -> set:
    return {c.name for c in grade.checks if not c.passed}


def test_reference_scores_full_marks(graded):
    grade = graded[0]["reference"]
    assert failed(grade) == set(), [c.message for c in grade.checks if not c.passed]
    assert grade.score == grade.max_score == 12


def test_blank_exercise_scores_zero_without_crashing(graded):
    grade = graded[0]["blank"]
    assert grade.score == 0 and len(grade.checks) == 11
    assert all("NotImplementedError" in c.message for c in grade.checks)


@pytest.mark.parametrize("name", sorted(SAMPLES) + sorted(WRONG))
def test_wrong_answer_loses_exactly_its_checks(graded, name):
    grade = graded[0][name]
    expected = (SAMPLES.get(name) or WRONG[name]).fails
    assert failed(grade) == expected
    assert grade.score == grade.max_score - sum(c.max_points for c in grade.checks if c.name in expected)


def test_every_check_rejects_some_wrong_answer(graded):
    checks = {c.name for c in graded[0]["reference"].checks}
    rejected = set().union(*(s.fails for s in [*SAMPLES.values(), *WRONG.values()]))
    assert checks == rejected


def test_feedback_names_the_problem(graded):
    grades = graded[0]
    syntax = grades["syntax_error"]
    assert any("cell" in note and "skipped" in note for note in syntax.notes), syntax.notes
    missing = grades["missing_function"]
    assert any("`make_loader` is not defined" in note for note in missing.notes)
    normalise = next(c for c in grades["no_normalise"].checks if c.name == "check_normalise")
    assert "expected" in normalise.message and "got" in normalise.message and normalise.hint


def test_sanity_run_reports_its_device(graded):
    sanity = next(c for c in graded[0]["reference"].checks if c.name == "check_training_sanity")
    assert "on cpu" in sanity.message or "on cuda" in sanity.message


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="full isolation needs root on Linux")
def test_learner_code_ran_fully_isolated(graded):
    assert isolation_level() == "namespace"
    assert {g.isolation for g in graded[0].values() if g.isolation} == {"namespace"}


def test_reports_are_written(graded):
    grades, out = graded
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert {r["learner"] for r in rows} == set(grades)
    results = (out / "reference" / "results.json").read_text()
    assert '"visibility": "after_published"' in results and '"max_score": 2' in results
    assert "12 / 12" in (out / "reference" / "feedback.html").read_text()


def _grade_command(submissions: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", SLUG, str(submissions), "--out", str(out), "--workers", "1"]


def test_interrupted_grade_resumes_to_the_same_csv(tmp_path):
    submissions = REPO / "autograder" / "samples" / SLUG
    whole = tmp_path / "whole"
    subprocess.run(_grade_command(submissions, whole), check=True, env=ENV, capture_output=True)
    cut = tmp_path / "cut"
    process = subprocess.Popen(_grade_command(submissions, cut), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while len(list(cut.glob("*/grade.json"))) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0].decode()
    assert process.returncode == 130, output
    assert "interrupted" in output
    graded_before = {p.parent.name: p.stat().st_mtime for p in cut.glob("*/grade.json")}
    assert 2 <= len(graded_before) < 5
    resumed = subprocess.run(_grade_command(submissions, cut), check=True, env=ENV, capture_output=True, text=True)
    assert f"resuming: {len(graded_before)} already graded" in resumed.stderr
    assert all((cut / name / "grade.json").stat().st_mtime == t for name, t in graded_before.items())
    assert (cut / "grades.csv").read_text() == (whole / "grades.csv").read_text()


def test_main_job_grades_the_bundled_samples(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "--out", str(tmp_path)],
                          env=ENV, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "reference" in done.stdout and "12/12" in done.stdout and "0/12" in done.stdout
    assert (tmp_path / SLUG / "grades.csv").exists()


def test_self_check_runs_only_visible_checks(tmp_path):
    notebook = tmp_path / f"{SLUG}.ipynb"
    shutil.copy(REPO / "autograder" / "samples" / SLUG / "no_normalise.ipynb", notebook)
    done = subprocess.run([sys.executable, "-m", "autograder", "check", str(notebook)],
                          env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "[FAIL] make_transform() gives a normalised float32 tensor" in done.stdout
    assert "augment=True flips" not in done.stdout  # hidden
    assert "6/7 points" in done.stdout


def test_generated_files_are_in_sync():
    done = subprocess.run([sys.executable, "-m", "autograder", "generate", "--check"], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
