"""What an exercise is to the grader: its names, its reference, its probes and checks.

Each exercise lives in autograder/checks/<slug>/: `__init__.py` defines EXERCISE,
`probes*.py` run in the sandbox, `checks.py` holds the pytest checks. Its source and
reference answers are solutions/<slug>*.ipynb in the course folder (course_folder()), the
learner's copy exercises/<slug>*.ipynb, and its chapter book/<slug>.md. In the learner's kit
there is no course folder: the reference's probe run is stored in checks/<slug>/reference/.
"""
import importlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from autograder.read import Cell


class CourseError(Exception):
    """A user's mistake (an unknown exercise, a missing folder): the command line prints the
    message as one line and exits non-zero; the library never exits by itself."""
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parent.parent  # the checkout, in an editable install (else site-packages)
CHECKS = Path(__file__).resolve().parent / "checks"
COURSE_ENV = "AUTOGRADER_COURSE"
FRAMEWORK_IMPORTS = {
    "torch": re.compile(r"^\s*(import|from)\s+torch\b", re.MULTILINE),
    "keras": re.compile(r"^\s*(import|from)\s+(keras|tensorflow)\b", re.MULTILINE),
}


@dataclass(frozen=True)
class Variant:
    """One framework's version of an exercise."""

    framework: str
    notebook: str  # file name under solutions/ and exercises/
    probes: str  # file name in the exercise's checks folder
    names: tuple[str, ...]  # what the learner must define


@dataclass(frozen=True)
class Exercise:
    slug: str
    title: str
    variants: tuple[Variant, ...]
    prepare_data: Callable[[], dict[str, Path]] = lambda: {}
    limits: Limits = field(default_factory=Limits)

    @property
    def folder(self) -> Path:
        return CHECKS / self.slug

    @property
    def checks_file(self) -> Path:
        return self.folder / "checks.py"

    def probes_file(self, variant: Variant) -> Path:
        return self.folder / variant.probes

    def solution(self, variant: Variant) -> Path:
        """The reference answer: solutions/<notebook> in the course folder; in the learner's kit,
        which holds no solution, the file of the reference's run saved when the kit was built."""
        if stored := self.stored_reference(variant):
            return stored / "run.json"
        return course_folder() / "solutions" / variant.notebook

    def stored_reference(self, variant: Variant) -> Path | None:
        """The reference's probe run saved when the learner's kit was built (only in the kit)."""
        folder = self.folder / "reference" / variant.framework
        return folder if (folder / "run.json").is_file() else None

    def stored_seed(self) -> int | None:
        """ctx["seed"] the kit's saved reference runs were made with (None outside the kit)."""
        path = self.folder / "reference" / "seed.json"
        return int(json.loads(path.read_text())["seed"]) if path.is_file() else None

    def variant_for(self, cells: list[Cell]) -> Variant:
        """The framework a submission is written in, judged by its imports."""
        if len(self.variants) == 1:
            return self.variants[0]
        code = "\n".join(c.source for c in cells)
        counts = [len(FRAMEWORK_IMPORTS[v.framework].findall(code)) for v in self.variants]
        return self.variants[counts.index(max(counts))]


def load_exercise(slug: str) -> Exercise:
    if not (CHECKS / slug / "__init__.py").is_file():
        known = ", ".join(exercise_slugs()) or "none"
        raise CourseError(f"no exercise named {slug!r}; known exercises: {known}")
    return importlib.import_module(f"autograder.checks.{slug}").EXERCISE


def exercise_slugs() -> list[str]:
    return sorted(p.parent.name for p in CHECKS.glob("*/__init__.py"))


def course_folder() -> Path:
    """The instructor's course folder, the one holding solutions/: $AUTOGRADER_COURSE (the CLI's
    --course sets it), else the checkout this package was installed from, else the current
    folder or the nearest folder above it that holds solutions/ and course.toml."""
    configured = os.environ.get(COURSE_ENV)
    if configured:
        folder = Path(configured).expanduser().resolve()
        if not (folder / "solutions").is_dir():
            raise CourseError(f"{COURSE_ENV}={configured}: no solutions/ folder there; point it at the course repository")
        return folder
    here = Path.cwd().resolve()
    for folder in (REPO, here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "course.toml").is_file():
            return folder
    raise CourseError(f"no course folder (the repository holding solutions/): pass --course FOLDER or set {COURSE_ENV}. "
                      "The learner's kit has none: it runs the visible checks only")


def exercise_for_file(path: Path) -> str:
    """The exercise a notebook belongs to: its metadata's autograder.exercise (written at
    generation), else its name: pytorch_data.ipynb -> pytorch_data; unet_keras.ipynb,
    'Copy of unet_keras.ipynb', 'unet_keras (1).ipynb' -> unet."""
    slugs = exercise_slugs()
    tagged = notebook_tags(path).get("exercise")
    if tagged in slugs:
        return tagged
    stem = re.sub(r"^(copy of\s+)+", "", Path(path).stem.strip(), flags=re.IGNORECASE)
    stem = re.sub(r"(\s*\(\d+\)|[ _-]+copy(\s*\d+)?)+$", "", stem, flags=re.IGNORECASE)
    for slug in sorted(slugs, key=len, reverse=True):
        if stem == slug or stem.startswith(slug + "_"):
            return slug
    raise CourseError(f"cannot tell the exercise of {Path(path).name}; pass --exercise (one of {', '.join(slugs)})")


def notebook_tags(path: Path) -> dict:
    """A notebook's `autograder` metadata ({exercise, framework}), or {} (a .py file, no tag, broken JSON)."""
    try:
        tags = json.loads(Path(path).read_text(encoding="utf-8", errors="replace"))["metadata"]["autograder"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return tags if isinstance(tags, dict) else {}
