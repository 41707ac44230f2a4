"""Where one submission's sandboxed seconds go, probe by probe (ProbeRun.timings, as the child
reports them over its result channel), for an exercise's bundled reference notebooks.

    python benchmarks/probe_split.py unet [--repeat 2]

Each notebook is run `--repeat` times in a row by the same path as a learner's (a worker
forks it, after the first); the last run's split is printed, in seconds.
"""
import argparse
from pathlib import Path

from autograder import worker
from autograder.exercise import REPO, load_exercise
from autograder.grading import probe_submission


def split(slug: str, repeat: int) -> list[tuple[str, dict]]:
    exercise = load_exercise(slug)
    data = exercise.prepare_data()
    rows = []
    for notebook in sorted((REPO / "autograder" / "samples" / slug).glob("reference*.ipynb")):
        for _ in range(repeat):
            _, run, _ = probe_submission(exercise, notebook, data, seed=0)
        assert not run.errors, run.errors  # a reference passes its own probes
        rows.append((notebook.stem, dict(run.timings, total=round(run.seconds, 3))))
    worker.close_all()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercise")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = split(args.exercise, args.repeat)
    stages = list(dict.fromkeys(k for _, t in rows for k in t))
    print("| notebook | " + " | ".join(stages) + " |")
    print("|---" * (len(stages) + 1) + "|")
    for name, timings in rows:
        print(f"| {name} | " + " | ".join(f"{timings.get(s, 0):.2f}" for s in stages) + " |")


if __name__ == "__main__":
    main()
