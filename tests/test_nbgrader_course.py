"""nbgrader on JupyterHub, exactly as book/instructors.md tells it: every command block of its
nbgrader section runs, in order, in a temporary course outside the repository."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.exercise import REPO, CourseError
from autograder.nbgrader_course import grade_assignment
from instructors_doc import blocks

ASSIGNMENT = "pytorch_data"
LEARNERS = {"alice": "reference", "bob": "no_normalise"}  # learner -> the sample they hand in
SCORES = {"alice": 12.0, "bob": 11.0}
GUIDE_EXCHANGE = "/srv/nbgrader/exchange"


def run_block(script: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_"))}
    env.update(HOME=str(home), COURSEKIT_OFFLINE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=home, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.mark.slow
def test_instructors_guide_nbgrader_round_trip(tmp_path):
    # The guide's exchange is nbgrader's default, /srv/nbgrader/exchange; the test puts it in
    # tmp_path instead (the instructor's blocks name it, the learners' servers are configured
    # with it as a hub would). Each learner is a separate home whose nbgrader_config.py says
    # who they are: on a hub that is their own user account; here every process is one user.
    exchange = tmp_path / "exchange"
    instructor = tmp_path / "instructor"
    homes = {learner: tmp_path / learner for learner in LEARNERS}
    for home in (instructor, *homes.values()):
        (home / ".jupyter").mkdir(parents=True)
    for learner, home in homes.items():
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.student_id = {learner!r}\n")

    steps = blocks("A JupyterHub course with nbgrader")
    assert [who for who, _ in steps].count("learner") >= 3
    for who, script in steps:
        script = script.replace(GUIDE_EXCHANGE, str(exchange))
        assert "--course " not in script or who == "learner", f"the instructor's side needs no --course: {script}"
        for learner, home in (homes.items() if who == "learner" else [("instructor", instructor)]):
            run_block(script, home)
            if "fetch_assignment" in script:  # the learner answers and saves the notebook
                fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
                assert "YOUR CODE HERE" in fetched.read_text() and "BEGIN SOLUTION" not in fetched.read_text()
                shutil.copy(REPO / "autograder" / "samples" / ASSIGNMENT / f"{LEARNERS[learner]}.ipynb", fetched)

    course = instructor / "course"
    assert str(course).startswith(str(tmp_path)) and not str(course).startswith(str(REPO))
    config = {}
    exec((course / "nbgrader_config.py").read_text(), {"get_config": lambda: _Config(config)})
    assert config["CourseDirectory.course_id"] == "dl101" and config["Exchange.root"] == str(exchange)
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grades.csv")) if r["assignment"] == ASSIGNMENT}
    assert {s: float(r["score"]) for s, r in rows.items()} == SCORES
    assert {float(r["max_score"]) for r in rows.values()} == {12.0}
    for learner, home in homes.items():  # what fetch_feedback brought is that learner's own page
        fetched = list((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert len(fetched) == 1, fetched
        assert fetched[0].read_bytes() == (course / "feedback" / learner / ASSIGNMENT / f"{ASSIGNMENT}.html").read_bytes()
        assert (course / "autograded" / learner / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


class _Config:
    """Records `c.Section.name = value` lines of an nbgrader_config.py."""

    def __init__(self, seen, prefix=""):
        object.__setattr__(self, "_seen", seen)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        return _Config(self._seen, f"{self._prefix}{name}.")

    def __setattr__(self, name, value):
        self._seen[f"{self._prefix}{name}"] = value


def test_grading_mistakes_are_course_errors(tmp_path):
    with pytest.raises(CourseError, match="not an nbgrader course folder"):
        grade_assignment(tmp_path, ASSIGNMENT)
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(CourseError, match="no assignment named 'unet'; known assignments: .*unet_keras, unet_torch"):
        grade_assignment(tmp_path, "unet")
    with pytest.raises(CourseError, match="collect them first with: nbgrader collect pytorch_data"):
        grade_assignment(tmp_path, ASSIGNMENT)
