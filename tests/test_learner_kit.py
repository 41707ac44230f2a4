"""The learner's kit: built by `autograder learner-kit`, installed from its wheel (not editable) into
a fresh virtual environment, used from a folder outside any checkout, and free of the answers."""
import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autograder.exercise import REPO, exercise_for_file, exercise_slugs, load_exercise
from autograder.learnerkit import hidden_points, kit_config, setup_source, visible_checks_source

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
def kit(tmp_path_factory, main_job):
    """The kit, built once from the main job's reference runs: they were made at seed 0, the kit's
    seed, by the same path, so the build runs no reference again (CI's budget)."""
    reports, _ = main_job  # whatever runs it made (a failed job is reported by its own tests)
    home = tmp_path_factory.mktemp("kit-data")
    for run in reports.glob("*/.reference/*/run.json"):  # finished runs only (not the batch's locks)
        shutil.copytree(run.parent, home / "reference" / run.parent.name)
    out = tmp_path_factory.mktemp("kit")
    command = [sys.executable, "-m", "autograder", "learner-kit", str(out)]
    done = subprocess.run(command, env=_env(COURSEKIT_DATA=str(home)),
                          capture_output=True, text=True, cwd=tmp_path_factory.mktemp("anywhere"))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_COURSE", "PYTHONPATH", "VIRTUAL_ENV")}
    return dict(env, COURSEKIT_OFFLINE="1", **extra)


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def kitenv(kit, tmp_path_factory):
    """A fresh venv that reaches this one's frameworks through a .pth line naming our site-packages
    (whose own .pth files, the editable dl-course among them, are not processed), and gets the kit
    as a learner does: the exercise notebooks' set-up cell, pointed at the kit's folder (the index
    the instructor publishes), installs it with pip, not editable, from that index alone."""
    env = tmp_path_factory.mktemp("kitenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(subprocess.run([_python(env), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "heavy_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    setup = setup_source("torch", dict(kit_config(REPO), index=str(kit)))
    cwd = tmp_path_factory.mktemp("anywhere")
    missing = "import importlib.util as u; print(u.find_spec('autograder') is None, u.find_spec('coursekit') is None)"
    assert _in_kit(env, missing, cwd) == "True True"
    _in_kit(env, setup, cwd, PIP_NO_INDEX="1")  # the kit is missing: the cell installs it
    assert (site / "autograder" / "checks").is_dir() and next(site.glob("dl_course_kit-*.dist-info"))
    assert _in_kit(env, setup + "\nprint(COURSE_DATA)", cwd, PIP_NO_INDEX="1") == "synthetic"  # present: silent
    return env


def _in_kit(kitenv: Path, code: str, cwd: Path, **env) -> str:
    done = subprocess.run([_python(kitenv), "-c", code], capture_output=True, text=True, cwd=cwd, env=_env(**env))
    assert done.returncode == 0, done.stdout + done.stderr
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
    assert sorted(p.name for p in (kit / "book").glob("*.ipynb")) == sorted(f"{c}.ipynb" for c in CHAPTERS)
    requirements = (kit / "binder" / "requirements.txt").read_text()
    assert f"--find-links {kit_config(REPO)['index']}" in requirements and "[torch,keras]" in requirements


def _check_both(autograder: Path, cwd: Path) -> tuple:
    """`autograder check` on renamed copies of the reference and of a wrong answer, both at once
    (two cores); the two finished processes."""
    right, wrong = cwd / f"Copy of {SLUG}.ipynb", cwd / f"{SLUG} (1).ipynb"
    right.write_bytes((SAMPLES / "reference.ipynb").read_bytes())
    wrong.write_bytes((SAMPLES / "no_normalise.ipynb").read_bytes())
    runs = [subprocess.Popen([autograder, "check", p.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=cwd, env=_env()) for p in (right, wrong)]
    for run in runs:
        run.stdout_text, run.stderr_text = run.communicate()
    return tuple(runs)


@pytest.mark.slow
def test_autograder_check_from_the_installed_kit(kitenv, tmp_path):
    where = _in_kit(kitenv, "import autograder, coursekit; print(autograder.__file__, coursekit.__file__)", tmp_path)
    assert all(Path(p).is_relative_to(kitenv) for p in where.split()), where
    right, wrong = _check_both(kitenv / "bin" / "autograder", tmp_path)
    assert right.returncode == 0, right.stdout_text + right.stderr_text
    assert re.search(r"pytorch_data: (\d+)/\1 points", right.stdout_text) and "[FAIL]" not in right.stdout_text
    assert "4 hidden checks (5 more points)" in right.stdout_text
    assert wrong.returncode == 1 and "check_normalise" in wrong.stderr_text, wrong.stdout_text + wrong.stderr_text
    assert "[FAIL] make_transform() gives a normalised float32 tensor" in wrong.stdout_text


def _kernel_spec(kitenv: Path) -> Path:
    """A Jupyter kernel that runs the kit's python; returns the folder to put on JUPYTER_PATH."""
    folder = kitenv / "share" / "jupyter"
    spec = folder / "kernels" / "kit"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(_python(kitenv)), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "kit", "language": "python"}))
    return folder


