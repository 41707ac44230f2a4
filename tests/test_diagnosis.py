"""Diagnosis: a failed check whose results match a known mistake (a bundled sample) says so.

The unit tests run in milliseconds on hand-made probe runs and a small checks file. The
learners' notebooks below make a sample's mistake written another way (never the sample's own
text); one batch per exercise grades them with the main job's reference cache, which already
holds every sample's run (the main job grades the samples, and diagnosis reuses those runs)."""
import fcntl
import json
import shutil
import textwrap

import numpy as np
import pytest

from autograder.batch import grade_folder
from autograder.checking import judge, load_checks, run_checks, save_run
from autograder.diagnosis import Known, diagnose, diagnosis_text, matches, same_array
from autograder.exercise import load_exercise
from autograder.grading import cached_run, reference_key, run_key
from autograder.generate import mutate
from autograder.sandbox import ProbeRun


def _run(**probes) -> ProbeRun:
    return ProbeRun({p: {k: np.asarray(v) for k, v in arrays.items()} for p, arrays in probes.items()})


# ---- matching, on hand-made runs ----

def test_arrays_are_the_same_within_the_tolerance_only():
    assert same_array(1.0, 1.0 + 5e-5) and same_array([0.0, 1.0], [1e-7, 1.0])
    assert not same_array(1.0, 1.001) and not same_array([1.0, 2.0], [1.0, 2.0, 3.0])
    assert same_array(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert same_array(True, 1) and not same_array(True, False)
    assert same_array("torch.uint8", "torch.uint8") and not same_array("torch.uint8", "torch.float32")
    assert not same_array("1", 1)


def test_only_the_arrays_the_check_read_count():
    learner = _run(probe_a={"x": [1.0, 2.0], "y": [5.0]}, probe_b={"z": [0.0]})
    mistake = Known("m", "the mistake", _run(probe_a={"x": [1.0, 2.0], "y": [9.0]}, probe_b={"z": [7.0]}),
                    frozenset({"check_x"}))
    assert matches("check_x", frozenset({("probe_a", "x")}), learner, mistake)  # y and z differ, unread
    assert not matches("check_x", frozenset({("probe_a", "x"), ("probe_a", "y")}), learner, mistake)
    assert not matches("check_other", frozenset({("probe_a", "x")}), learner, mistake)  # the mistake passes it
    assert not matches("check_x", frozenset(), learner, mistake)  # read nothing: nothing to compare
    assert not matches("check_x", frozenset({("probe_a", "x"), ("probe_c", "w")}), learner, mistake)


def test_a_probe_the_learner_lacks_must_be_lacking_in_the_mistake_too():
    learner = _run(probe_a={"x": [1.0]})
    crashed = Known("c", "crashes", _run(probe_a={"x": [1.0]}), frozenset({"check_x"}))
    ran = Known("r", "runs", _run(probe_a={"x": [1.0]}, probe_b={"y": [2.0]}), frozenset({"check_x"}))
    reads = frozenset({("probe_a", "x"), ("probe_b", None)})
    assert matches("check_x", reads, learner, crashed) and not matches("check_x", reads, learner, ran)
    assert not matches("check_x", frozenset({("probe_b", None)}), learner, crashed)  # no array read at all


def test_the_text_names_each_distinct_mistake_once():
    one = Known("a", "`Normalize` is missing", ProbeRun(), frozenset())
    assert diagnosis_text([]) == ""
    assert diagnosis_text([one, one]) == "Your results match a known mistake: `Normalize` is missing"
    assert "any of: `Normalize` is missing; b" in diagnosis_text([one, Known("b", "", ProbeRun(), frozenset())])


CHECKS = '''
from autograder.checkkit import check, expect, expect_close, judged_only_if


@check(points=2, hint="scale it")
def check_values(got, want):
    """the values match. Then more words"""
    expect_close(got["probe_a"]["x"], want["probe_a"]["x"], "x")


@check(hidden=True)
def check_noted(got, want, note):
    """a passing check
    whose title runs over two lines"""
    note("ran on cpu")


@check()
def check_plain_assertion(got, want):
    """an AssertionError counts as a failure"""
    if got["probe_a"]["flag"]:
        raise AssertionError("the flag is set")


@check()
def check_later(got, want):
    """not judged when an earlier check explains it"""
    judged_only_if(got.values.get("probe_a") is None, "check_values", "x differs")


@check()
def check_crashes(got, want):
    """a bug of the course's check"""
    return got["probe_a"]["no such key"]
'''


@pytest.fixture
def checks_file(tmp_path):
    path = tmp_path / "checks.py"
    path.write_text(textwrap.dedent(CHECKS))
    return path


def test_checks_run_in_process_with_their_metadata(checks_file, tmp_path):
    assert [c.name for c in load_checks(checks_file)] == ["check_values", "check_noted", "check_plain_assertion",
                                                          "check_later", "check_crashes"]
    learner, reference = _run(probe_a={"x": [1.0, 3.0], "flag": True}), _run(probe_a={"x": [1.0, 2.0], "flag": False})
    save_run(learner, tmp_path / "got")
    save_run(reference, tmp_path / "want")
    results = {r.name: r for r in run_checks(checks_file, tmp_path / "got", tmp_path / "want")}
    values = results["check_values"]
    assert (values.title, values.points, values.max_points, values.hint) == ("the values match", 0, 2, "scale it")
    assert "largest difference 1 at index (1,)" in values.message
    noted = results["check_noted"]
    assert noted.passed and noted.hidden and noted.message == "ran on cpu"
    assert noted.title == "a passing check whose title runs over two lines"
    assert results["check_plain_assertion"].message == "AssertionError: the flag is set"
    assert results["check_later"].message == "not judged: see check_values (x differs)"
    crash = results["check_crashes"].message
    assert not results["check_crashes"].passed and "KeyError" in crash and "not in your code" in crash
    visible = run_checks(checks_file, tmp_path / "got", tmp_path / "want", visible_only=True)
    assert "check_noted" not in {r.name for r in visible} and len(visible) == 4


def test_diagnose_names_the_matching_mistake_on_the_checks_that_read_its_arrays(checks_file):
    reference = _run(probe_a={"x": [1.0, 2.0], "flag": False})
    mistake_run = _run(probe_a={"x": [1.0, 3.0], "flag": True})
    mistake = Known("m", "x is off by one", mistake_run,
                    frozenset(r.name for r, _ in judge(checks_file, mistake_run, reference) if not r.passed), "torch")
    other = Known("o", "the other framework's words", mistake_run, mistake.failed, "keras")
    asked = []

    def known(checks):
        asked.append(checks)
        return [mistake, other]

    learner = _run(probe_a={"x": [1.0, 3.0 + 1e-6], "flag": True})
    results = {r.name: r for r in diagnose(judge(checks_file, learner, reference), learner, known, "torch")}
    assert results["check_values"].diagnosis == "Your results match a known mistake: x is off by one"
    assert results["check_plain_assertion"].diagnosis == "Your results match a known mistake: x is off by one"
    assert results["check_later"].diagnosis == ""  # "not judged: see check_values" is diagnosed there
    assert results["check_noted"].diagnosis == "" and results["check_crashes"].diagnosis == ""
    assert asked == [{"check_values", "check_plain_assertion"}]  # asked once, for the checks worth diagnosing
    elsewhere = _run(probe_a={"x": [1.0, 3.0], "flag": True})
    in_keras = {r.name: r for r in diagnose(judge(checks_file, elsewhere, reference), elsewhere, lambda c: [mistake], "keras")}
    assert in_keras["check_values"].diagnosis.endswith("x is off by one")  # another framework's mistake, none of its own
    unknown = _run(probe_a={"x": [1.0, 4.0], "flag": True})
    results = {r.name: r for r in diagnose(judge(checks_file, unknown, reference), unknown, known, "torch")}
    assert results["check_values"].diagnosis == "" and "largest difference 2" in results["check_values"].message
    assert results["check_plain_assertion"].diagnosis  # what it read (the flag) is the mistake's


def test_a_known_run_another_grader_is_making_is_left_to_it(tmp_path):
    """Two graders diagnosing at once share the known mistakes' runs instead of queueing for the
    same one: without waiting, a run whose lock is held is not made (and nothing is probed)."""
    exercise = load_exercise("pytorch_data")
    variant = exercise.variants[0]
    notebook = exercise.solution(variant)
    with open(tmp_path / f"{exercise.slug}-{variant.framework}-{run_key(exercise, variant, notebook, 0)}.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert cached_run(exercise, variant, notebook, {}, tmp_path, 0, wait=False) is None
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".lock"]


# ---- learners' notebooks, graded as a batch ----

# slug -> learner -> (framework, replacements on the reference, {check: the sample it matches, or None})
LEARNERS = {
    "pytorch_data": {
        "identity_normalize": ("torch", [("transforms.Normalize((MEAN,), (STD,))", "transforms.Normalize((0.0,), (1.0,))")],
                               {"check_normalise": "no_normalise"}),
        "wrong_constants": ("torch", [("transforms.Normalize((MEAN,), (STD,))", "transforms.Normalize((0.5,), (0.5,))")],
                            {"check_normalise": None}),
    },
    "distillation": {  # the sample forgets T squared in PyTorch; this learner in Keras
        "keras_without_t_squared": ("keras", [("(1 - alpha) * temperature**2 * soft", "(1 - alpha) * soft")],
                                    {"check_loss_values": "missing_t_squared", "check_t_squared": "missing_t_squared"}),
    },
    "transfer": {  # the sample calls base.eval(); this learner leaves requires_grad as it is, explicitly
        "base_left_trainable": ("torch", [("    for parameter in base.parameters():\n        parameter.requires_grad = False\n",
                                           "    base.requires_grad_(True)  # fine-tune everything\n")],
                                {"check_trainable_parameters": "eval_is_not_freezing", "check_base_frozen": "eval_is_not_freezing"}),
    },
    "unet": {  # the sample calls torch.softmax(..., dim=1); this learner the tensor's method
        "softmax_method": ("torch", [("        return self.head(x)", "        return self.head(x).softmax(dim=1)")],
                           {"check_unet_output": "softmax_output"}),
    },
}


def _samples(slug: str) -> dict:
    import importlib

    return importlib.import_module(f"autograder.checks.{slug}.samples").SAMPLES


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory, main_job):
    """slug -> (learner -> Grade, reports folder): each exercise's learners in one batch, at the main
    job's seed, with its reference cache (the reference's and every sample's probe runs)."""
    graded = {}

    def grade(slug):
        if slug not in graded:
            reports, done = main_job
            assert done.returncode == 0, done.stderr[-3000:]
            exercise = load_exercise(slug)
            folder, out = tmp_path_factory.mktemp(f"{slug}-learners"), tmp_path_factory.mktemp(f"{slug}-diagnosed")
            shutil.copytree(reports / slug / ".reference", out / ".reference")
            for learner, (framework, replacements, _) in LEARNERS[slug].items():
                variant = next(v for v in exercise.variants if v.framework == framework)
                (folder / f"{learner}.ipynb").write_text(mutate(exercise.solution(variant).read_text(), replacements))
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("AUTOGRADER_SEED", "0")  # the main job's seed, which its cached runs hold
                grades = grade_folder(exercise, folder, out, workers=2, progress=False)
            graded[slug] = ({g.learner: g for g in grades}, out)
        return graded[slug]

    return grade


