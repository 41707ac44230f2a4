"""Grading speed: our grader against `nbgrader autograde`, same submissions, same machine.

    python benchmarks/grading_speed.py [--counts 1 20]
    python benchmarks/grading_speed.py --paths [--exercises ...] [--copies 20] [--workers 2]
    python benchmarks/grading_speed.py --all [--exercises ...] [--copies 20] [--workers 0]

The third form grades `--copies` realistic notebooks per exercise (the bundled references and
tests/realistic's correct ones, in turn) with `nbgrader autograde` (each notebook executed, with
one locked test cell per asked name) and with our grader from a cold reference cache, and prints
both, the load average and the cost split per submission (Grade.timings: worker, sandbox,
frameworks, import, probes, checks; the reports written again and timed).

The second form compares our two paths on every exercise: a fresh sandbox per submission
(AUTOGRADER_WORKER=0) against the workers that fork each one (the default). Its submissions
are the bundled reference notebooks (autograder/samples/<slug>/reference*.ipynb, the
answers with their demo cells), `--copies` of each; the reference cache is warmed first and
copied, so both paths time only the learners. Per exercise it prints seconds per submission
and the split of a submission's time: the sandboxed run (sandbox start, framework import
and probes: Grade.seconds) and the rest (checks and reports), with the load average.

The submissions are the PyTorch data reference with a top-level training cell, as real
learners' notebooks have. nbgrader executes every cell (training included) and its test
cells; our grader extracts the asked-for names and runs only its probes. Prints a
Markdown table: seconds per submission for each, the ratio, and ours with 1 and 2 workers.
"""
import argparse
import copy
import shutil
import sys
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
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course), course_id="speed"))
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


def learners_copy(notebook: Path, target: Path, number: int) -> None:
    """The notebook as a learner's own file: never the reference byte for byte (the grader
    grades such a copy on the reference's run, which no class of learners' notebooks would get)."""
    node = nbformat.read(notebook, as_version=4)
    node.metadata["learner"] = number
    nbformat.write(node, target)


def compare_paths(slug: str, copies: int, workers: int) -> dict:
    """Seconds per submission and its split, with a fresh sandbox each and with workers."""
    import os

    from autograder import worker

    exercise = load_exercise(slug)
    references = sorted((REPO / "autograder" / "samples" / slug).glob("reference*.ipynb"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        flat = Path(tmp) / "in"
        flat.mkdir()
        for i in range(copies):
            for reference in references:
                learners_copy(reference, flat / f"learner{i:02d}_{reference.stem}.ipynb", i)
        one = Path(tmp) / "one"  # the reference cache, from one notebook (not timed)
        one.mkdir()
        shutil.copy(references[0], one)
        grade_folder(exercise, one, Path(tmp) / "warm", workers=1, progress=False)
        for path, switch in (("old", "0"), ("fast", "1")):
            os.environ[worker.SWITCH] = switch
            out = Path(tmp) / path
            out.mkdir()
            shutil.copytree(Path(tmp) / "warm" / ".reference", out / ".reference")
            load = os.getloadavg()[0]
            started = time.perf_counter()
            grades = grade_folder(exercise, flat, out, workers=workers, progress=False)
            wall = time.perf_counter() - started
            count = len(grades)
            sandboxed = sum(g.seconds for g in grades) / count
            results[path] = {"per_sub": wall / count, "sandboxed": sandboxed, "rest": wall * workers / count - sandboxed,
                             "load": f"{load:.1f}-{os.getloadavg()[0]:.1f}", "count": count,
                             "forked": sum("forked" in g.isolation for g in grades)}
        os.environ.pop(worker.SWITCH, None)
    return results


# ----- all four exercises against nbgrader autograde, in one run (--all) -----

STAGES = ("worker", "sandbox", "frameworks", "import", "probes", "checks", "report")


def realistic_notebooks(slug: str, count: int) -> list[Path]:
    """`count` learner notebooks: the bundled references (answers with their demo cells) and the
    correct ones of tests/realistic/<slug>/ (other styles), taken in turn."""
    pool = sorted((REPO / "autograder" / "samples" / slug).glob("reference*.ipynb"))
    pool += sorted((REPO / "tests" / "realistic" / slug).glob("correct_*.ipynb"))
    return [pool[i % len(pool)] for i in range(count)]


def name_test_cells(exercise) -> list[nbformat.NotebookNode]:
    """nbgrader's part: one locked grade cell per asked name (that it is defined and callable).
    Real test cells would also call them, so nbgrader's time here is a lower bound."""
    names = sorted({n for v in exercise.variants for n in v.names})
    cells = []
    for name in names:
        cell = nbformat.v4.new_code_cell(f"assert callable({name})")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                     "grade_id": f"test_{name}", "schema_version": 3}
        cells.append(cell)
    return cells


def with_tests(notebook: Path, tests: list, unmarked: bool = False) -> nbformat.NotebookNode:
    """The notebook's cells and the test cells. `unmarked` drops the cells' own nbgrader marks
    (a learner's copy: the assignment is made from one framework's notebook, and the other's
    solution cells have other ids, which nbgrader autograde rejects as corrupted metadata)."""
    node = nbformat.read(notebook, as_version=4)
    if unmarked:
        for cell in node.cells:
            cell.metadata.pop("nbgrader", None)
    node.cells += copy.deepcopy(tests)
    return node


def nbgrader_course(course: Path, slug: str, notebooks: list[Path]) -> None:
    """An nbgrader course whose assignment `slug` has one notebook, submitted by each learner."""
    tests = name_test_cells(load_exercise(slug))
    (course / "source" / slug).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course), course_id="speed")
                                               + "c.ExecutePreprocessor.timeout = 1200\n")
    nbformat.write(with_tests(notebooks[0], tests), course / "source" / slug / "submission.ipynb")
    nbgrader(course, "generate_assignment", slug, "--force")
    for i, notebook in enumerate(notebooks):
        folder = course / "submitted" / f"learner{i:02d}" / slug
        folder.mkdir(parents=True)
        nbformat.write(with_tests(notebook, tests, unmarked=True), folder / "submission.ipynb")


