"""book/instructors.md's "Exercises" and "Grading" blocks, run as written, in order, from the root
of a copy of the course that stands for the instructor's clone (AUTOGRADER_COURSE points the
installed grader at it, as an editable install from that clone would).

The Exercises block regenerates exercises/ and the bundled samples from solutions/: the copy's
files must come out byte for byte as committed (the same proof as `generate --check`, which the
block runs last). The Grading block grades a class folder of two learners."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.exercise import REPO
from instructors_doc import blocks, run_block


def _course_copy(root: Path) -> None:
    """The course's tracked files as they are in this checkout (a clone's working tree)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)


@pytest.fixture
def clone(tmp_path):
    root = tmp_path / "dl-course"
    _course_copy(root)
    env = dict(os.environ, AUTOGRADER_COURSE=str(root), COURSEKIT_OFFLINE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return root, env


def _generated(root: Path) -> dict[str, bytes]:
    folders = [root / "exercises", root / "autograder" / "samples"]
    return {str(p.relative_to(root)): p.read_bytes() for f in folders for p in sorted(f.rglob("*.ipynb"))}


@pytest.mark.slow
def test_exercises_block_as_written(clone):
    root, env = clone
    committed = _generated(root)
    for path in (root / "exercises").glob("*.ipynb"):
        path.unlink()  # generate must write them, not find them
    ((who, script),) = blocks("Exercises")
    assert who == "instructor"
    done = run_block(script, root, env)
    assert "unet_keras" in done.stdout and "pytorch_data" in done.stdout  # list: the assignment names
    assert "nbgrader generate_assignment: solutions/unet_torch.ipynb" in done.stdout  # progress, step by step
    assert _generated(root) == committed, "autograder generate does not reproduce the committed exercises/ and samples"


@pytest.mark.slow
def test_grading_block_as_written(clone):
    root, env = clone
    class_folder = root / "submissions"
    class_folder.mkdir()
    samples = root / "autograder" / "samples" / "pytorch_data"
    shutil.copy(samples / "reference.ipynb", class_folder / "alice.ipynb")
    (class_folder / "bob").mkdir()
    shutil.copy(samples / "no_normalise.ipynb", class_folder / "bob" / "pytorch_data.ipynb")
    ((who, script),) = blocks("Grading")
    assert who == "instructor"
    run_block(script, root, dict(env, AUTOGRADER_SEED="0"))

    grades = root / "grades"
    with open(grades / "grades.csv", newline="") as f:
        rows = {row["learner"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob"}
    alice = json.loads((grades / "alice" / "results.json").read_text())
    assert alice["score"] == sum(test["max_score"] for test in alice["tests"]) > 0
    bob = json.loads((grades / "bob" / "grade.json").read_text())
    failed = {check["name"] for check in bob["checks"] if not check["passed"]}
    assert failed == {"check_normalise"}
    (title,) = [check["title"] for check in bob["checks"] if not check["passed"]]
    assert title.split()[0] in (grades / "bob" / "feedback.html").read_text()
