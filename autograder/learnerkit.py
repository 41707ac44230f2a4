"""The learner's kit: what a learner installs, built from the instructor's course by one command.

`autograder learner-kit DIR` writes DIR/<kit>-<version>-py3-none-any.whl, DIR/index.html (a page
that links it, so DIR served on the web is a pip --find-links index), DIR/exercises/*.ipynb, the
chapters' notebooks DIR/book/<chapter>.ipynb and DIR/binder/requirements.txt (which installs the
kit): DIR pushed as a repository of its own is what the book's Colab and Binder buttons open.
The wheel holds coursekit, the grader, each exercise's visible checks, the probes they read and
the reference's saved probe run for those probes. It holds no solution text, no sample
notebook and no hidden check: they stay in the instructor's repository.

The kit's name and where it is published come from one place, the course folder's course.toml:

    [kit]
    package = "dl-course-kit"
    index = "https://example.org/dl-course/kit/"   # pip --find-links: a web page or a folder
    repository = "https://github.com/example/dl-course-learners"   # where DIR is pushed
    branch = "main"

`autograder generate` writes package and index into every exercise notebook's first (set-up)
cell; the book's launch buttons (book/_ext/launch_buttons.py) open repository and branch.
"""
import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.exercise import CourseError, Exercise, course_folder, exercise_slugs, load_exercise

KIT_SEED = 0  # ctx["seed"] of the kit's reference runs (the self-check probes with it too)
SETUP_TAG = "setup"  # cell metadata {"autograder": "setup"} marks the set-up cell
FRAMEWORK_MODULES = {"torch": "torch", "keras": "keras"}
SETUP_CELL = '''\
# Set-up: installs the course kit where it is missing (Colab, a fresh laptop); silent where it is there.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("autograder") is None or importlib.util.find_spec("coursekit") is None:
    extra = "" if importlib.util.find_spec("{module}") else "[{framework}]"  # Colab already has {module}
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "{package}" + extra,
                    "--find-links", "{index}"], check=True)
    importlib.invalidate_caches()
COURSE_DATA = os.environ.get("COURSE_DATA", "synthetic")  # "real": the real datasets (downloads, GBs)'''


# ---- the course's configuration and the set-up cell ----

def kit_config(course: Path) -> dict:
    """course.toml's [kit] table: package (the kit's distribution name), index (pip --find-links),
    repository and branch (where the kit's folder is published: the learners', never this one)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    path = course / "course.toml"
    try:
        kit = tomllib.loads(path.read_text())["kit"]
        return {"package": str(kit["package"]), "index": str(kit["index"]), "version": str(kit.get("version", "0.1.0")),
                "repository": str(kit["repository"]).rstrip("/"), "branch": str(kit.get("branch", "main"))}
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise CourseError(f"{path}: needs a [kit] table with package, index and repository ({error})") from None


def launch_options(course: Path) -> dict:
    """The book's theme options for its Colab and Binder buttons (and its repository button): the
    learners' repository of course.toml's [kit], where the kit's book/<chapter>.ipynb lie."""
    config = kit_config(course)
    return {"repository_url": config["repository"], "repository_branch": config["branch"], "path_to_docs": "book",
            "use_repository_button": True}


def binder_requirements(config: dict) -> str:
    """DIR/binder/requirements.txt: Binder (repo2docker) installs the kit with both frameworks."""
    return (f"# Binder installs the course kit from its index (course.toml [kit]), PyTorch's CPU build (no GPU there)\n"
            f"--find-links {config['index']}\n--extra-index-url https://download.pytorch.org/whl/cpu\n"
            f"{config['package']}[torch,keras]=={config['version']}\n")


def setup_source(framework: str, config: dict) -> str:
    return SETUP_CELL.format(module=FRAMEWORK_MODULES[framework], framework=framework, **config)


def with_setup(notebook_text: str, slug: str, framework: str, config: dict) -> str:
    """The notebook with its set-up cell (first) and its `autograder` metadata as the configuration says."""
    import nbformat

    notebook = nbformat.reads(notebook_text, as_version=4)
    notebook.metadata["autograder"] = {"exercise": slug, "framework": framework}
    cells = [c for c in notebook.cells if c.metadata.get("autograder") != SETUP_TAG]
    cell = nbformat.v4.new_code_cell(setup_source(framework, config), metadata={"autograder": SETUP_TAG})
    cell.id = "setup"
    notebook.cells = [cell, *cells]
    return nbformat.writes(notebook) + "\n"


