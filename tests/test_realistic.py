"""Realistic learner notebooks (tests/realistic/<slug>/): correct answers written in other styles,
among the demo cells learners leave (downloads, files saved earlier, long training, names that
shadow parameters, guarded imports, configuration). Each has its exact expected grade.

Each exercise's corpus is graded in one batch that reuses the main job's reference runs (its
cache, at the main job's seed 0, as tests/test_exercises.py does): no reference run here."""
import shutil

import pytest

from autograder.batch import grade_folder
from autograder.exercise import REPO, load_exercise
from autograder.extract import extract
from autograder.read import read_submission

CORPUS = REPO / "tests" / "realistic"
MARKER_NOTEBOOK = "correct_demo_writes_marker.ipynb"
# learner -> the checks it must fail; every other check passes (correct notebooks: none fail)
WRONG = {
    "transfer": {
        # PIL fills a truncated JPEG with grey once LOAD_TRUNCATED_IMAGES is set: no None for it
        "wrong_truncated_config_torch": {"check_loader_corrupt", "check_loader_petimages"},
    },
    "unet": {
        # sigma read from a notebook-wide SIGMA (kept: the function reads it as a global), not the argument
        "wrong_global_sigma_torch": {"check_weight_map_parameters"},
    },
}
_graded = {}


def _submissions(slug: str, folder, marker) -> None:
    for notebook in (CORPUS / slug).glob("*.ipynb"):
        (folder / notebook.name).write_text(notebook.read_text().replace("__MARKER__", str(marker)))


def graded(slug: str, tmp_path_factory, main_job):
    """(learner -> Grade, the marker path) for one exercise's corpus, graded in one batch."""
    if slug not in _graded:
        reports, done = main_job
        assert done.returncode == 0, done.stderr[-3000:]
        folder = tmp_path_factory.mktemp(f"realistic-{slug}")
        marker = tmp_path_factory.mktemp(f"marker-{slug}") / "demo-ran.txt"
        out = tmp_path_factory.mktemp(f"grades-{slug}")
        shutil.copytree(reports / slug / ".reference", out / ".reference")  # the main job's reference runs
        _submissions(slug, folder, marker)
        with pytest.MonkeyPatch.context() as patch:  # the seed of those reference runs (conftest)
            patch.setenv("AUTOGRADER_SEED", "0")
            grades = grade_folder(load_exercise(slug), folder, out, workers=2, progress=False)
        _graded[slug] = ({g.learner: g for g in grades}, marker)
    return _graded[slug]


def _cases():
    return [pytest.param(slug.name, nb.stem, id=f"{slug.name}-{nb.stem}")
            for slug in sorted(CORPUS.iterdir()) for nb in sorted(slug.glob("*.ipynb"))]


@pytest.mark.slow
@pytest.mark.parametrize("slug, learner", _cases())
def test_realistic_notebook_gets_its_exact_grade(tmp_path_factory, main_job, slug, learner):
    grades, _ = graded(slug, tmp_path_factory, main_job)
    grade = grades[learner]
    assert not grade.problem, grade.problem
    failed = {c.name for c in grade.checks if not c.passed}
    assert failed == WRONG.get(slug, {}).get(learner, set()), [c.feedback for c in grade.checks if not c.passed]
    if not failed:
        assert grade.score == grade.max_score > 0


@pytest.mark.slow
def test_demo_marker_is_never_written_while_grading(tmp_path_factory, main_job):
    grades, marker = graded("pytorch_data", tmp_path_factory, main_job)
    assert grades[MARKER_NOTEBOOK.removesuffix(".ipynb")].checks
    assert not marker.exists()


def test_demo_writing_the_marker_is_not_extracted(tmp_path):
    notebook = tmp_path / MARKER_NOTEBOOK
    notebook.write_text((CORPUS / "pytorch_data" / MARKER_NOTEBOOK).read_text())
    variant = load_exercise("pytorch_data").variants[0]
    result = extract(read_submission(notebook), list(variant.names))
    assert "MARKER" not in result.source and "open(" not in result.source and "the demo ran" not in result.source
    assert result.missing == [] and result.notes == []
