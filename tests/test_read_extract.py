"""Reading submissions and extracting the asked-for names, without running anything."""
import json
import os

import pytest

from autograder.extract import extract
from autograder.read import Cell, SubmissionError, read_submission


def test_extract_takes_definitions_and_what_they_use():
    cells = [
        Cell(1, "import torch\nimport numpy as np\nfrom os import path\n%matplotlib inline\nSCALE = 255.0\nUNUSED = 1\n"),
        Cell(2, "def helper(x):\n    return x / SCALE\n\n@torch.no_grad()\ndef f(x):\n    return helper(np.asarray(x))\n"),
        Cell(3, "f(3)\nmodel = train_for_hours()\n"),
    ]
    result = extract(cells, ["f"])
    assert "def f" in result.source and "def helper" in result.source and "SCALE = 255.0" in result.source
    assert "import torch" in result.source and "import numpy as np" in result.source
    assert "from os import path" in result.source  # every top-level import is kept
    assert "UNUSED" not in result.source
    assert "train_for_hours" not in result.source and "f(3)" not in result.source
    assert result.missing == []
    compile(result.source, "submission.py", "exec")


def test_extract_maps_lines_back_to_cells():
    result = extract([Cell(1, "x = 1\n"), Cell(2, "\n\ndef f():\n    return 1\n")], ["f"])
    assert result.line_map == [(2, 3), (2, 4)]


def test_extract_names_missing_names_and_broken_cells():
    result = extract([Cell(1, "def g(:\n"), Cell(2, "def other():\n    pass\n")], ["g"])
    assert result.missing == ["g"]
    assert any(note.startswith("cell 1 (`def g(:`), line 1") for note in result.notes)
    assert any("`g` is not defined" in note for note in result.notes)


def test_later_definition_wins_like_running_the_notebook():
    result = extract([Cell(1, "def f():\n    return 1\n"), Cell(2, "def f():\n    return 2\n")], ["f"])
    namespace = {}
    exec(result.source, namespace)
    assert namespace["f"]() == 2


def test_read_notebook_and_python(tmp_path):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                "cells": [{"cell_type": "markdown", "source": "# hi", "metadata": {}},
                          {"cell_type": "code", "source": ["x = 1\n", "y = 2"], "metadata": {}, "outputs": [], "execution_count": None}]}
    (tmp_path / "a.ipynb").write_text(json.dumps(notebook))
    assert read_submission(tmp_path / "a.ipynb") == [Cell(2, "x = 1\ny = 2")]  # counted among all cells
    (tmp_path / "b.py").write_text("z = 3\n")
    assert read_submission(tmp_path / "b.py") == [Cell(1, "z = 3\n")]


@pytest.mark.parametrize("name, content, message", [
    ("broken.ipynb", "{not json", "not a valid notebook"),
    ("old.ipynb", json.dumps({"nbformat": 3, "worksheets": []}), "nbformat 3"),
    ("other.ipynb", json.dumps({"hello": 1}), "not a Jupyter notebook"),
    ("answer.txt", "x = 1", "submit a .ipynb notebook or a .py file"),
])
def test_unreadable_submissions_are_explained(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(SubmissionError, match=message):
        read_submission(tmp_path / name)


def _notebook(cells, **top):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells, **top})


@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (_notebook([], nbformat="4"), "not a number"),
    (_notebook([{"cell_type": "code", "source": [1, 2], "metadata": {}}]), "cell 1's source is not text"),
])
def test_hostile_notebooks_are_explained(tmp_path, content, message):
    (tmp_path / "x.ipynb").write_text(content)
    with pytest.raises(SubmissionError, match=message):
        read_submission(tmp_path / "x.ipynb")


def test_huge_expression_is_a_note_not_a_crash():
    result = extract([Cell(3, "x = " + "+".join(["1"] * 200_000) + "\n"), Cell(4, "def f():\n    return 1\n")], ["f"])
    assert "def f" in result.source
    assert any(n.startswith("cell 3 (`x = 1+1+1") and "skipped" in n for n in result.notes)


def test_undecodable_file_name_is_shown_escaped(tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.txt")
    path.write_text("x")
    with pytest.raises(SubmissionError) as error:
        read_submission(path)
    assert str(error.value).startswith("caf\\xe9.txt:")
    str(error.value).encode("utf-8")  # printable and writable anywhere
