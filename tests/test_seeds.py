"""The grader draws its probes' seed per batch: a correct answer must keep every point at any
seed, and a wrong one lose its checks at any seed. These batches run at seeds where a check
once failed correct answers (found by the sweeps in benchmarks/), through the whole grader."""
import shutil

import pytest

from autograder.batch import grade_folder
from autograder.exercise import REPO, load_exercise

# transfer: a random small base that barely told red from blue (benchmarks/transfer.md):
# the Keras reference's sanity run stalled at the first two seeds, PyTorch's at the last two
TRANSFER_SEEDS = (1979540346, 1394609702, 376383645, 104252791)
TRANSFER_CORRECT = [REPO / "autograder" / "samples" / "transfer" / f"reference_{fw}.ipynb" for fw in ("keras", "torch")] + [
    REPO / "tests" / "realistic" / "transfer" / name for name in ("correct_sequential_keras.ipynb", "correct_module_class_torch.ipynb")]
SOFTMAX_TWICE = REPO / "autograder" / "samples" / "transfer" / "softmax_twice_keras.ipynb"


@pytest.mark.slow
@pytest.mark.parametrize("seed", TRANSFER_SEEDS)
def test_transfer_grades_hold_at_seeds_that_once_stalled(seed, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for notebook in [*TRANSFER_CORRECT, SOFTMAX_TWICE]:
        shutil.copy(notebook, folder)
    monkeypatch.setenv("AUTOGRADER_SEED", str(seed))
    grades = {g.learner: g for g in grade_folder(load_exercise("transfer"), folder, tmp_path / "out", workers=2, progress=False)}
    for notebook in TRANSFER_CORRECT:
        grade = grades[notebook.stem]
        assert grade.score == grade.max_score, (notebook.stem, [(c.name, c.message) for c in grade.checks if not c.passed])
    assert {c.name for c in grades[SOFTMAX_TWICE.stem].checks if not c.passed} == {"check_training_sanity"}
