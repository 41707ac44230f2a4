"""The grading engine, proven on the PyTorch data exercise: feedback, isolation, reports,
resume after an interrupt, the main job, the self-check, generated files in sync."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.exercise import REPO, exercise_slugs
from autograder.sandbox import isolation_level

SLUG = "pytorch_data"
ENV = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, main_job):
    from test_exercises import graded as grade_all

    return grade_all(SLUG, tmp_path_factory, main_job)


def test_feedback_names_the_problem(graded):
    grades = graded
    syntax = grades["syntax_error"]
    assert any("cell" in note and "skipped" in note for note in syntax.notes), syntax.notes
    missing = grades["missing_function"]
    assert any("`make_loader` is not defined" in note for note in missing.notes)
    normalise = next(c for c in grades["no_normalise"].checks if c.name == "check_normalise")
    assert "expected" in normalise.message and "got" in normalise.message and normalise.hint


def test_sanity_run_reports_its_device(graded):
    sanity = next(c for c in graded["reference"].checks if c.name == "check_training_sanity")
    assert "on cpu" in sanity.message or "on cuda" in sanity.message


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="full isolation needs root on Linux")
def test_learner_code_ran_fully_isolated(graded):
    assert isolation_level() == "root"
    assert {g.isolation.split(":")[0] for g in graded.values() if g.isolation} == {"bubblewrap (root)"}


def test_reports_are_written(main_job):
    out = main_job[0] / SLUG
    rows = list(csv.DictReader(open(out / "grades.csv")))
    samples = {p.stem for p in (REPO / "autograder" / "samples" / SLUG).glob("*.ipynb")}
    assert {r["learner"] for r in rows} == samples
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


def test_main_job_grades_the_bundled_samples(main_job):
    out, done = main_job
    assert done.returncode == 0, done.stderr
    for slug in exercise_slugs():
        assert f"== {slug}:" in done.stdout and (out / slug / "grades.csv").exists()
    assert "reference" in done.stdout and "12/12" in done.stdout and "0/12" in done.stdout


def test_self_check_runs_only_visible_checks(tmp_path):
    notebook = tmp_path / f"{SLUG}.ipynb"
    shutil.copy(REPO / "autograder" / "samples" / SLUG / "no_normalise.ipynb", notebook)
    done = subprocess.run([sys.executable, "-m", "autograder", "check", str(notebook)],
                          env=ENV, capture_output=True, text=True)
    assert done.returncode == 1 and "check_normalise" in done.stderr, done.stderr  # a failed check: exit 1, named
    assert "[FAIL] make_transform() gives a normalised float32 tensor" in done.stdout
    assert "augment=True flips" not in done.stdout  # hidden
    assert "6/7 points" in done.stdout
