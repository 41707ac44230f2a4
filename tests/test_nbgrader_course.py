"""nbgrader round trip: course made from solutions/, graded by us, exported by nbgrader."""
import csv
import shutil

from autograder.exercise import REPO
from autograder.nbgrader_course import grade_assignment, make_course, nbgrader

ASSIGNMENT = "pytorch_data"
STUDENTS = {"alice": "reference", "bob": "no_normalise", "carol": "blank"}


def test_course_round_trip(tmp_path):
    course = tmp_path / "course"
    assert ASSIGNMENT in make_course(course)
    released = (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "YOUR CODE HERE" in released and "BEGIN SOLUTION" not in released
    for student, sample in STUDENTS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(REPO / "autograder" / "samples" / ASSIGNMENT / f"{sample}.ipynb", folder / f"{ASSIGNMENT}.ipynb")

    grades = {g.learner: g.score for g in grade_assignment(course, ASSIGNMENT, workers=2)}
    assert grades == {"alice": 12, "bob": 11, "carol": 0}

    nbgrader(course, "export", "--to", str(course / "export.csv"))
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "export.csv")) if r["assignment"] == ASSIGNMENT}
    assert {s: float(r["score"]) for s, r in rows.items()} == {"alice": 12.0, "bob": 11.0, "carol": 0.0}
    assert {float(r["max_score"]) for r in rows.values()} == {12.0}
    assert "11 / 12" in (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
