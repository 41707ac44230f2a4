"""The transfer training-sanity probe over many seeds: how confident does each head get?

Runs probes_common.training (the probe itself, in this process, on the solutions' build_model
and on the softmax-twice sample's) at --seeds drawn seeds plus any --also, and prints per
model the range of the mean probability of the true class after training, how far the loss
fell at worst, the lowest accuracy and the seeds below checks.SHARP_FLOOR (a correct head
must have none; softmax applied twice cannot pass 0.731). The figures are
in benchmarks/transfer.md.

    python benchmarks/transfer_sanity_sweep.py --seeds 40 --also 1979540346
    python benchmarks/transfer_sanity_sweep.py --seeds 40 --steps 60
"""
import argparse
import importlib
import subprocess
import sys
import types
from pathlib import Path

import torch  # noqa: F401  (before TensorFlow, in one process)

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "autograder" / "checks" / "transfer")]

import numpy as np  # noqa: E402

import coursekit.sanity  # noqa: E402
import probes_common  # noqa: E402
from autograder.checks.transfer.checks import SHARP_FLOOR  # noqa: E402
from autograder.checks.transfer.samples import SAMPLES  # noqa: E402
from autograder.extract import extract  # noqa: E402
from autograder.generate import mutate  # noqa: E402
from autograder.read import read_submission  # noqa: E402

ADAPTERS = {"keras": ("probes_keras", "KERAS"), "torch": ("probes_torch", "TORCH")}  # one framework a process
CASES = {"reference_keras": ("keras", None), "reference_torch": ("torch", None), "softmax_twice_keras": ("keras", "softmax_twice")}


def namespace(text: str, work: Path, name: str) -> types.SimpleNamespace:
    """build_model as the grader extracts it, run here (trusted code: ours)."""
    notebook = work / f"{name}.ipynb"
    notebook.write_text(text)
    scope = {"__name__": "submission"}
    exec(compile(extract(read_submission(notebook), ["build_model"]).source, str(notebook), "exec"), scope)
    return types.SimpleNamespace(**scope)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=40, help="seeds drawn at random (fixed generator)")
    parser.add_argument("--also", type=int, nargs="*", default=[], help="seeds to add (a batch's seed.json)")
    parser.add_argument("--steps", type=int, help="CPU steps (default: the probe's own)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/transfer-sanity-sweep"))
    parser.add_argument("--case", help="one model, in this process (else each in a process of its own: "
                                       "PyTorch training after Keras's in one process crashes here)")
    args = parser.parse_args()
    if not args.case:
        print("| model | mean true-class probability, min-median-max | largest last/first loss "
              "| lowest accuracy | seeds below SHARP_FLOOR |")
        print("|---|---|---|---|---|", flush=True)
        for case in CASES:
            subprocess.run([sys.executable, *sys.argv, "--case", case], check=True)
        return
    if args.steps:
        default = coursekit.sanity.sanity_steps
        coursekit.sanity.sanity_steps = lambda **kw: default(**{**kw, "cpu_steps": args.steps})
    args.work.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in np.random.default_rng(0).integers(0, 2**31 - 1, args.seeds)] + args.also
    framework, sample = CASES[args.case]
    text = (ROOT / "solutions" / f"transfer_{framework}.ipynb").read_text()
    ns = namespace(mutate(text, SAMPLES[sample].replace) if sample else text, args.work, args.case)
    module, adapter = ADAPTERS[framework]
    adapter = getattr(importlib.import_module(module), adapter)
    runs = [probes_common.training(ns, {"seed": s}, adapter) for s in seeds]
    mean = np.array([r["true_probability"] for r in runs])
    fell = np.array([r["losses"][-1] / r["losses"][0] for r in runs])
    low = [s for s, p in zip(seeds, mean) if p < SHARP_FLOOR]
    print(f"| {args.case} ({len(seeds)} seeds, CPU steps {args.steps or 'as the probe'}) | "
          f"{mean.min():.3f}-{np.median(mean):.3f}-{mean.max():.3f} | "
          f"{fell.max():.2f} | {min(r['accuracy'] for r in runs):.2f} | {len(low)}: {low[:6]} |", flush=True)


if __name__ == "__main__":
    main()