def variant_of(notebook: str):
    """(slug, variant) of a solution's file name."""
    for slug in exercise_slugs():
        for variant in load_exercise(slug).variants:
            if variant.notebook == notebook:
                return slug, variant
    raise CourseError(f"solutions/{notebook} belongs to no exercise's variants")


# ---- what the kit may hold of an exercise's checks ----

def _is_hidden(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "check":
            return any(k.arg == "hidden" and ast.literal_eval(k.value) for k in decorator.keywords)
    return False


def _points(node: ast.FunctionDef) -> float:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "check":
            given = [ast.literal_eval(k.value) for k in decorator.keywords if k.arg == "points"]
            return given[0] if given else (ast.literal_eval(decorator.args[0]) if decorator.args else 1)
    return 0


def _checks(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")]


def hidden_points(checks_file: Path) -> tuple[int, float]:
    """(number, points) of the hidden checks: counted in checks.py, or as the kit's copy states them."""
    tree = ast.parse(Path(checks_file).read_text())
    hidden = [c for c in _checks(tree) if _is_hidden(c)]
    for node in tree.body:  # the kit's stripped copy says what it left out
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "HIDDEN_CHECKS":
            count, points = ast.literal_eval(node.value)
            return count + len(hidden), points + sum(_points(c) for c in hidden)
    return len(hidden), sum(_points(c) for c in hidden)


def visible_checks_source(checks_file: Path) -> tuple[str, set[str]]:
    """checks.py without its hidden checks (and a HIDDEN_CHECKS line saying how many there were),
    and the probes the visible checks read (the "probe_..." names in them and the helpers they call)."""
    text = Path(checks_file).read_text()
    tree = ast.parse(text)
    helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("check_")}
    hidden = [c for c in _checks(tree) if _is_hidden(c)]
    visible = [c for c in _checks(tree) if not _is_hidden(c)]
    lines = text.splitlines()
    for node in sorted(hidden, key=lambda n: n.lineno, reverse=True):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        del lines[first - 1 : node.end_lineno]
    lines.append(f"\nHIDDEN_CHECKS = ({len(hidden)}, {sum(_points(c) for c in hidden)!r})  # left out of the learner's kit")
    probes, seen, todo = set(), set(), list(visible)
    while todo:
        node = todo.pop()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and re.fullmatch(r"probe_\w+", sub.value):
                probes.add(sub.value)
            if isinstance(sub, ast.Name) and sub.id in helpers and sub.id not in seen:
                seen.add(sub.id)
                todo.append(helpers[sub.id])
    return "\n".join(lines) + "\n", probes


def needed_probes_source(probes_file: Path, keep: set[str]) -> str:
    """The probes file without the probe_ functions no visible check reads."""
    text = probes_file.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    dropped = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("probe_") and n.name not in keep]
    for node in sorted(dropped, key=lambda n: n.lineno, reverse=True):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        del lines[first - 1 : node.end_lineno]
    return "\n".join(lines) + "\n"


# ---- building the kit ----

def _requirements() -> tuple[list[str], dict[str, list[str]]]:
    """The instructor's distribution's core requirements and its torch/keras extras, as pinned there."""
    core, extras = [], {"torch": [], "keras": []}
    for line in importlib.metadata.requires("dl-course") or []:
        requirement, _, marker = line.partition(";")
        found = re.search(r"""extra\s*==\s*["']([\w-]+)["']""", marker)
        rest = re.sub(r"""\s*(and\s+)?extra\s*==\s*["'][\w-]+["']\s*(and\s+)?""", " ", marker).strip()
        text = requirement.strip() + (f"; {rest}" if rest else "")
        if not found:
            core.append(text)
        elif found.group(1) in extras:
            extras[found.group(1)].append(text)
    return core, extras


