"""The learner's kit: built by `autograder learner-kit`, installed from its wheel (not editable) into
a fresh virtual environment, used from a folder outside any checkout, and free of the answers."""
import ast
import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.exercise import REPO, exercise_for_file, exercise_slugs, load_exercise
from autograder.learnerkit import hidden_points, visible_checks_source

SLUG = "pytorch_data"
SAMPLES = REPO / "autograder" / "samples" / SLUG


# ---- fast: recognising a notebook, the stripped checks ----

@pytest.mark.parametrize("name", ["Copy of unet_torch.ipynb", "unet_torch (1).ipynb", "unet_keras copy.ipynb", "unet.ipynb"])
def test_exercise_told_from_a_renamed_file(tmp_path, name):
    (tmp_path / name).write_text("{}")
    assert exercise_for_file(tmp_path / name) == "unet"


def test_exercise_told_from_the_notebooks_metadata(tmp_path):
    notebook = tmp_path / "my homework.ipynb"
    notebook.write_bytes((REPO / "exercises" / "transfer_torch.ipynb").read_bytes())
    assert exercise_for_file(notebook) == "transfer"


@pytest.mark.parametrize("slug", exercise_slugs())
def test_kit_checks_keep_only_visible_checks(tmp_path, slug):
    checks = load_exercise(slug).checks_file
    text, probes = visible_checks_source(checks)
    (tmp_path / "checks.py").write_text(text)
    names = {n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")}
    assert names and not names & _hidden_names(checks)
    assert hidden_points(tmp_path / "checks.py") == hidden_points(checks) and hidden_points(checks)[0] > 0
    assert probes and all(f'"{p}"' in text for p in probes)


def _hidden_names(checks_file: Path) -> set[str]:
    tree = ast.parse(checks_file.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)
            and any(k.arg == "hidden" and getattr(k.value, "value", False) for d in n.decorator_list
                    if isinstance(d, ast.Call) for k in d.keywords)}


# ---- slow: build, install, use ----

@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit")
    command = [sys.executable, "-m", "autograder", "learner-kit", str(out)]
    done = subprocess.run(command, env=_env(),
                          capture_output=True, text=True, cwd=tmp_path_factory.mktemp("anywhere"))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_COURSE", "PYTHONPATH", "VIRTUAL_ENV")}
    return dict(env, COURSEKIT_OFFLINE="1", **extra)


