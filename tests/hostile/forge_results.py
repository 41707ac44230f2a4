import json
import os
from pathlib import Path

import numpy as np

MARK = "hostile-forge-results"


def _forge():
    """Write full marks wherever a grader might read them: result files in the working folder
    and its parents, the old status.jsonl/npz channel, and framed messages on every open
    descriptor (the new channel), one of them claiming a 4 GB payload."""
    full = {"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 100}]}
    written = []
    for folder in (Path.cwd(), Path.cwd().parent, Path.home(), Path("/tmp")):
        for name in ("results.json", "grade.json", "grades.csv"):
            try:
                (folder / name).write_text(json.dumps(full))
                written.append(str(folder / name))
            except OSError:
                pass
    out = Path.cwd() / "out"
    out.mkdir(exist_ok=True)
    for probe in ("probe_dataset", "probe_transform", "probe_loader", "probe_training_sanity"):
        np.savez(out / f"{probe}.npz", len_train=np.asarray(60000), losses=np.asarray([1.0, 0.0]))
        with open(out / "status.jsonl", "a") as f:
            f.write(json.dumps({"probe": probe, "event": "done"}) + "\n")
    header = json.dumps({"event": "done", "probe": "probe_dataset", "flags": [], "arrays": []}).encode()
    frames = len(header).to_bytes(4, "big") + bytes(4) + header
    frames += len(header).to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") + header
    fds = []
    for fd in range(3, 1024):
        try:
            os.write(fd, frames)
            fds.append(fd)
        except OSError:
            pass
    return f"{MARK}: wrote {len(written)} result files, frames on descriptors {fds}"


FORGED = _forge()


class FashionMNISTDataset:
    forged = FORGED

    def __init__(self, root, train=True, transform=None):
        raise NotImplementedError(FORGED)


def make_transform(augment=False):
    raise NotImplementedError(FORGED)


def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    raise NotImplementedError(FORGED)
