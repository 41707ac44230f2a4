"""Hostile submissions, graded in one batch: each loses the checks it attacks, none
raises its score, and the batch carries on."""
import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from autograder.batch import grade_folder
from autograder.exercise import REPO, load_exercise
from autograder.read import read_submission
from autograder.sandbox import Limits

HOSTILE = Path(__file__).parent / "hostile"
ALL = "all"
LOADER = {"check_loader_batches", "check_loader_reproducible", "check_loader_seed_matters", "check_training_sanity"}
TRANSFORM = {"check_normalise", "check_augment", "check_loader_batches", "check_training_sanity"}
FAILS = {
    "exit_at_import.py": ALL,
    "os_exit_at_import.py": ALL,
    "exit_in_function.py": TRANSFORM | LOADER,
    "endless_loop.py": LOADER,
    "memory_bomb.py": TRANSFORM,
    "monkeypatch.py": ALL,
    "forge_results.py": ALL,
    "read_solutions.py": ALL,
    "spawn_subprocess.py": {"check_normalise", "check_augment"},  # returns None: the dataset falls back to no transform
    "not_json.ipynb": ALL,
    "nbformat3.ipynb": ALL,
}
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="hiding the answers needs root (namespace isolation)")


def _reference_code() -> str:
    cells = read_submission(REPO / "solutions" / "pytorch_data.ipynb")
    return "\n\n".join(c.source for c in cells if "self_check" not in c.source)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for path in HOSTILE.iterdir():
        text = path.read_bytes()
        if text.startswith(b"# appended to the reference"):
            text = _reference_code().encode() + b"\n\n" + text
        if path.suffix in (".py", ".ipynb"):
            (folder / path.name).write_bytes(text)
    exercise = dataclasses.replace(load_exercise("pytorch_data"), limits=Limits(import_s=90, probe_s=20, memory_mb=3000))
    out = tmp_path_factory.mktemp("grades")
    grades = grade_folder(exercise, folder, out, workers=2, progress=False)
    return {g.file: g for g in grades}, out


def test_every_hostile_file_is_listed():
    assert {p.name for p in HOSTILE.iterdir() if p.suffix in (".py", ".ipynb")} == set(FAILS)


@needs_root
@pytest.mark.parametrize("name", sorted(FAILS))
def test_hostile_submission_loses_exactly_the_attacked_checks(graded, name):
    grade = graded[0][name]
    failed = {c.name for c in grade.checks if not c.passed}
    if FAILS[name] == ALL:
        assert grade.score == 0 and len(failed) == len(grade.checks) == 11
    else:
        assert failed == FAILS[name]


def test_broken_files_are_explained(graded):
    assert "not a valid notebook" in graded[0]["not_json.ipynb"].notes[0]
    assert "nbformat 3" in graded[0]["nbformat3.ipynb"].notes[0]


def test_limits_are_named_in_feedback(graded):
    grades = graded[0]
    messages = lambda name: " ".join(c.message for c in grades[name].checks)
    assert "time limit" in messages("endless_loop.py")
    assert "memory" in messages("memory_bomb.py").lower()
    assert "exit" in messages("exit_at_import.py")


def test_forged_results_are_ignored(graded):
    grades, out = graded
    results = json.loads((out / "forge_results" / "results.json").read_text())
    assert results["score"] == 0
    assert not (REPO / "grades" / "results.json").exists()


def test_no_process_outlives_its_grading(graded):
    leftovers = subprocess.run(["pgrep", "-f", "hostile-leftover"], capture_output=True, text=True).stdout
    assert leftovers == ""
