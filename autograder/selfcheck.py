"""The learner's self-check: the visible checks on a saved notebook, feedback printed inline."""
from pathlib import Path

from autograder.exercise import load_exercise
from autograder.grading import grade_submission
from autograder.report import feedback_text


def check_notebook(notebook: Path, slug: str, visible_only: bool = True) -> str:
    from coursekit.paths import data_home

    exercise = load_exercise(slug)
    cache = data_home() / "reference"
    cache.mkdir(exist_ok=True)
    grade = grade_submission(exercise, Path(notebook), Path(notebook).stem, exercise.prepare_data(), cache, visible_only)
    return feedback_text(grade)


def self_check(exercise: str, notebook: str | Path | None = None) -> None:
    """Run from the exercise notebook: checks the saved copy of `<exercise>.ipynb` here."""
    path = Path(notebook or f"{exercise}.ipynb")
    if not path.is_file():
        print(f"cannot find {path.resolve()}: pass its path, self_check({exercise!r}, 'path/to/notebook.ipynb')")
        return
    print("Checking the saved notebook (save it first with Ctrl-S)...")
    print(check_notebook(path, exercise))