def _run_in_kernel(notebook, kitenv: Path, cwd: Path, monkeypatch) -> list[str]:
    """Execute a notebook held only in memory in the kit's kernel; each code cell's printed text."""
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_spec(kitenv)))
    monkeypatch.delenv("AUTOGRADER_COURSE", raising=False)
    NotebookClient(notebook, kernel_name="kit", timeout=600, resources={"metadata": {"path": str(cwd)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs) for c in notebook.cells if c.cell_type == "code"]


def _cell_defining(notebook, name: str) -> str:
    return next(c.source for c in notebook.cells if c.cell_type == "code" and f"def {name}(" in c.source)


@pytest.mark.slow
def test_self_check_in_a_kernel_on_an_unsaved_notebook(kitenv, tmp_path, monkeypatch):
    """A learner's session in one kernel: the wrong answer's notebook, never saved, runs top to
    bottom and its self-check fails; the learner fixes make_transform in a new cell, runs it and
    self-checks again, which gives full marks."""
    notebook = nbformat.read(SAMPLES / "no_normalise.ipynb", as_version=4)
    reference = nbformat.read(SAMPLES / "reference.ipynb", as_version=4)
    check_cell = notebook.cells[-1].source
    assert "self_check(" in check_cell
    notebook.cells += [nbformat.v4.new_code_cell(_cell_defining(reference, "make_transform")),
                       nbformat.v4.new_code_cell(check_cell)]
    outputs = _run_in_kernel(notebook, kitenv, tmp_path, monkeypatch)
    assert outputs[0] == ""  # the set-up cell: the kit is there, so it says nothing
    failed, fixed = outputs[-3], outputs[-1]
    for checked in (failed, fixed):
        assert "Checking the code this kernel has run" in checked and "4 hidden checks (5 more points)" in checked
    score = re.search(r"pytorch_data: (\d+)/(\d+) points", failed)
    assert score and int(score[1]) < int(score[2]), failed
    assert "[FAIL] make_transform() gives a normalised float32 tensor" in failed
    score = re.search(r"pytorch_data: (\d+)/(\d+) points", fixed)
    assert score and score[1] == score[2] and "[FAIL]" not in fixed, fixed
    assert not list(tmp_path.rglob("*.ipynb"))  # nothing was saved


@pytest.mark.slow
@pytest.mark.extended
def test_kit_installs_with_its_dependencies_into_a_bare_venv(kit, tmp_path):
    """The learner's laptop: a venv with nothing in it, `pip install <wheel>[torch]` resolving every
    dependency from the package index (several GB: the extended run), then `autograder check`."""
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    wheel = next(kit.glob("*.whl"))
    installed = subprocess.run([_python(env), "-m", "pip", "install", "--quiet", f"{wheel}[torch]"],
                               capture_output=True, text=True, env=_env())
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert _in_kit(env, "import torch, torchvision, coursekit, autograder; print('ok')", tmp_path) == "ok"
    right, wrong = _check_both(env / "bin" / "autograder", tmp_path)
    assert right.returncode == 0 and re.search(r"pytorch_data: (\d+)/\1 points", right.stdout_text), right.stdout_text
    assert wrong.returncode == 1 and "check_normalise" in wrong.stderr_text, wrong.stdout_text + wrong.stderr_text


# ---- the book's chapters as learners' notebooks ----

def test_launch_buttons_open_the_learners_repository():
    """book/_config.yml, as Jupyter Book gives it to Sphinx, names no repository; the launch
    extension takes the learners' one (where the kit's book/<chapter>.ipynb lie) from course.toml."""
    from jupyter_book.config import get_final_config

    config = get_final_config(user_yaml=REPO / "book" / "_config.yml", sourcedir=REPO / "book",
                              cli_config={"latex_individualpages": False})[0]
    assert "dl-course/dl-course\n" not in (REPO / "book" / "_config.yml").read_text() + "\n"
    app = SimpleNamespace(srcdir=str(REPO / "book"), connect=lambda event, handler: handlers.append(handler))
    handlers = []
    spec = importlib.util.spec_from_file_location("launch_buttons", REPO / "book" / "_ext" / "launch_buttons.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    extension.setup(app)
    sphinx_config = SimpleNamespace(html_theme_options=config["html_theme_options"])
    handlers[0](app, sphinx_config)
    options = sphinx_config.html_theme_options
    kit = kit_config(REPO)
    assert options["repository_url"] == kit["repository"] and options["repository_branch"] == kit["branch"]
    assert options["path_to_docs"] == "book" and options["launch_buttons"]["colab_url"]
    assert kit["repository"] != "https://github.com/dl-course/dl-course"  # not the instructors' (install.md clones it)


LOADERS = ("fashion_root", "petimages_dir", "pets_dir", "isbi_dir", "torch_vgg16", "keras_vgg16_base")


def test_exercise_demos_use_synthetic_data_unless_course_data_is_real():
    """Every call of a dataset or pretrained-weights loader in an exercise notebook's code depends
    on COURSE_DATA, whose set-up cell default is "synthetic"."""
    calls = 0
    for path in (REPO / "exercises").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or cell.metadata.get("autograder") == "setup":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") in LOADERS:
                    calls += 1
                    uses = ast.unparse(node)
                    assert "COURSE_DATA" in uses or "weights='random'" in uses, f"{path.name}: {uses}"
    assert calls >= 6
    assert 'COURSE_DATA = os.environ.get("COURSE_DATA", "synthetic")' in setup_source("torch", kit_config(REPO))

CHAPTERS = ("pytorch_data", "unet", "transfer", "distillation")


def test_chapter_notebooks_are_made_from_the_pages():
    done = subprocess.run([sys.executable, str(REPO / "book" / "_ext" / "learner_notebooks.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for chapter in CHAPTERS:
        text = (REPO / "book" / f"{chapter}.ipynb").read_text()
        assert "myst_nb" not in text and "load_ext tabcells" not in text and "\"%%tab " not in text and "{glue" not in text


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_glued_value_is_shown_only_after_the_cell_that_glues_it(chapter):
    """The book resolves glue across a page; a notebook runs top to bottom (the transfer notebook
    once showed size_text in the cell before the one that glues it: KeyError in the kit)."""
    glued, computed = set(), False
    for cell in nbformat.read(REPO / "book" / f"{chapter}.ipynb", as_version=4).cells[1:]:  # after the set-up
        if cell.cell_type != "code":
            continue
        if cell.source.startswith(("GLUED[", "show_glued(")):
            shown = set(re.findall(r'"([\w-]+)(?::[^"]*)?"', cell.source))
            assert computed or shown <= glued, f"{cell.id} shows {sorted(shown - glued)} before they are glued"
        literal = re.findall(r"""\bglue\(\s*["']([\w-]+)["']""", cell.source)
        glued |= set(literal)
        computed |= len(re.findall(r"\bglue\(", cell.source)) > len(literal)


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
