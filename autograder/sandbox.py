"""Run extracted learner code in a child process: time, memory and file limits, no
network, and the course's answers out of sight. What comes back is plain data.

Isolation, best first, chosen once per process:
- "namespace" (root): new network, mount and PID namespaces and a new root that holds
  only the system, the Python environment, coursekit and the scratch folder, so the
  repository, the answers, other submissions and the reports do not exist there;
  the code runs as nobody.
- "user-namespace" (not root, where the kernel allows it): the same namespaces,
  without the change of user.
- "process": a plain child process with resource limits only. The report says so.
"""
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHILD = Path(__file__).with_name("child.py")
NOBODY = 65534
UNSHARE = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
STATUS_LIMIT = 1_000_000  # bytes of status.jsonl read back; a learner may write to it


STOP = threading.Event()  # set by the batch on Ctrl-C: every running child is killed


class Interrupted(Exception):
    """Grading was stopped from outside; nothing of this submission is recorded."""


class SandboxError(RuntimeError):
    """The sandbox itself could not start: the grader's fault, never the learner's."""


@dataclass
class Limits:
    import_s: float = 120.0  # importing the submission (frameworks included)
    probe_s: float = 120.0  # each probe
    memory_mb: int = 6000
    file_mb: int = 200
    cpu_s: int = 1800


@dataclass
class ProbeRun:
    """What the child handed back: per probe, its arrays or the error it met."""

    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    isolation: str = "process"
    seconds: float = 0.0


@functools.lru_cache(maxsize=None)
def isolation_level() -> str:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "process"
    prefixes = [("namespace", UNSHARE)] if os.geteuid() == 0 else []
    prefixes.append(("user-namespace", UNSHARE[:1] + ["--user", "--map-root-user"] + UNSHARE[1:]))
    for level, prefix in prefixes:
        probe = subprocess.run([*prefix, "mount", "-t", "tmpfs", "tmpfs", "/mnt"], capture_output=True)
        if probe.returncode == 0:
            return level
    return "process"


def run_isolated(
    source: str,
    line_map: list,
    probes_file: Path,
    context: dict,
    limits: Limits = Limits(),
) -> ProbeRun:
    """Run every probe of `probes_file` against `source`; relaunch past a probe that hangs or kills the child."""
    started = time.perf_counter()
    run = ProbeRun(isolation=isolation_level())
    probe_names = _probe_names(probes_file)
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o711)
        while remaining := [p for p in probe_names if p not in run.values and p not in run.errors]:
            scratch = _prepare_scratch(root / f"run{len(run.errors) + len(run.values)}", source, line_map, probes_file)
            job = _job(scratch, line_map, context, run.isolation, limits, skip=set(probe_names) - set(remaining))
            _launch_and_watch(scratch, job, limits, run, remaining)
    run.seconds = time.perf_counter() - started
    return run


def _probe_names(probes_file: Path) -> list[str]:
    import ast

    tree = ast.parse(probes_file.read_text())
    return sorted(n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("probe_"))