@pytest.mark.parametrize("slug", list(LEARNERS))
def test_a_known_mistake_written_otherwise_is_diagnosed(diagnosed, slug):
    grades, out = diagnosed(slug)
    for learner, (_, _, expected) in LEARNERS[slug].items():
        checks = {c.name: c for c in grades[learner].checks}
        for name, sample in expected.items():
            check = checks[name]
            assert not check.passed, (learner, name)
            if sample is None:  # fails like no known mistake: the check's own account stays
                assert check.diagnosis == "" and "largest difference" in check.message, check
                continue
            told = f"Your results match a known mistake: {_samples(slug)[sample].mistake}"
            assert check.diagnosis == told, (learner, name, check.diagnosis, check.message)
            results = json.loads((out / grades[learner].folder / "results.json").read_text())
            output = next(t["output"] for t in results["tests"] if t["name"] == check.title)
            assert output.startswith(told) and check.message in output
            page = (out / grades[learner].folder / "feedback.html").read_text()
            assert "class='diagnosis'" in page and "Your results match a known mistake" in page


def test_the_main_job_diagnoses_its_samples_and_probes_each_once(main_job):
    reports, done = main_job
    assert done.returncode == 0, done.stderr[-3000:]
    for slug in LEARNERS:
        exercise = load_exercise(slug)
        runs = list((reports / slug / ".reference").glob("*/run.json"))
        assert len(runs) == len(exercise.variants) + len(_samples(slug)), slug  # each sample probed once, for both uses
        for variant in exercise.variants:  # a reference's copy is graded on the reference's run, not probed again
            run = json.loads((reports / slug / ".reference" / f"{slug}-{variant.framework}-{reference_key(exercise, variant, 0)}"
                              / "run.json").read_text())
            copy = next(p for p in (reports / slug).glob("reference*/grade.json")
                        if json.loads(p.read_text())["framework"] == variant.framework)
            assert json.loads(copy.read_text())["seconds"] == round(run["seconds"], 2), (slug, variant.framework)
    grade = json.loads((reports / "pytorch_data" / "no_normalise" / "grade.json").read_text())
    check = next(c for c in grade["checks"] if c["name"] == "check_normalise")
    assert check["diagnosis"] == f"Your results match a known mistake: {_samples('pytorch_data')['no_normalise'].mistake}"
