"""What an exercise is to the grader: its names, its reference, its probes and checks.

Each exercise lives in autograder/checks/<slug>/: `__init__.py` defines EXERCISE,
`probes*.py` run in the sandbox, `checks.py` holds the pytest checks. Its source and
reference answers are solutions/<slug>*.ipynb, the learner's copy exercises/<slug>*.ipynb,
and its chapter book/<slug>.md.
"""
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from autograder.read import Cell


class CourseError(Exception):
    """A user's mistake (an unknown exercise, a missing folder): the command line prints the
    message as one line and exits non-zero; the library never exits by itself."""
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parent.parent
CHECKS = Path(__file__).resolve().parent / "checks"
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
        return REPO / "solutions" / variant.notebook

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


def exercise_for_file(path: Path) -> str:
    """pytorch_data.ipynb -> pytorch_data; unet_keras.ipynb -> unet."""
    stem = Path(path).stem
    for slug in sorted(exercise_slugs(), key=len, reverse=True):
        if stem == slug or stem.startswith(slug + "_"):
            return slug
    raise CourseError(f"cannot tell the exercise of {Path(path).name}; pass --exercise (one of {', '.join(exercise_slugs())})")
