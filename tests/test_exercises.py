"""Every exercise, every framework: the reference scores full marks, the blank exercise
scores 0, and each wrong answer (bundled samples and tests/wrong_answers/<slug>.py)
loses exactly the checks it should. Every check rejects at least one wrong answer."""
import importlib
import json
import shutil

import pytest

from autograder.batch import grade_folder
from autograder.exercise import REPO, exercise_slugs, load_exercise
from autograder.grading import Grade
from autograder.generate import mutate

SLUGS = exercise_slugs()
_graded = {}
OUT = {}  # slug -> the reports folder of its batch


def _suffix(exercise, framework: str) -> str:
    return f"_{framework}" if len(exercise.variants) > 1 else ""


def wrong_answers(slug: str) -> dict:
    """learner -> Sample: the bundled samples (named <name>[_<framework>] by `autograder generate`)
    and the test-only wrong answers (named as in tests/wrong_answers/<slug>.py) of one exercise."""
    exercise = load_exercise(slug)
    samples = importlib.import_module(f"autograder.checks.{slug}.samples").SAMPLES
    wrong = importlib.import_module(f"wrong_answers.{slug}").WRONG
    named = {name + _suffix(exercise, s.framework): s for name, s in samples.items()}
    assert not set(named) & set(wrong), "a wrong answer's name is used twice"
    return {**named, **wrong}


def graded(slug: str, tmp_path_factory, main_job=None) -> dict:
    """learner -> Grade for the bundled samples and the wrong answers of one exercise, once per session.
    The samples' grades are read from the main job's reports (None: graded here with the rest);
    the wrong answers are graded in one batch (two workers)."""
    if slug not in _graded:
        exercise = load_exercise(slug)
        folder = tmp_path_factory.mktemp(f"{slug}-submissions")
        OUT[slug] = tmp_path_factory.mktemp(f"{slug}-grades")
        samples = {}
        if main_job is None:
            for sample in (REPO / "autograder" / "samples" / slug).glob("*.ipynb"):
                shutil.copy(sample, folder)
        else:
            reports, done = main_job
            assert done.returncode == 0, done.stderr[-3000:]
            samples = {p.parent.name: Grade.from_json(json.loads(p.read_text()))
                       for p in (reports / slug).glob("*/grade.json")}
            shutil.copytree(reports / slug / ".reference", OUT[slug] / ".reference")  # reuse its reference runs
        for name, wrong in importlib.import_module(f"wrong_answers.{slug}").WRONG.items():
            variant = next(v for v in exercise.variants if v.framework == wrong.framework)
            reference = exercise.solution(variant).read_text()
            (folder / f"{name}.ipynb").write_text(mutate(reference, wrong.replace))
        with pytest.MonkeyPatch.context() as patch:  # the main job's seed (conftest): the exact grades hold there
            patch.setenv("AUTOGRADER_SEED", "0")
            grades = grade_folder(exercise, folder, OUT[slug], workers=2, progress=False)
        _graded[slug] = {**samples, **{g.learner: g for g in grades}}
    return _graded[slug]


def failed(grade) -> set:
    return {c.name for c in grade.checks if not c.passed}


def _cases():
    for slug in SLUGS:
        for learner, wrong in wrong_answers(slug).items():
            yield pytest.param(slug, learner, wrong.fails, id=f"{slug}-{learner}")


def _messages():
    for slug in SLUGS:
        for learner, phrases in getattr(importlib.import_module(f"wrong_answers.{slug}"), "MESSAGES", {}).items():
            for check_name, phrase in phrases.items():
                yield pytest.param(slug, learner, check_name, phrase, id=f"{slug}-{learner}-{check_name}")


def _variants():
    for slug in SLUGS:
        exercise = load_exercise(slug)
        for variant in exercise.variants:
            yield pytest.param(slug, _suffix(exercise, variant.framework), id=f"{slug}-{variant.framework}")


@pytest.mark.parametrize("slug, suffix", list(_variants()))
def test_reference_scores_full_marks(tmp_path_factory, main_job, slug, suffix):
    grade = graded(slug, tmp_path_factory, main_job)[f"reference{suffix}"]
    assert failed(grade) == set(), [c.message for c in grade.checks if not c.passed]
    assert grade.score == grade.max_score > 0


@pytest.mark.parametrize("slug, suffix", list(_variants()))
def test_blank_exercise_scores_zero(tmp_path_factory, main_job, slug, suffix):
    grade = graded(slug, tmp_path_factory, main_job)[f"blank{suffix}"]
    assert grade.score == 0 and grade.checks
    assert all("NotImplementedError" in c.message for c in grade.checks)


@pytest.mark.parametrize("slug, learner, fails", list(_cases()))
def test_wrong_answer_loses_exactly_its_checks(tmp_path_factory, main_job, slug, learner, fails):
    grade = graded(slug, tmp_path_factory, main_job)[learner]
    assert failed(grade) == fails, {c.name: c.message for c in grade.checks if not c.passed}
    assert grade.score == grade.max_score - sum(c.max_points for c in grade.checks if c.name in fails)


@pytest.mark.parametrize("slug, learner, check_name, phrase", list(_messages()))
def test_wrong_answer_is_told_its_mistake(tmp_path_factory, main_job, slug, learner, check_name, phrase):
    """The failing check's message names the mistake (tests/wrong_answers/<slug>.py's MESSAGES)."""
    message = next(c.message for c in graded(slug, tmp_path_factory, main_job)[learner].checks if c.name == check_name)
    assert phrase in message, message


@pytest.mark.parametrize("slug, suffix", list(_variants()))
def test_every_check_rejects_some_wrong_answer(tmp_path_factory, main_job, slug, suffix):
    grade = graded(slug, tmp_path_factory, main_job)[f"reference{suffix}"]
    framework = grade.framework
    rejected = set().union(*(w.fails for w in wrong_answers(slug).values() if w.framework == framework))
    assert {c.name for c in grade.checks} == rejected