def _pyproject(config: dict) -> str:
    core, extras = _requirements()
    quoted = lambda items: "[" + ", ".join(f"'{i}'" for i in items) + "]"  # TOML literal strings
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{config['package']}"
version = "{config['version']}"
description = "The learner's kit of the deep-learning course: coursekit and the self-check (visible checks only)"
requires-python = ">=3.10"
dependencies = {quoted(core)}

[project.optional-dependencies]
torch = {quoted(extras['torch'])}
keras = {quoted(extras['keras'])}

[project.scripts]
coursekit = "coursekit.cli:main"
autograder = "autograder.cli:main"

[tool.setuptools.packages.find]
include = ["coursekit*", "autograder*"]

[tool.setuptools.package-data]
autograder = ["checks/**/*"]
"""


def _copy_package(module_file: str, target: Path, leave_out) -> None:
    source = Path(module_file).resolve().parent
    shutil.copytree(source, target, ignore=lambda folder, names: [
        n for n in names if n == "__pycache__" or n.endswith(".pyc") or leave_out(Path(folder) / n, source)])


def _instructor_only(path: Path, package: Path) -> bool:
    relative = path.relative_to(package).parts
    return relative[:1] == ("samples",) or (relative[:1] == ("checks",) and relative[-1] == "samples.py")


def _stage_exercise(exercise: Exercise, folder: Path, cache: Path) -> None:
    """The kit's copy of one exercise's checks folder: visible checks, their probes, the reference's run."""
    from autograder.checking import load_run, save_run
    from autograder.grading import reference_run
    from autograder.sandbox import ProbeRun

    text, needed = visible_checks_source(exercise.checks_file)
    (folder / "checks.py").write_text(text)
    data = exercise.prepare_data()
    for variant in exercise.variants:
        (folder / variant.probes).write_text(needed_probes_source(exercise.probes_file(variant), needed))
        run = load_run(reference_run(exercise, variant, data, cache, seed=KIT_SEED))
        kept = ProbeRun({p: v for p, v in run.values.items() if p in needed}, {}, run.isolation, run.seconds)
        save_run(kept, folder / "reference" / variant.framework)
    (folder / "reference" / "seed.json").write_text(json.dumps({"seed": KIT_SEED}))


def build_kit(out: Path, slugs: list[str] | None = None) -> Path:
    """Write the kit into `out` (every exercise, or those named); return the wheel's path."""
    import autograder
    import coursekit
    from coursekit.paths import data_home

    course = course_folder()
    config = kit_config(course)
    out = Path(out).resolve()
    cache = data_home() / "reference"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="learner-kit-") as tmp:
        staging = Path(tmp)
        (staging / "pyproject.toml").write_text(_pyproject(config))
        _copy_package(coursekit.__file__, staging / "coursekit", lambda path, package: False)
        _copy_package(autograder.__file__, staging / "autograder", _instructor_only)
        for slug in exercise_slugs():
            if slugs is not None and slug not in slugs:
                shutil.rmtree(staging / "autograder" / "checks" / slug)
                continue
            _stage_exercise(load_exercise(slug), staging / "autograder" / "checks" / slug, cache)
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.whl"):
            old.unlink()
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                "--quiet", "--wheel-dir", str(out), str(staging)], capture_output=True, text=True)
        if built.returncode != 0:
            raise RuntimeError(f"building the kit's wheel failed:\n{built.stdout[-2000:]}\n{built.stderr[-2000:]}")
    wheel = next(out.glob("*.whl"))
    (out / "index.html").write_text(f'<!doctype html><html><body><a href="{wheel.name}">{wheel.name}</a></body></html>\n')
    for folder, notebooks in (("exercises", (course / "exercises").glob("*.ipynb")),
                              ("book", (course / "book").glob("*.ipynb"))):  # the chapters' learner notebooks
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir()
        for notebook in sorted(notebooks):
            shutil.copy(notebook, out / folder / notebook.name)
    (out / "binder").mkdir(exist_ok=True)
    (out / "binder" / "requirements.txt").write_text(binder_requirements(config))
    return wheel


def solution_with_setup(course: Path, solution: Path) -> bytes:
    """solutions/<name>.ipynb as generation keeps it: its set-up cell and metadata from course.toml."""
    slug, variant = variant_of(solution.name)
    return with_setup(solution.read_text(), slug, variant.framework, kit_config(course)).encode()
