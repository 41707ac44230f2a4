"""The sandboxed side of grading: runs in a child process, never in the grader's.

This file is copied into a scratch folder with the extracted submission and the
exercise's probes, and started as `python child.py job.json`. Where it may, it moves
into a new root that holds only what the code needs, drops to an unprivileged user, sets resource
limits, imports the submission, runs each probe and writes what came back as plain
data: out/<probe>.npz (arrays only) and one line per event in out/status.jsonl.
It imports nothing from the course's packages, so it runs wherever it is copied.
"""
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    scratch = Path(job["scratch"])
    if job.get("isolate"):
        _isolate(job["isolate"], scratch)
    _limit(job["limits"])
    os.chdir(scratch)
    _status(scratch / "out", event="ready")
    sys.path[:0] = [str(scratch), *job["python_path"]]
    out = scratch / "out"
    probes = _load("probes", scratch / "probes.py")
    context = dict(job["context"], data={k: str(scratch / "data" / k) for k in job["context"]["data"]})
    learner, import_error = _import_submission(scratch, job["line_map"])
    for name in [n for n in dir(probes) if n.startswith("probe_")]:
        if name in job["skip"]:
            continue
        _status(out, probe=name, event="start")
        _run_probe(out, name, getattr(probes, name), learner, import_error, context, job["line_map"])
    _status(out, event="finished")
    os._exit(0)  # skip the learner's atexit handlers and non-daemon threads


def _isolate(spec: dict, scratch: Path) -> None:
    """Build a new root that holds only the system, the Python environment, the shared
    library and this scratch folder; enter it and drop root. Everything else (the
    course's answers, other submissions, reports) does not exist in there."""
    _mount("--make-rprivate", "/")
    root = Path(spec["root"])
    _mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", str(root))
    _mount("--rbind", "/dev", str(_mkdir(root / "dev")))
    _mount("-t", "proc", "proc", str(_mkdir(root / "proc")))
    _mount("-t", "tmpfs", "-o", "mode=1777,size=256m", "tmpfs", str(_mkdir(root / "tmp")))
    for path in spec["read_only"]:
        if os.path.islink(path):
            (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(path), root / path.lstrip("/"))
        elif os.path.exists(path):
            _bind(path, root / path.lstrip("/"), read_only=True)
    _bind(str(scratch), root / str(scratch).lstrip("/"))
    for name, path in spec["data"].items():
        _bind(path, root / str(scratch).lstrip("/") / "data" / name, read_only=True)
    os.chroot(root)
    os.chdir(scratch)
    if spec.get("uid") is not None:
        os.setgroups([])
        os.setgid(spec["uid"])
        os.setuid(spec["uid"])


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _bind(source: str, target: Path, read_only: bool = False) -> None:
    _mkdir(target)
    _mount("--rbind" if read_only else "--bind", source, str(target))
    if read_only:
        _mount("-o", "remount,bind,ro", str(target))


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _limit(limits: dict) -> None:
    """Hard limits: an unprivileged process cannot raise them again."""
    mb = 2**20
    for kind, value in (
        (resource.RLIMIT_DATA, limits["memory_mb"] * mb),
        (resource.RLIMIT_FSIZE, limits["file_mb"] * mb),
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(kind, (value, value))


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Submission:
    """The learner's module; a missing name says where to define it."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        try:
            return getattr(self._module, name)
        except AttributeError:
            raise NameError(f"`{name}` is not defined in your notebook: define it at the top level of a code cell") from None


def _import_submission(scratch: Path, line_map: list):
    try:
        return Submission(_load("submission", scratch / "submission.py")), None
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: the learner's code must not end us
        return None, "while importing your code: " + _explain(error, line_map)


def _run_probe(out: Path, name: str, probe, learner, import_error, context: dict, line_map: list) -> None:
    started = time.perf_counter()
    if import_error:
        _status(out, probe=name, event="error", error=import_error)
        return
    try:
        values = probe(learner, context)
        arrays = {key: _as_array(key, value) for key, value in values.items()}
    except BaseException as error:
        _status(out, probe=name, event="error", error=_explain(error, line_map))
        return
    import numpy as np

    np.savez(out / f"{name}.npz", **arrays)
    _status(out, probe=name, event="done", seconds=round(time.perf_counter() - started, 3))


def _as_array(key: str, value):
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a TensorFlow tensor
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(f"the value for {key!r} is a {type(value).__name__}, not numbers")
    return array


def _explain(error: BaseException, line_map: list) -> str:
    """The error and the learner's own frames, named by cell and line."""
    where = []
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.endswith("submission.py") and 0 < frame.lineno <= len(line_map):
            cell, line = line_map[frame.lineno - 1]
            where.append(f"{frame.name} (cell {cell}, line {line}): {frame.line}")
    text = f"{type(error).__name__}: {error}".strip()
    if isinstance(error, SystemExit):
        text = f"your code called exit({error.code!r}); remove the exit call"
    return text + "".join(f"\n  in {w}" for w in where[-3:])


def _status(out: Path, **event) -> None:
    with open(out / "status.jsonl", "a") as f:
        f.write(json.dumps(event) + "\n")
        f.flush()
        os.fsync(f.fileno())


if __name__ == "__main__":
    main(sys.argv[1])
