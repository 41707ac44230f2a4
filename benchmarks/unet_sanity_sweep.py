"""The U-Net PyTorch training sanity probe over many seeds: how far does each model's loss fall?

For the reference and the wrong answers whose sanity outcome matters, prints per seed the
lowest loss of the run and the mean of its last 5, each as a share of the first, and the
range over the seeds. Runs the probe itself (probes_torch.probe_training_sanity) in this
process on the solution's code, mutated as each wrong answer is; --steps overrides the
probe's CPU step count. The figures are in benchmarks/unet.md.

    python benchmarks/unet_sanity_sweep.py --seeds 40
    python benchmarks/unet_sanity_sweep.py --seeds 40 --steps 80
"""
import argparse
import sys
import types
from pathlib import Path

import torch  # noqa: F401  (before TensorFlow, in one process)

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "autograder" / "checks" / "unet")]

import numpy as np  # noqa: E402

import coursekit.sanity  # noqa: E402
import probes_torch  # noqa: E402
from autograder.checks.unet import prepare_data  # noqa: E402
from autograder.checks.unet.samples import SAMPLES  # noqa: E402
from autograder.extract import extract  # noqa: E402
from autograder.generate import mutate  # noqa: E402
from autograder.read import read_submission  # noqa: E402
from wrong_answers.unet import WRONG  # noqa: E402

CASES = ("skip_dropped", "softmax_output", "encoders_in_list_torch")


def namespace(notebook: Path) -> types.SimpleNamespace:
    """The notebook's UNet as the grader extracts it, run here (trusted code: ours)."""
    scope = {"__name__": "submission"}
    exec(compile(extract(read_submission(notebook), ["DecoderBlock", "UNet"]).source, str(notebook), "exec"), scope)
    return types.SimpleNamespace(**scope)


def shares(ns, seed: int, data: dict) -> tuple[float, float]:
    losses = probes_torch.probe_training_sanity(ns, {"seed": seed, "data": data})["losses"]
    return losses.min() / losses[0], losses[-5:].mean() / losses[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--steps", type=int, help="CPU steps (default: the probe's own)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/unet-sanity-sweep"))
    args = parser.parse_args()
    if args.steps:
        default = coursekit.sanity.sanity_steps
        coursekit.sanity.sanity_steps = lambda **kw: default(**{**kw, "cpu_steps": args.steps})
    args.work.mkdir(parents=True, exist_ok=True)
    data, solution = prepare_data(), (ROOT / "solutions" / "unet_torch.ipynb").read_text()
    wrong = {**SAMPLES, **WRONG}
    for name in ("reference", *CASES):
        notebook = args.work / f"{name}.ipynb"
        notebook.write_text(solution if name == "reference" else mutate(solution, wrong[name].replace))
        ns = namespace(notebook)
        lowest, last = np.array([shares(ns, seed, data) for seed in range(args.seeds)]).T
        print(f"{name}: lowest {lowest.min():.3f}-{lowest.max():.3f}, last 5 {last.min():.3f}-{last.max():.3f}")
        print("  lowest per seed: " + " ".join(f"{v:.2f}" for v in lowest), flush=True)


if __name__ == "__main__":
    main()
