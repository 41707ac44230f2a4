"""Grade a folder of submissions: in parallel, with a progress bar, resumable.

Each learner's reports land in <out>/<folder>/, where the folder is the learner's name
made safe (see folder_name); grade.json is written last and holds the grade's key, so a
learner whose grade.json holds the key of this run (same file, exercise, checks, probes,
grader, course library, reference, limits and seed) is not graded again. grades.csv is
rebuilt from those grades at the end, also when some learners could not be graded.

The gradebook's own files sit beside the learner folders and cannot be one of them:
grades.csv, the lock .lock, the marker .gradebook.json and the reference cache .reference
(a learner folder never starts with a dot and is never named grades.csv or samples).
One grader at a time writes to an --out: a second one exits with a message.
SIGTERM stops a batch like Ctrl-C: finished learners are kept, the same command resumes.
"""
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

from autograder.exercise import CourseError, Exercise
from autograder.grading import (MAX_ERROR, Grade, batch_seed, changes, check_list, could_not_grade, explain, file_hash,
                                grade_key, grade_submission, reference_run)
from autograder.report import regrade_lines, shown, summary_table, write_gradebook, write_learner_reports
from autograder.sandbox import STOP, Interrupted, probe_code
from autograder import worker

SUFFIXES = (".ipynb", ".py")
GRADEBOOK = "grades.csv"
# names beside the learner folders that no learner folder may take ("samples": the CLI's demo under the default --out)
RESERVED = {GRADEBOOK, "summary.txt", "samples"}
MARKER = ".gradebook.json"  # which exercise this --out holds
LOCK = ".lock"
UNSAFE_IN_FOLDER = "/\\%"
MAX_FOLDER_BYTES = 200


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled as Ctrl-C is."""


def find_submissions(folder: Path, preferred: set[str] = frozenset()) -> dict[str, list[Path]]:
    """learner -> files: <learner>.ipynb|.py in the folder, or <learner>/<the notebook or .py>.
    More than one file for a learner is the instructor's to resolve (that learner's row says so);
    in a learner's folder a file named like the exercise's notebook is the one graded."""
    found: dict[str, list[Path]] = {}
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_file() and entry.suffix in SUFFIXES and entry.stem:
            found.setdefault(entry.stem, []).append(entry)
        elif entry.is_dir() and not entry.name.startswith("."):
            files = sorted(p for p in entry.iterdir() if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file())
            named = [p for p in files if p.name in preferred]
            if files:
                found.setdefault(entry.name, []).extend(named or files)
    return found


def folder_name(learner: str) -> str:
    """A folder name for a learner that stays inside --out and cannot be the gradebook's:
    the name itself where it is plain; else unsafe characters (path separators, %, control and
    invisible characters, bytes that are not UTF-8), a leading dot and the first letter of a
    reserved name written as %XX. Distinct learners get distinct folders."""
    def percent(ch: str) -> str:
        return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogateescape" if 0xDC80 <= ord(ch) <= 0xDCFF else "surrogatepass"))

    name = "".join(ch if ch.isprintable() and ch not in UNSAFE_IN_FOLDER else percent(ch) for ch in learner)
    if name.startswith(".") or name.casefold() in RESERVED:
        name = percent(name[0]) + name[1:]
    if len(name.encode()) > MAX_FOLDER_BYTES:
        digest = hashlib.sha256(learner.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        name = name.encode()[:MAX_FOLDER_BYTES - 13].decode(errors="ignore") + "~" + digest
    return name


@contextmanager
def _locked(out: Path):
    with open(out / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(f"another grader is writing to {out}; wait until it ends, or give this one another --out") from None
        yield  # released when the file closes, also when the process dies


@contextmanager
def _sigterm_as_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _claim(out: Path, exercise: Exercise) -> None:
    """Refuse an --out that holds another exercise's grades; mark it as this exercise's."""
    held = set()
    for record in [out / MARKER, *out.glob("*/grade.json")]:
        try:
            held.add(json.loads(record.read_text())["exercise"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    others = held - {exercise.slug}
    if others:
        raise CourseError(f"{out} holds grades of {', '.join(sorted(others))}, not {exercise.slug}; "
                          f"give each exercise its own --out (for example --out {out / exercise.slug})")
    (out / MARKER).write_text(json.dumps({"exercise": exercise.slug}))


def _clean_leftovers(out: Path) -> None:
    """What a killed run left: half-written reports and reference runs (only one grader holds the lock)."""
    for partial in [*out.glob("*.part"), *out.glob("*/*.part"), *out.glob(".reference/*/partial-*")]:
        partial.unlink(missing_ok=True)
    for draft in [*out.glob(".reference/partial-*"), *out.glob(".reference/tmp*")]:
        try:
            shutil.rmtree(draft) if draft.is_dir() else draft.unlink()
        except Exception:  # never worth stopping a batch for
            pass


@contextmanager
def shared_workers(exercises: list[Exercise]):
    """One set of workers for these exercises' batches (a kind per framework), every one of them
    ended at the end: nothing of the sandboxes outlives it. Inside another one it adds nothing."""
    with worker.shared([(list(probe_code(exercise.probes_file(v)).values()), exercise.prepare_data())
                        for exercise in exercises for v in exercise.variants]):
        yield


def grade_folder(exercise: Exercise, submissions: Path, out: Path, workers: int = 1, progress: bool = True) -> list[Grade]:
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out), _sigterm_as_interrupt(), shared_workers([exercise]):
        _claim(out, exercise)
        _clean_leftovers(out)
        return _grade_all(exercise, Path(submissions), out, workers, progress)


def _grade_all(exercise: Exercise, submissions: Path, out: Path, workers: int, progress: bool) -> list[Grade]:
    from tqdm.auto import tqdm

    found = find_submissions(submissions, {v.notebook for v in exercise.variants})
    if not found:
        raise CourseError(f"no submissions (.ipynb or .py) in {submissions}")
    data = exercise.prepare_data()
    cache = out / ".reference"
    cache.mkdir(exist_ok=True)
    seed = batch_seed(cache)
    with ThreadPoolExecutor(max_workers=workers) as pool:  # once, before the batch: the frameworks' side by side
        list(pool.map(lambda variant: reference_run(exercise, variant, data, cache, seed), exercise.variants))
    checks = check_list(exercise, reference_run(exercise, exercise.variants[0], data, cache, seed))
    grades, duplicates, pending = {}, {}, {}
    for learner, paths in found.items():
        grade, why = _previous(exercise, out, learner, paths, seed)
        if grade:
            grades[learner] = grade
            grade.regraded = ""  # why it was regraded last time is no news now
        elif len(paths) > 1:
            duplicates[learner] = _write(_duplicate(exercise, learner, paths, checks, seed), out, checks)
        else:
            pending[learner] = (paths[0], why)
    reasons = Counter(why for _, why in pending.values() if why)
    if grades or reasons:
        print(f"resuming: {len(grades)} already graded, {len(found) - len(grades)} to go", file=sys.stderr)
    for why, count in sorted(reasons.items()):
        print(f"{count} to regrade: {why}", file=sys.stderr)
    grades.update(duplicates)
    if pending:  # rebuilt at the end; until then an old one would disagree with the reports
        (out / GRADEBOOK).unlink(missing_ok=True)
    bar = tqdm(total=len(found), initial=len(grades), desc=f"grading {exercise.slug}", unit="submission", disable=not progress)
    STOP.clear()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(_grade_one, exercise, path, learner, data, cache, seed, out, checks, why): learner
                   for learner, (path, why) in pending.items()}
        for future in as_completed(futures):
            learner = futures[future]
            try:
                grades[learner] = future.result()
            except Interrupted:
                raise
            except Exception as error:  # a bug of ours: still that learner's row, never the batch's end
                path, why = pending[learner]
                grades[learner] = could_not_grade(_blank(exercise, learner, path), checks, explain(error),
                                                  traceback.format_exc()[-MAX_ERROR:], retry=True)
            bar.update()
    except (KeyboardInterrupt, Interrupted):
        STOP.set()
        print(f"\ninterrupted: {len(grades)} graded and kept; run the same command again to resume", file=sys.stderr)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    results = list(grades.values())
    write_gradebook(results, out / GRADEBOOK)
    return results


def _blank(exercise: Exercise, learner: str, path: Path) -> Grade:
    return Grade(learner, exercise.slug, path.name, "", folder=folder_name(learner))


def _previous(exercise: Exercise, out: Path, learner: str, paths: list[Path], seed: int) -> tuple[Grade | None, str]:
    """(the stored grade if it still holds, else None; why it must be graded again)."""
    record = out / folder_name(learner) / "grade.json"
    if not record.exists():
        return None, ""
    try:
        stored = Grade.from_json(json.loads(record.read_text()))
        key = grade_key(exercise, _hashes(paths), seed)
    except Exception:
        return None, "its stored grade could not be read"
    if stored.retry:
        return None, "the last run could not grade it"
    stale = changes(stored.key, key) if stored.key else ["it was graded by an older grader"]
    if stale:
        return None, " and ".join(stale)
    return stored, ""


def _hashes(paths: list[Path]) -> str:
    return "+".join(file_hash(p) for p in paths)


def _duplicate(exercise: Exercise, learner: str, paths: list[Path], checks, seed: int) -> Grade:
    grade = _blank(exercise, learner, paths[0])
    grade.file = ", ".join(p.name for p in paths)
    grade.key = grade_key(exercise, _hashes(paths), seed)
    names = " and ".join(shown(p.name) for p in paths)
    return could_not_grade(grade, checks, f"more than one file for this learner ({names}); keep one and grade again")


def _grade_one(exercise, path, learner, data, cache, seed, out, checks, why) -> Grade:
    grade = grade_submission(exercise, path, learner, data, cache, seed=seed)
    grade.folder, grade.regraded = folder_name(learner), why
    return _write(grade, out, checks)


def _write(grade: Grade, out: Path, checks) -> Grade:
    """Its reports; when they cannot be written, the row says so (and grades.csv still has it)."""
    grade.folder = grade.folder or folder_name(grade.learner)
    try:
        write_learner_reports(grade, out)
    except Exception as error:
        grade = could_not_grade(grade, checks, f"its reports could not be written ({explain(error)})",
                                traceback.format_exc()[-MAX_ERROR:], retry=True)
        try:
            write_learner_reports(grade, out)
        except Exception:
            pass
    return grade


def print_summary(grades: list[Grade], out: Path) -> None:
    text = summary_table(grades) + f"\n\nreports: {out}/<learner>/feedback.html and results.json; gradebook: {out / GRADEBOOK}"
    encoding = sys.stdout.encoding or "utf-8"
    print(text.encode(encoding, "backslashreplace").decode(encoding))
