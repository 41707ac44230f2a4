# appended to the reference
import json
import os
import time
from pathlib import Path

MARK = "hostile-reset-clock"


def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    """Keep telling the grader a new step has started, and sleep far past the time limit."""
    (Path.cwd() / "out").mkdir(exist_ok=True)
    for _ in range(3000):
        with open(Path.cwd() / "out" / "status.jsonl", "a") as f:
            f.write(json.dumps({"probe": f"probe_{time.time()}", "event": "start"}) + "\n")
        print(json.dumps({"event": "start", "mark": MARK}), flush=True)
        time.sleep(0.2)
    raise RuntimeError(MARK)
