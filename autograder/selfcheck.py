"""The learner's self-check: the visible checks, feedback printed inline.

In a notebook's kernel it checks the code cells this kernel has run (IPython's input
history of the session), so it works where the notebook is not a file (Colab) and needs
no save; from the command line (`autograder check NOTEBOOK`) it reads the file.
"""
import tempfile
from pathlib import Path

from autograder.exercise import load_exercise
from autograder.grading import Grade, grade_submission
from autograder.report import feedback_text


def check_notebook(notebook: Path, slug: str, visible_only: bool = True) -> Grade:
    from coursekit.paths import data_home

    exercise = load_exercise(slug)
    cache = data_home() / "reference"
    cache.mkdir(parents=True, exist_ok=True)
    seed = exercise.stored_seed()  # the kit's reference runs were made with this seed; else the grader draws one
    return grade_submission(exercise, Path(notebook), Path(notebook).stem, exercise.prepare_data(), cache, visible_only,
                            **({"seed": seed} if seed is not None else {}))


def still_hidden(slug: str) -> str:
    from autograder.learnerkit import hidden_points

    count, points = hidden_points(load_exercise(slug).checks_file)
    if not count:
        return "There are no hidden checks: this is the whole grade."
    return (f"{count} hidden check{'s' if count > 1 else ''} ({points:g} more point{'s' if points != 1 else ''}) "
            "run only when your notebook is graded.")


def kernel_cells() -> list[str] | None:
    """The code this IPython session has run, cell by cell, oldest first; None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "history_manager"):
        return None
    return [source for source in shell.history_manager.input_hist_raw if source.strip()]


def _as_notebook(cells: list[str], folder: Path) -> Path:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    path = folder / "this-kernel.ipynb"
    nbformat.write(notebook, path)
    return path


def self_check(exercise: str, notebook: str | Path | None = None) -> None:
    """Run from the exercise notebook: in a kernel, checks the cells it has run; else the saved file."""
    cells = kernel_cells()
    if cells is not None:
        print(f"Checking the code this kernel has run ({len(cells)} cells, in the order you ran them; "
              "re-run a cell after you change it)...")
        with tempfile.TemporaryDirectory() as tmp:
            grade = check_notebook(_as_notebook(cells, Path(tmp)), exercise)
    else:
        path = Path(notebook or f"{exercise}.ipynb")
        if not path.is_file():
            print(f"cannot find {path.resolve()}: pass its path, self_check({exercise!r}, 'path/to/notebook.ipynb')")
            return
        print(f"Checking the saved notebook {path}...")
        grade = check_notebook(path, exercise)
    print(feedback_text(grade))
    print(still_hidden(exercise))