def _prepare_scratch(scratch: Path, source: str, line_map: list, probes_file: Path) -> Path:
    for sub in ("out", "home", "data"):
        (scratch / sub).mkdir(parents=True)
    (scratch / "submission.py").write_text(source)
    shutil.copy(CHILD, scratch / "child.py")
    shutil.copy(probes_file, scratch / "probes.py")
    common = probes_file.with_name("probes_common.py")  # what the frameworks' probes share, if anything
    if common.exists():
        shutil.copy(common, scratch / "probes_common.py")
    if os.geteuid() == 0:
        for path in [scratch, *scratch.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
    return scratch


def _job(scratch: Path, line_map, context, isolation, limits: Limits, skip) -> dict:
    data = {name: str(Path(path).resolve()) for name, path in context.get("data", {}).items()}
    isolate = None
    if isolation == "process":
        for name, path in data.items():
            (scratch / "data" / name).symlink_to(path)
    else:
        new_root = scratch.with_name(scratch.name + "-root")
        new_root.mkdir()
        isolate = {
            "root": str(new_root),
            "read_only": _outermost(_visible_paths()),
            "data": data,
            "uid": NOBODY if isolation == "namespace" else None,
        }
    import coursekit

    job = {
        "scratch": str(scratch),
        "python_path": [str(Path(coursekit.__file__).resolve().parent.parent)],  # where coursekit is importable from
        "line_map": line_map,
        "context": dict(context, data=list(data)),
        "skip": sorted(skip),
        "isolate": isolate,
        "limits": {"memory_mb": limits.memory_mb, "file_mb": limits.file_mb, "cpu_s": limits.cpu_s},
    }
    (scratch / "job.json").write_text(json.dumps(job))
    return job


def _visible_paths() -> list[Path]:
    """All the sandboxed code can see besides its scratch folder: the system, Python, coursekit."""
    import coursekit

    system = [Path(p) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")]
    python = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()]
    return system + python + [Path(coursekit.__file__).parent.resolve()]


def _outermost(paths: list[Path]) -> list[str]:
    """Drop paths inside another (a bind inside a read-only bind cannot be made)."""
    ordered = sorted(set(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in ordered:
        if not any(path.is_relative_to(k) for k in kept if not k.is_symlink()):
            kept.append(path)
    return [str(p) for p in kept]


def _child_env(scratch: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch / "home"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "COURSEKIT_OFFLINE": "1",
    }
    for name in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "LANG"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _launch_and_watch(scratch: Path, job: dict, limits: Limits, run: ProbeRun, remaining: list[str]) -> None:
    prefix = {"namespace": UNSHARE, "user-namespace": UNSHARE[:1] + ["--user", "--map-root-user"] + UNSHARE[1:]}
    command = [*prefix.get(run.isolation, []), sys.executable, "-I", str(scratch / "child.py"), str(scratch / "job.json")]
    log = open(scratch / "child.log", "wb")
    child = subprocess.Popen(command, cwd=scratch, env=_child_env(scratch), stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    current, since = None, time.monotonic()
    try:
        while child.poll() is None:
            time.sleep(0.1)
            if STOP.is_set():
                raise Interrupted()
            events = _read_status(scratch)
            if events and events[-1].get("event") == "start" and events[-1].get("probe") != current:
                current, since = events[-1]["probe"], time.monotonic()
            budget = limits.probe_s if current else limits.import_s
            if time.monotonic() - since > budget:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                stage = f"the step {current}" if current else "importing your code"
                _record(run, _read_status(scratch), scratch, remaining,
                        stopped=f"time limit: {stage} ran over {budget:.0f} s (an endless loop, or far too slow)")
                return
    finally:
        _kill_group(child.pid)
        log.close()
    if not any(e.get("event") == "ready" for e in _read_status(scratch)):
        raise SandboxError(f"the sandbox did not start: {(scratch / 'child.log').read_text(errors='replace')[-2000:]}")
    _record(run, _read_status(scratch), scratch, remaining, stopped=_exit_reason(child.returncode, scratch))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _exit_reason(code: int, scratch: Path) -> str:
    tail = (scratch / "child.log").read_bytes()[-400:].decode(errors="replace").strip()
    if code == -signal.SIGKILL or "MemoryError" in tail:
        return "the process was killed (memory limit, or it killed itself)"
    return f"your code ended the grading process (exit code {code})" + (f": {tail.splitlines()[-1]}" if tail else "")


def _read_status(scratch: Path) -> list[dict]:
    path = scratch / "out" / "status.jsonl"
    if not path.exists():
        return []
    events = []
    with open(path, "rb") as f:
        for line in f.read(STATUS_LIMIT).splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def _record(run: ProbeRun, events: list[dict], scratch: Path, remaining: list[str], stopped: str) -> None:
    """Take in finished probes; the probe that was running when the child stopped is charged with the stop."""
    finished = False
    current = None
    for event in events:
        probe = event.get("probe")
        kind = event.get("event")
        if kind == "finished":
            finished = True
        if probe not in remaining:
            continue
        if kind == "start":
            current = probe
        elif kind == "done":
            values = _load_arrays(scratch / "out" / f"{probe}.npz")
            if values is None:
                run.errors[probe] = "the probe's result could not be read back"
            else:
                run.values[probe] = values
        elif kind == "error":
            run.errors[probe] = str(event.get("error", "error"))[:4000]
    if finished:
        for probe in remaining:
            if probe not in run.values and probe not in run.errors:
                run.errors[probe] = "this probe did not run"
        return
    if current and current not in run.values and current not in run.errors:
        run.errors[current] = stopped  # the probe that was running when the child stopped
    elif not any(p in run.values or p in run.errors for p in remaining):
        for probe in remaining:  # it stopped before any probe ran: relaunching would not help
            run.errors[probe] = stopped


def _load_arrays(path: Path) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception:
        return None
