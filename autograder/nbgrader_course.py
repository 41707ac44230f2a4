"""The nbgrader round trip: a course folder made from solutions/, our grades in its gradebook.

nbgrader's layout: source/<assignment>/, release/<assignment>/ (what learners get),
submitted/<student>/<assignment>/ (what `nbgrader collect` brings in), autograded/ and
feedback/<student>/<assignment>/. Each solution notebook is one assignment named like it
(pytorch_data, unet_keras, ...). Our checks become the assignment's grade cells, so
`nbgrader export` and the formgrader show their scores; each learner's feedback page goes
to feedback/<student>/<assignment>/<assignment>.html beside the timestamp.txt and
submission_secret.txt that `nbgrader release_feedback` reads (copied from the submission,
as nbgrader's own autograde and generate_feedback steps do).
"""
import datetime
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from autograder.exercise import course_folder, CourseError, exercise_slugs, load_exercise

CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
"""
EXCHANGE = "c.Exchange.root = {exchange!r}\n"


def nbgrader(course: Path, *args: str) -> str:
    """Run an nbgrader command in the course; nbgrader calls alembic by name, so PATH needs our bin/."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def assignments() -> dict[str, str]:
    """assignment (a solution notebook's name) -> its exercise: pytorch_data, unet_keras, ..."""
    return {Path(v.notebook).stem: slug for slug in exercise_slugs() for v in load_exercise(slug).variants}


def make_course(course: Path, course_id: str | None = None, exchange: str | None = None,
                progress=lambda step: None) -> str:
    """Create (or refresh) the course folder and generate every assignment into release/.
    Nothing reaches learners until the instructor runs nbgrader's release_assignment."""
    course = Path(course).expanduser().resolve()
    if course.exists() and not course.is_dir():
        raise CourseError(f"{course} is a file, not a folder")
    course_id = course_id or course.name
    course.mkdir(parents=True, exist_ok=True)
    config = CONFIG.format(root=str(course), course_id=course_id)
    (course / "nbgrader_config.py").write_text(config + (EXCHANGE.format(exchange=exchange) if exchange else ""))
    for solution in sorted((course_folder() / "solutions").glob("*.ipynb")):
        name = solution.stem
        (course / "source" / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(solution, course / "source" / name / solution.name)
        progress(f"generated: {course / 'release' / name}/ (nbgrader generate_assignment {name})")
        nbgrader(course, "generate_assignment", name, "--force")
    return course_id


def grade_assignment(course: Path, assignment: str, workers: int = 2):
    """Grade submitted/<student>/<assignment>/ with our grader; record it in the gradebook."""
    from autograder.batch import grade_folder

    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course} is not an nbgrader course folder (no nbgrader_config.py); "
                          "make one with: autograder nbgrader-course FOLDER")
    known = assignments()
    if assignment not in known:
        raise CourseError(f"no assignment named {assignment!r}; known assignments: {', '.join(sorted(known))}")
    notebooks = sorted(course.glob(f"submitted/*/{assignment}/{assignment}.ipynb"))
    if not notebooks:
        raise CourseError(f"no submissions in {course / 'submitted'}/<student>/{assignment}/{assignment}.ipynb; "
                          f"collect them first with: nbgrader collect {assignment}")
    out = course / "autograder" / assignment
    with tempfile.TemporaryDirectory() as staging:
        for notebook in notebooks:
            student = notebook.parent.parent.name
            (Path(staging) / student).mkdir()
            (Path(staging) / student / notebook.name).symlink_to(notebook)
        grades = grade_folder(load_exercise(known[assignment]), Path(staging), out, workers=workers)
    timestamps = {g.learner: _submission_files(course, g.learner, assignment) for g in grades}
    record_in_gradebook(course, assignment, grades, timestamps)
    for grade in grades:
        shutil.copy(out / grade.learner / "feedback.html", course / "feedback" / grade.learner / assignment / f"{assignment}.html")
    return grades


def _submission_files(course: Path, student: str, assignment: str) -> str:
    """Copy the submission to autograded/ (the formgrader's view) and its timestamp and secret
    to feedback/; a submission put there by hand, not through the exchange, gets new ones."""
    submitted = course / "submitted" / student / assignment
    shutil.copytree(submitted, course / "autograded" / student / assignment, dirs_exist_ok=True)
    feedback = course / "feedback" / student / assignment
    feedback.mkdir(parents=True, exist_ok=True)
    for name, make in (("timestamp.txt", _now), ("submission_secret.txt", lambda: secrets.token_hex(64))):
        text = (submitted / name).read_text() if (submitted / name).is_file() else make()
        (feedback / name).write_text(text)
    return (feedback / "timestamp.txt").read_text().strip()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")  # nbgrader's format


def record_in_gradebook(course: Path, assignment: str, grades, timestamps: dict[str, str]) -> None:
    """Each check is a grade cell of the assignment's notebook; its points are the auto score."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc
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
            submission = gradebook.update_or_create_submission(assignment, grade.learner)
            submission.timestamp = parse_utc(timestamps[grade.learner])
            for check in grade.checks:
                gradebook.find_grade(check.name, assignment, assignment, grade.learner).auto_score = check.points
            gradebook.db.commit()
