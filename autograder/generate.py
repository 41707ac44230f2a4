"""Learners' notebooks and bundled samples, made from the one source in solutions/.

exercises/<name>.ipynb is what nbgrader's own `generate_assignment` step makes of
solutions/<name>.ipynb (solutions cleared, outputs cleared, cells checksummed).
autograder/samples/<slug>/ holds, per framework, the reference, the blank exercise
and the wrong answers that autograder/checks/<slug>/samples.py describes.
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.exercise import exercise_slugs, load_exercise
from autograder.learnerkit import solution_with_setup


@dataclass(frozen=True)
class Sample:
    """A plausible wrong answer: text replacements on the reference, the checks it fails, and
    the mistake in words a learner can act on (diagnosis.py tells it to learners whose results match)."""

    replace: tuple[tuple[str, str], ...]
    fails: frozenset[str]
    framework: str = "torch"
    mistake: str = ""


def mutate(notebook_text: str, replace) -> str:
    """The notebook with each (old, new) replaced in its code cells."""
    import nbformat

    notebook = nbformat.reads(notebook_text, as_version=4)
    for old, new in replace:
        cells = [c for c in notebook.cells if c.cell_type == "code" and old in c.source]
        if not cells:
            raise ValueError(f"the reference no longer contains {old!r}: update the sample")
        for cell in cells:
            cell.source = cell.source.replace(old, new)
    return nbformat.writes(notebook) + "\n"


def nbgrader_release(solution: Path, folder: Path) -> Path:
    """Run `nbgrader generate_assignment` on one notebook in a throwaway course folder."""
    name = solution.stem
    (folder / "source" / name).mkdir(parents=True)
    shutil.copy(solution, folder / "source" / name / solution.name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
               f"--CourseDirectory.root={folder}", f"--db=sqlite:///{folder / 'gradebook.db'}"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{done.stdout}\n{done.stderr}")
    return folder / "release" / name / solution.name


def expected_files(repo: Path, progress=lambda step: None) -> dict[Path, bytes]:
    """Every generated file and the bytes it should hold; `progress` is told each step."""
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for solution in sorted((repo / "solutions").glob("*.ipynb")):
            progress(f"nbgrader generate_assignment: solutions/{solution.name}")
            files[solution] = solution_with_setup(repo, solution)  # its set-up cell and metadata, from course.toml
            staged = Path(tmp) / "solutions" / solution.name
            staged.parent.mkdir(exist_ok=True)
            staged.write_bytes(files[solution])
            released = nbgrader_release(staged, Path(tmp) / solution.stem)
            files[repo / "exercises" / solution.name] = released.read_bytes()
    for slug in exercise_slugs():
        progress(f"samples: autograder/samples/{slug}/")
        files.update(_sample_files(repo, slug, files))
    return files


def _sample_files(repo: Path, slug: str, exercises: dict) -> dict[Path, bytes]:
    exercise = load_exercise(slug)
    folder = repo / "autograder" / "samples" / slug
    try:
        samples = importlib.import_module(f"autograder.checks.{slug}.samples").SAMPLES
    except ModuleNotFoundError:
        samples = {}
    files = {}
    for variant in exercise.variants:
        suffix = f"_{variant.framework}" if len(exercise.variants) > 1 else ""
        reference = exercises[repo / "solutions" / variant.notebook].decode()
        files[folder / f"reference{suffix}.ipynb"] = reference.encode()
        files[folder / f"blank{suffix}.ipynb"] = exercises[repo / "exercises" / variant.notebook]
        for name, sample in samples.items():
            if sample.framework == variant.framework:
                files[folder / f"{name}{suffix}.ipynb"] = mutate(reference, sample.replace).encode()
    return files


def generate_all(repo: Path, check_only: bool = False, progress=lambda step: None) -> list[Path]:
    """Write what is out of date (or, with check_only, just list it)."""
    stale = []
    for path, content in expected_files(repo, progress).items():
        if path.exists() and path.read_bytes() == content:
            continue
        stale.append(path)
        if not check_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return stale