@pytest.fixture(scope="module")
def kitenv(kit, tmp_path_factory):
    """A fresh venv that reuses this one's heavy packages (a .pth line naming our site-packages,
    whose own .pth files, the editable dl-course among them, are not processed) and has the
    kit's wheel installed with pip, not editable."""
    env = tmp_path_factory.mktemp("kitenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "heavy_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(kit.glob("*.whl"))
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    return env


def _in_kit(kitenv: Path, code: str, cwd: Path) -> str:
    done = subprocess.run([kitenv / "bin" / "python", "-c", code], capture_output=True, text=True, cwd=cwd, env=_env())
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _solution_lines() -> set[str]:
    """The non-trivial lines of every answer (between the solution markers), less those the
    learners have anyway: in their notebooks, the course library or the published chapters (generic lines such as
    `for level in range(depth):`)."""
    given = "\n".join((REPO / "exercises" / p.name).read_text() for p in (REPO / "solutions").glob("*.ipynb"))
    library = "\n".join(p.read_text() for p in (REPO / "coursekit").rglob("*.py"))
    library += "\n".join(p.read_text() for p in (REPO / "book").glob("*.md"))  # the published chapters
    lines = set()
    for path in (REPO / "solutions").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
                    inside = "BEGIN" in line
                elif (inside and len(line.strip()) >= 16 and json.dumps(line.strip())[1:-1] not in given
                      and line.strip() not in library):
                    lines.add(line.strip())
    return lines


@pytest.mark.slow
def test_kit_holds_no_answer_and_no_hidden_check(kit):
    wheel = next(kit.glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        texts = {n: archive.read(n).decode("utf-8", errors="replace") for n in names if not n.endswith(".npz")}
    assert not [n for n in names if n.endswith(".ipynb") or "/samples" in n or n.startswith("solutions")]
    assert {f"autograder/checks/{s}/checks.py" for s in exercise_slugs()} <= set(names)
    everything = "\n".join(texts.values()) + "\n".join(p.read_text() for p in (kit / "exercises").glob("*.ipynb"))
    answers = _solution_lines()
    assert len(answers) > 50
    assert not [line for line in answers if line in everything]
    hidden = set().union(*(_hidden_names(load_exercise(s).checks_file) for s in exercise_slugs()))
    assert hidden and not [name for name in hidden if name in everything]
    assert sorted(p.name for p in (kit / "exercises").glob("*.ipynb")) == sorted(p.name for p in (REPO / "exercises").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.extended
def test_autograder_check_from_the_installed_kit(kitenv, tmp_path):
    where = _in_kit(kitenv, "import autograder, coursekit; print(autograder.__file__, coursekit.__file__)", tmp_path)
    assert all(Path(p).is_relative_to(kitenv) for p in where.split()), where
    right, wrong = tmp_path / f"Copy of {SLUG}.ipynb", tmp_path / f"{SLUG} (1).ipynb"
    right.write_bytes((SAMPLES / "reference.ipynb").read_bytes())
    wrong.write_bytes((SAMPLES / "no_normalise.ipynb").read_bytes())
    autograder = kitenv / "bin" / "autograder"
    done = subprocess.run([autograder, "check", right.name], capture_output=True, text=True, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"pytorch_data: (\d+)/\1 points", done.stdout) and "[FAIL]" not in done.stdout
    assert "4 hidden checks (5 more points)" in done.stdout
    done = subprocess.run([autograder, "check", wrong.name], capture_output=True, text=True, cwd=tmp_path, env=_env())
    assert done.returncode == 1 and "check_normalise" in done.stderr, done.stdout + done.stderr
    assert "[FAIL] make_transform() gives a normalised float32 tensor" in done.stdout


def _kernel_spec(kitenv: Path) -> Path:
    """A Jupyter kernel that runs the kit's python; returns the folder to put on JUPYTER_PATH."""
    folder = kitenv / "share" / "jupyter"
    spec = folder / "kernels" / "kit"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(kitenv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "kit", "language": "python"}))
    return folder


def _run_in_kernel(notebook, kitenv: Path, cwd: Path, monkeypatch) -> list[str]:
    """Execute a notebook held only in memory in the kit's kernel; each code cell's printed text."""
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_spec(kitenv)))
    monkeypatch.delenv("AUTOGRADER_COURSE", raising=False)
    NotebookClient(notebook, kernel_name="kit", timeout=600, resources={"metadata": {"path": str(cwd)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs) for c in notebook.cells if c.cell_type == "code"]


@pytest.mark.slow
@pytest.mark.extended
@pytest.mark.parametrize("sample", ["reference", "no_normalise"])
def test_self_check_in_a_kernel_on_an_unsaved_notebook(kitenv, tmp_path, monkeypatch, sample):
    notebook = nbformat.read(SAMPLES / f"{sample}.ipynb", as_version=4)
    outputs = _run_in_kernel(notebook, kitenv, tmp_path, monkeypatch)
    assert outputs[0] == ""  # the set-up cell: the kit is there, so it says nothing
    checked = outputs[-1]
    assert "Checking the code this kernel has run" in checked and "hidden checks (5 more points)" in checked
    score = re.search(r"pytorch_data: (\d+)/(\d+) points", checked)
    if sample == "reference":
        assert score and score[1] == score[2] and "[FAIL]" not in checked, checked
    else:
        assert score and int(score[1]) < int(score[2]), checked
        assert "[FAIL] make_transform() gives a normalised float32 tensor" in checked
    assert not list(tmp_path.glob("*.ipynb"))  # nothing was saved


# ---- the book's chapters as learners' notebooks ----

CHAPTERS = ("pytorch_data", "unet", "transfer", "distillation")


def test_chapter_notebooks_are_made_from_the_pages():
    done = subprocess.run([sys.executable, str(REPO / "book" / "_ext" / "learner_notebooks.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for chapter in CHAPTERS:
        text = (REPO / "book" / f"{chapter}.ipynb").read_text()
        assert "myst_nb" not in text and "load_ext tabcells" not in text and "\"%%tab " not in text and "{glue" not in text


# Executing every chapter again costs 10 to 40 CPU minutes beside the book build, which runs the
# same code through myst-nb; the PyTorch data chapter exercises the conversion (tabs, glue, the
# set-up cell) in the kit. COURSE_TEST_ALL_CHAPTERS=1 runs all four.
EXECUTED_CHAPTERS = CHAPTERS if os.environ.get("COURSE_TEST_ALL_CHAPTERS") == "1" else ("pytorch_data",)


@pytest.mark.slow
@pytest.mark.extended
@pytest.mark.parametrize("chapter", EXECUTED_CHAPTERS)
def test_chapter_notebook_runs_top_to_bottom_in_the_kit(kitenv, tmp_path, monkeypatch, chapter):
    notebook = nbformat.read(REPO / "book" / f"{chapter}.ipynb", as_version=4)
    outputs = _run_in_kernel(notebook, kitenv, tmp_path, monkeypatch)  # a failing cell raises
    assert outputs[0] == ""  # the set-up cell: the kit is there
    assert not [c for c in notebook.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
