"""Seed sweep: grade every exercise's references and bundled samples (and, at the seeds given
with --wrong-at, the wrong answers of tests/wrong_answers/) at several AUTOGRADER_SEEDs, and
say whether each lost exactly its checks. One JSON line per submission in OUT/rows.jsonl.

    python benchmarks/seed_sweep.py --seeds 0 1 2 3 4 --wrong-at 0 --out /tmp/seed-sweep
    python benchmarks/seed_sweep.py --seeds 1 2 3 4 --wrong-at --references-only --out /tmp/seed-sweep

Another checkout's grader (an older commit, for before/after counts) grades this checkout's wrong
answers when it comes first on PYTHONPATH: the wrong answers, and the solutions they are made
from, are always this file's checkout's, so both graders see the same notebooks.

    git worktree add /tmp/old 1465d68
    PYTHONPATH=/tmp/old python benchmarks/seed_sweep.py --seeds 0 --wrong-only --out /tmp/sweep-old
"""
import argparse
import importlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch  # noqa: F401  (before TensorFlow, in one process)

import autograder
from autograder.batch import grade_folder
from autograder.exercise import REPO, exercise_slugs, load_exercise
from autograder.generate import mutate

HERE = Path(__file__).resolve().parents[1]  # the wrong answers' checkout (REPO is the grader's)
sys.path.insert(0, str(HERE / "tests"))


def expected_fails(slug: str) -> dict:
    """learner -> the checks it must fail: the references none, samples and wrong answers their own."""
    exercise = load_exercise(slug)
    suffix = (lambda fw: f"_{fw}") if len(exercise.variants) > 1 else (lambda fw: "")
    samples = importlib.import_module(f"autograder.checks.{slug}.samples").SAMPLES
    wrong = importlib.import_module(f"wrong_answers.{slug}").WRONG
    named = {name + suffix(s.framework): s.fails for name, s in samples.items()}
    named.update({f"reference{suffix(v.framework)}": frozenset() for v in exercise.variants})
    return named, {name: w.fails for name, w in wrong.items()}


def sweep_one(slug: str, seed: int, with_wrong: bool, out: Path, references_only: bool = False, learners=None,
              wrong_only: bool = False) -> list[dict]:
    exercise = load_exercise(slug)
    samples, wrong = expected_fails(slug)
    if references_only or wrong_only:
        samples = {name: fails for name, fails in samples.items() if name.startswith("reference")}
    folder = out / f"{slug}-{seed}-submissions"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if learners:
        samples = {name: fails for name, fails in samples.items() if name in learners or name.startswith("reference")}
    for name in samples:
        shutil.copy(REPO / "autograder" / "samples" / slug / f"{name}.ipynb", folder)
    expected = dict(samples)
    if with_wrong:
        module = importlib.import_module(f"wrong_answers.{slug}")
        for name, answer in module.WRONG.items():
            if learners and name not in learners:
                continue
            variant = next(v for v in exercise.variants if v.framework == answer.framework)
            solution = HERE / "solutions" / variant.notebook
            (folder / f"{name}.ipynb").write_text(mutate(solution.read_text(), answer.replace))
        expected.update(wrong)
    os.environ["AUTOGRADER_SEED"] = str(seed)
    start = time.time()
    grades = grade_folder(exercise, folder, out / f"{slug}-{seed}-grades", workers=2, progress=False)
    seconds = time.time() - start
    rows = []
    for grade in grades:
        failed = {c.name for c in grade.checks if not c.passed}
        want = set(expected[grade.learner])
        rows.append({"slug": slug, "seed": seed, "learner": grade.learner, "exact": failed == want,
                     "failed": sorted(failed), "expected": sorted(want), "seconds": round(seconds, 1),
                     "messages": {c.name: c.message for c in grade.checks if c.name in failed ^ want}})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--wrong-at", type=int, nargs="*", default=[0])
    parser.add_argument("--slugs", nargs="*", default=exercise_slugs())
    parser.add_argument("--out", type=Path, default=Path("/tmp/seed-sweep"))
    parser.add_argument("--learners", nargs="*", help="grade only these samples and wrong answers (and the references)")
    parser.add_argument("--references-only", action="store_true", help="grade only the references (a faster sweep)")
    parser.add_argument("--wrong-only", action="store_true", help="grade the references and wrong answers, no samples")
    args = parser.parse_args()
    print(f"grader: {Path(autograder.__file__).parent}; wrong answers: {HERE / 'tests' / 'wrong_answers'}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "rows.jsonl", "a") as rows:
        for seed in args.seeds:
            for slug in args.slugs:
                for row in sweep_one(slug, seed, seed in args.wrong_at, args.out, args.references_only, args.learners,
                                     args.wrong_only):
                    rows.write(json.dumps(row) + "\n")
                    rows.flush()
                    print(("ok  " if row["exact"] else "BAD ") + f"{slug} seed {seed} {row['learner']}", flush=True)


if __name__ == "__main__":
    main()
