"""Where the main job's time goes: `autograder grade` on the bundled samples, exercise by exercise.

    python benchmarks/main_job_split.py [--out /tmp/split]

Runs the CLI's `grade` in this process (the --out must be empty or absent; AUTOGRADER_SEED=0
as the tests run it) and times every probe run it makes, by what was probed: a reference, a
known mistake (made for diagnosis, then reused by that sample's own grade) or a learner's
file. A submission that is a reference or a known mistake byte for byte is graded on that run
("reused"). Prints, per exercise, the batch's wall time and the probe runs' count and summed
seconds (with two workers the sum can exceed the wall time).
"""
import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from autograder import grading
from autograder.cli import SAMPLES, main as cli

runs: dict = defaultdict(lambda: [0, 0.0])  # (exercise, kind) -> [count, seconds]
walls: dict = {}


def _kind(exercise, path: Path) -> str:
    """A learner's file is one of the bundled samples; a known mistake's notebook is written elsewhere."""
    if any(Path(path) == exercise.solution(v) for v in exercise.variants):
        return "reference"
    return "learner" if Path(path).is_relative_to(SAMPLES) else "known mistake"


def _timed_probe(probe):
    def timed(exercise, path, *args, **kwargs):
        started = time.perf_counter()
        try:
            return probe(exercise, path, *args, **kwargs)
        finally:
            record = runs[exercise.slug, _kind(exercise, path)]
            record[0] += 1
            record[1] += time.perf_counter() - started
    return timed


def _timed_batch(grade_all):
    def timed(exercise, *args, **kwargs):
        started = time.perf_counter()
        grades = grade_all(exercise, *args, **kwargs)
        walls[exercise.slug] = (time.perf_counter() - started, len(grades))
        return grades
    return timed


def main() -> None:
    from autograder import batch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="an empty or absent folder (default: a new temporary one)")
    out = parser.parse_args().out or Path(tempfile.mkdtemp(prefix="main-job-"))
    os.environ.setdefault("AUTOGRADER_SEED", "0")
    grading.probe_submission = _timed_probe(grading.probe_submission)
    batch._grade_all = _timed_batch(batch._grade_all)
    started = time.perf_counter()
    rc = cli(["grade", "--out", str(out)])
    total = time.perf_counter() - started
    print(f"\nload average {os.getloadavg()[0]:.1f}; whole run {total:.1f} s; reports in {out}", file=sys.stderr)
    print("| exercise | submissions | batch wall s | reference runs | known-mistake runs | learners' files probed |")
    print("|---|---|---|---|---|---|")
    for slug, (wall, count) in walls.items():
        cells = [f"{runs[slug, k][0]} in {runs[slug, k][1]:.1f} s" for k in ("reference", "known mistake", "learner")]
        print(f"| {slug} | {count} | {wall:.1f} | " + " | ".join(cells) + " |")
    sys.exit(rc)


if __name__ == "__main__":
    main()