def cost_split(grades, out: Path) -> dict:
    """Mean seconds per submission by stage (Grade.timings; the reports written again, timed)."""
    from autograder.report import write_learner_reports

    split = dict.fromkeys(STAGES, 0.0)
    out.mkdir(exist_ok=True)
    for grade in grades:
        for stage, seconds in grade.timings.items():
            split[stage if stage in split else "probes"] += seconds
        started = time.perf_counter()
        write_learner_reports(grade, out)
        split["report"] += time.perf_counter() - started
    return {k: v / len(grades) for k, v in split.items()}


def against_nbgrader(slugs: list[str], count: int, workers: int) -> list[dict]:
    import os

    rows = []
    for slug in slugs:
        notebooks = realistic_notebooks(slug, count)
        with tempfile.TemporaryDirectory() as tmp:
            course, flat = Path(tmp) / "course", Path(tmp) / "flat"
            flat.mkdir()
            nbgrader_course(course, slug, notebooks)
            for i, notebook in enumerate(notebooks):
                learners_copy(notebook, flat / f"learner{i:02d}.ipynb", i)
            load = [os.getloadavg()[0]]
            theirs = timed(lambda: _autograde(course, slug))
            load.append(os.getloadavg()[0])
            grades = []
            ours = timed(lambda: grades.extend(grade_folder(load_exercise(slug), flat, Path(tmp) / "out",
                                                            workers=workers, progress=False)))  # cold cache
            load.append(os.getloadavg()[0])
            failed = [g.learner for g in grades if g.score < g.max_score]
            rows.append({"slug": slug, "count": count, "nbgrader": theirs, "ours": ours, "failed": failed,
                         "load": "-".join(f"{x:.1f}" for x in load), "split": cost_split(grades, Path(tmp) / "again")})
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def _autograde(course: Path, slug: str) -> None:
    """nbgrader autograde; a learner it fails on (it still graded the others) is said, not fatal."""
    try:
        nbgrader(course, "autograde", slug, "--force")
    except RuntimeError as error:
        print(f"{slug}: {str(error)[-1500:]}", file=sys.stderr)


def print_against(rows: list[dict]) -> None:
    print("| exercise | submissions | nbgrader autograde s | ours s (cold cache) | nbgrader / ours | not full marks | load average |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['slug']} | {r['count']} | {r['nbgrader']:.1f} | {r['ours']:.1f} | {r['nbgrader'] / r['ours']:.2f} | "
              f"{len(r['failed'])} | {r['load']} |")
    print("\nCost split, mean seconds per submission (each worker's own time; report: written again, timed):\n")
    print("| exercise | " + " | ".join(STAGES) + " |")
    print("|---" * (len(STAGES) + 1) + "|")
    for r in rows:
        print(f"| {r['slug']} | " + " | ".join(f"{r['split'][s]:.2f}" for s in STAGES) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--paths", action="store_true", help="compare a sandbox per submission with the workers")
    parser.add_argument("--exercises", nargs="+", default=["pytorch_data", "transfer", "distillation", "unet"])
    parser.add_argument("--copies", type=int, default=20, help="copies of each reference notebook (--paths)")
    parser.add_argument("--workers", type=int, default=2, help="0: one per core (the default of autograder grade)")
    parser.add_argument("--all", action="store_true", help="every exercise, --copies realistic notebooks, against nbgrader")
    args = parser.parse_args()
    if args.all:
        from autograder.worker import default_count

        print_against(against_nbgrader(args.exercises, args.copies, args.workers or default_count()))
        return
    if args.paths:
        print("| exercise | submissions | path | s/submission | sandboxed run s (start, import, probes) | "
              "checks and report s (per worker) | forked | load average | old / fast |")
        print("|---|---|---|---|---|---|---|---|---|")
        for slug in args.exercises:
            r = compare_paths(slug, args.copies, args.workers)
            for path in ("old", "fast"):
                x = r[path]
                ratio = f"{r['old']['per_sub'] / r['fast']['per_sub']:.2f}" if path == "fast" else ""
                print(f"| {slug} | {x['count']} | {path} | {x['per_sub']:.2f} | {x['sandboxed']:.2f} | {x['rest']:.2f} | "
                      f"{x['forked']} | {x['load']} | {ratio} |", flush=True)
        return
    print("| submissions | nbgrader autograde s/sub | ours, 1 worker s/sub | ours, 2 workers s/sub | nbgrader / ours (1 worker) |")
    print("|---|---|---|---|---|")
    for count in args.counts:
        r = measure(count)
        print(f"| {count} | {r['nbgrader']:.2f} | {r['ours_1']:.2f} | {r['ours_2']:.2f} | {r['nbgrader'] / r['ours_1']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
