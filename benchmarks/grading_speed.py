"""Grading speed: our grader against `nbgrader autograde`, same submissions, same machine.

    python benchmarks/grading_speed.py [--counts 1 20]

The submissions are the PyTorch data reference with a top-level training cell, as real
learners' notebooks have. nbgrader executes every cell (training included) and its test
cells; our grader extracts the asked-for names and runs only its probes. Prints a
Markdown table: seconds per submission for each, the ratio, and ours with 1 and 2 workers.
"""
import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.batch import grade_folder
from autograder.exercise import REPO, load_exercise
from autograder.nbgrader_course import CONFIG, nbgrader

NAME = "pytorch_data"
TRAINING_CELL = """
# A learner's own training run: the grader never needs it, nbgrader executes it.
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(3):
    for images, labels in make_loader(FashionMNISTDataset(root, transform=make_transform()), batch_size=64):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
print("final loss", float(loss))
"""
TEST_CELLS = {  # nbgrader's kind of check: asserts in locked grade cells
    "test_length": "assert len(FashionMNISTDataset(root, train=True)) == 2000",
    "test_item": "image, label = FashionMNISTDataset(root)[0]\nassert image.shape == (1, 28, 28) and image.dtype == torch.float32 and type(label) is int",
    "test_transform": "out = make_transform()(FashionMNISTDataset(root).images[0])\nassert out.shape == (1, 28, 28) and abs(float(out.mean())) < 3",
    "test_loader": "a = [b[1].tolist() for b in make_loader(FashionMNISTDataset(root), seed=0)]\nb = [b[1].tolist() for b in make_loader(FashionMNISTDataset(root), seed=0)]\nassert a == b",
}


def with_training_and_tests(solution: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(solution, as_version=4)
    notebook.cells = [c for c in notebook.cells if "self_check" not in c.source]
    notebook.cells.append(nbformat.v4.new_code_cell(TRAINING_CELL.strip()))
    for name, source in TEST_CELLS.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                     "grade_id": name, "schema_version": 3}
        notebook.cells.append(cell)
    return notebook


def setup_course(course: Path, count: int) -> Path:
    (course / "source" / NAME).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course)))
    source = with_training_and_tests(REPO / "solutions" / f"{NAME}.ipynb")
    nbformat.write(source, course / "source" / NAME / f"{NAME}.ipynb")
    nbgrader(course, "generate_assignment", NAME, "--force")
    flat = course / "flat"
    flat.mkdir()
    for i in range(count):
        student = f"learner{i:02d}"
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(copy.deepcopy(source), folder / f"{NAME}.ipynb")
        shutil.copy(folder / f"{NAME}.ipynb", flat / f"{student}.ipynb")
    return flat


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(count: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        flat = setup_course(course, count)
        exercise = load_exercise(NAME)
        grade_folder(exercise, flat, Path(tmp) / "warm", workers=1, progress=False)  # reference computed once, not timed
        reference = Path(tmp) / "warm" / ".reference"
        results = {"nbgrader": timed(lambda: nbgrader(course, "autograde", NAME, "--force"))}
        for workers in (1, 2):
            out = Path(tmp) / f"ours{workers}"
            out.mkdir()
            shutil.copytree(reference, out / ".reference")
            results[f"ours_{workers}"] = timed(lambda: grade_folder(exercise, flat, out, workers=workers, progress=False))
        return {k: v / count for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 20])
    args = parser.parse_args()
    print("| submissions | nbgrader autograde s/sub | ours, 1 worker s/sub | ours, 2 workers s/sub | nbgrader / ours (1 worker) |")
    print("|---|---|---|---|---|")
    for count in args.counts:
        r = measure(count)
        print(f"| {count} | {r['nbgrader']:.2f} | {r['ours_1']:.2f} | {r['ours_2']:.2f} | {r['nbgrader'] / r['ours_1']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
