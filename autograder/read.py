"""Read a submission (.ipynb or .py) into code cells, or say plainly why it cannot be read."""
import json
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 20 * 1024 * 1024  # a notebook with big outputs is fine; a 1 GB file is not


class SubmissionError(Exception):
    """The submission cannot be graded; the message is written for the learner."""


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based position among the code cells, as a learner counts them
    source: str


def read_submission(path: Path) -> list[Cell]:
    """Code cells of a notebook, or the whole .py file as one cell."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path.name}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(f"{path.name}: larger than {MAX_BYTES // 2**20} MB; clear the outputs and save again")
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".py":
        return [Cell(1, text)]
    if path.suffix == ".ipynb":
        return _notebook_cells(path.name, text)
    raise SubmissionError(f"{path.name}: submit a .ipynb notebook or a .py file")


def _notebook_cells(name: str, text: str) -> list[Cell]:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{name} is not a valid notebook (not JSON: {error.msg} at line {error.lineno}). "
            "Re-download it from Jupyter with File > Download, or submit the last saved copy."
        ) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        if version is not None and version < 4:
            raise SubmissionError(
                f"{name} is an nbformat {version} notebook; this course needs nbformat 4. "
                "Open it in a current Jupyter and save it, then submit it again."
            )
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no 'cells' list).")
    if notebook.get("nbformat", 4) < 4:
        raise SubmissionError(f"{name} is an nbformat {notebook['nbformat']} notebook; open and save it in a current Jupyter.")
    code = [c for c in notebook["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    return [Cell(i, _joined(c.get("source", ""))) for i, c in enumerate(code, start=1)]


def _joined(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)
