"""Grade a folder of submissions: in parallel, with a progress bar, resumable.

Each learner's reports land in <out>/<learner>/; grade.json is written last, so a
learner whose grade.json exists (for the same file contents) is not graded again
after an interrupt. grades.csv is rebuilt from those files at the end.
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder.exercise import CourseError, Exercise
from autograder.grading import Grade, file_hash, grade_submission, reference_run
from autograder.report import summary_table, write_gradebook, write_learner_reports
from autograder.sandbox import STOP, Interrupted

SUFFIXES = (".ipynb", ".py")


def find_submissions(folder: Path) -> dict[str, Path]:
    """learner -> file: <learner>.ipynb|.py in the folder, or <learner>/<one notebook or .py>."""
    found = {}
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_file() and entry.suffix in SUFFIXES:
            found[entry.stem] = entry
        elif entry.is_dir() and not entry.name.startswith("."):
            files = sorted(p for p in entry.iterdir() if p.suffix in SUFFIXES and not p.name.startswith("."))
            if files:
                found[entry.name] = files[0]
    return found


def already_graded(out: Path, learner: str, path: Path) -> Grade | None:
    record = out / learner / "grade.json"
    if not record.exists():
        return None
    grade = Grade.from_json(json.loads(record.read_text()))
    return grade if grade.sha256 == file_hash(path) else None


def grade_folder(exercise: Exercise, submissions: Path, out: Path, workers: int = 1, progress: bool = True) -> list[Grade]:
    from tqdm.auto import tqdm

    out.mkdir(parents=True, exist_ok=True)
    todo = find_submissions(submissions)
    if not todo:
        raise CourseError(f"no submissions (.ipynb or .py) in {submissions}")
    data = exercise.prepare_data()
    cache = out / ".reference"
    cache.mkdir(exist_ok=True)
    for variant in exercise.variants:  # once, before the workers start
        reference_run(exercise, variant, data, cache)
    grades = {learner: g for learner, path in todo.items() if (g := already_graded(out, learner, path))}
    pending = {learner: path for learner, path in todo.items() if learner not in grades}
    if grades:
        print(f"resuming: {len(grades)} already graded, {len(pending)} to go", file=sys.stderr)
    bar = tqdm(total=len(todo), initial=len(grades), desc=f"grading {exercise.slug}", unit="submission", disable=not progress)
    STOP.clear()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(_grade_one, exercise, path, learner, data, cache, out): learner
                   for learner, path in pending.items()}
        for future in as_completed(futures):
            grades[futures[future]] = future.result()
            bar.update()
    except (KeyboardInterrupt, Interrupted):
        STOP.set()
        print(f"\ninterrupted: {len(grades)} graded and kept; run the same command again to resume", file=sys.stderr)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    results = list(grades.values())
    write_gradebook(results, out / "grades.csv")
    return results


def _grade_one(exercise, path, learner, data, cache, out) -> Grade:
    grade = grade_submission(exercise, path, learner, data, cache)
    write_learner_reports(grade, out / learner)
    return grade


def print_summary(grades: list[Grade], out: Path) -> None:
    print(summary_table(grades))
    print(f"\nreports: {out}/<learner>/feedback.html and results.json; gradebook: {out / 'grades.csv'}")
