"""The nbgrader round trip: a course folder made from solutions/, our grades in its gradebook.

nbgrader's layout: source/<assignment>/, release/<assignment>/ (what learners get),
submitted/<student>/<assignment>/ (what they hand in), feedback/<student>/<assignment>/.
Each solution notebook is one assignment named like it (pytorch_data, unet_keras, ...).
Our checks become the assignment's grade cells, so `nbgrader export` and the formgrader
show their scores; our feedback page goes where nbgrader's feedback step puts its own.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from autograder.exercise import course_folder, load_exercise

CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
"""


def nbgrader(course: Path, *args: str) -> str:
    """Run an nbgrader command in the course; nbgrader calls alembic by name, so PATH needs our bin/."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def make_course(course: Path) -> list[str]:
    """Create (or refresh) the course folder and release every assignment."""
    course = course.resolve()
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course)))
    assignments = []
    for solution in sorted((course_folder() / "solutions").glob("*.ipynb")):
        name = solution.stem
        (course / "source" / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(solution, course / "source" / name / solution.name)
        nbgrader(course, "generate_assignment", name, "--force")
        assignments.append(name)
    return assignments


def grade_assignment(course: Path, assignment: str, workers: int = 2):
    """Grade submitted/<student>/<assignment>/ with our grader; record it in the gradebook."""
    from autograder.batch import grade_folder
    from autograder.exercise import exercise_for_file

    course = course.resolve()
    exercise = load_exercise(exercise_for_file(Path(f"{assignment}.ipynb")))
    out = course / "autograder" / assignment
    with tempfile.TemporaryDirectory() as staging:
        for notebook in sorted(course.glob(f"submitted/*/{assignment}/{assignment}.ipynb")):
            student = notebook.parent.parent.name
            (Path(staging) / student).mkdir()
            (Path(staging) / student / notebook.name).symlink_to(notebook)
        grades = grade_folder(exercise, Path(staging), out, workers=workers)
    record_in_gradebook(course, assignment, grades)
    for grade in grades:
        feedback = course / "feedback" / grade.learner / assignment
        feedback.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / grade.learner / "feedback.html", feedback / f"{assignment}.html")
    return grades


def record_in_gradebook(course: Path, assignment: str, grades) -> None:
    """Each check is a grade cell of the assignment's notebook; its points are the auto score."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    # nbgrader 0.9's add_submission builds its objects before adding them to the session,
    # which SQLAlchemy 2 reports as "not in session"; the rows are written all the same.
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course}/gradebook.db") as gradebook:
        warnings.filterwarnings("ignore", "Object of type .* not in session", SAWarning)
        gradebook.update_or_create_assignment(assignment)
        gradebook.update_or_create_notebook(assignment, assignment)
        for check in grades[0].checks if grades else []:
            gradebook.update_or_create_grade_cell(check.name, assignment, assignment,
                                                  max_score=check.max_points, cell_type="code")
        for grade in grades:
            gradebook.update_or_create_student(grade.learner)
            gradebook.update_or_create_submission(assignment, grade.learner)
            for check in grade.checks:
                gradebook.find_grade(check.name, assignment, assignment, grade.learner).auto_score = check.points
            gradebook.db.commit()
