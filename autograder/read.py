"""Read a submission (.ipynb or .py) into code cells, or say plainly why it cannot be read."""
import json
import os
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 20 * 1024 * 1024  # a notebook with big outputs is fine; a 1 GB file is not


class SubmissionError(Exception):
    """The submission cannot be graded; the message is written for the learner."""


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based position among ALL cells (markdown too), as a learner finds it in Jupyter
    source: str

    @property
    def label(self) -> str:
        """How a message names the cell: `cell 7 (`def decoder_block(x, skip, filters):`)`."""
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        if len(first) > 60:
            first = first[:57] + "..."
        return f"cell {self.number} (`{first}`)" if first else f"cell {self.number}"


def display_name(path: Path) -> str:
    """A file name that can be printed and written anywhere (undecodable bytes shown as \\xNN)."""
    return os.fsencode(Path(path).name).decode("utf-8", errors="backslashreplace")


def read_submission(path: Path) -> list[Cell]:
    """Code cells of a notebook (numbered among all cells), or the whole .py file as one cell."""
    path = Path(path)
    name = display_name(path)
    if not path.is_file():
        raise SubmissionError(f"{name}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(f"{name}: larger than {MAX_BYTES // 2**20} MB; clear the outputs and save again")
    text = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".py":
        return [Cell(1, text)]
    if path.suffix == ".ipynb":
        return _notebook_cells(name, text)
    raise SubmissionError(f"{name}: submit a .ipynb notebook or a .py file")


def _notebook_cells(name: str, text: str) -> list[Cell]:
    notebook = _parsed(name, text)
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        if isinstance(version, int) and version < 4:
            raise SubmissionError(
                f"{name} is an nbformat {version} notebook; this course needs nbformat 4. "
                "Open it in a current Jupyter and save it, then submit it again."
            )
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no 'cells' list).")
    version = notebook.get("nbformat", 4)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SubmissionError(f"{name}: its nbformat is {version!r}, not a number; open and save it in a current Jupyter.")
    if version < 4:
        raise SubmissionError(f"{name} is an nbformat {version} notebook; open and save it in a current Jupyter.")
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cells.append(Cell(number, _joined(name, number, cell.get("source", ""))))
    return cells


def _parsed(name: str, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{name} is not a valid notebook (not JSON: {error.msg} at line {error.lineno}). "
            "Re-download it from Jupyter with File > Download, or submit the last saved copy."
        ) from None
    except (RecursionError, MemoryError):
        raise SubmissionError(f"{name} is nested too deeply to be a notebook; submit the notebook Jupyter saved.") from None


def _joined(name: str, number: int, source) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    raise SubmissionError(f"{name}: cell {number}'s source is not text; open and save the notebook in Jupyter.")
