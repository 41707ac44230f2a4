"""The fast path: workers that import the frameworks once and fork a child per submission.

A worker is one bubblewrap sandbox (the same mounts, read-only system, no network, new PID,
IPC, UTS and cgroup namespaces as a per-submission sandbox) running autograder/zygote.py,
which imports numpy, the framework, coursekit and the probes' imports, and never runs
learner code. For each submission it forks a child that isolates itself further before
any learner code runs (zygote.py says how): its own mount, IPC, network, UTS and PID
namespaces, fresh /tmp, /dev/shm and /code, nobody, no capabilities, no user namespaces,
no_new_privs, the same rlimits and, as root, its own cgroup inside the worker's.
The grader keeps the clock, the token and the channel exactly as with a fresh sandbox
(sandbox.Child): only how the child starts differs. A worker in doubt (a job that would
not end, a message it should not send) is killed and the next submission gets a fresh one.

Workers are kept per kind and slot: a batch of N threads uses up to N per kind. A kind is an
isolation level, what the worker imports and the data folders it mounts (read-only, at
/data/<name>). Alone, each set of probes has its own kind (its imports, its data); inside
shared(), which the CLI holds for its whole run, every probe set of one framework shares one
kind: the union of their imports, and the union of their data folders, of which each job
covers those its submission was not given before anything of it runs.
`AUTOGRADER_WORKER=0` forces the old path (a sandbox per submission); where a worker cannot
start, the grader says so once and takes that path.
GPUs: each new worker sees one GPU (CUDA_VISIBLE_DEVICES), round robin; untested here.
"""
import atexit
import itertools
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from autograder.sandbox import (CHILD, Cgroup, Child, Limits, SandboxError, kill_session, _bwrap_command, _child_env,
                                _coursekit_dir)

SWITCH = "AUTOGRADER_WORKER"  # "0": a fresh sandbox per submission (the old path)
ZYGOTE = Path(__file__).with_name("zygote.py")
# what learners' notebooks import beside what the probes do, by the probes' framework
# (in one process torch before TensorFlow: a worker never imports both unless its probes do;
# torch._dynamo: every optimizer's first construction imports it, seconds per submission)
COMPANIONS = {"torch": ["torchvision", "torch._dynamo"], "keras": ["tensorflow"], "tensorflow": ["keras"]}
FRAMEWORKS = {"torch": "torch", "keras": "tensorflow", "tensorflow": "tensorflow"}  # which imports share a kind
ALWAYS = ["numpy", "PIL.Image", "matplotlib.pyplot"]
MAX_MESSAGE = 1 << 16
REPLY_S = 10.0  # a worker that takes longer to fork or to end a killed job is in doubt

_lock = threading.RLock()  # _take forgets dead workers while holding it
_idle: dict[tuple, list["Worker"]] = {}
_every: set["Worker"] = set()
_broken: dict[str, str] = {}  # level -> why workers cannot run here (said once)
_shared: dict[frozenset, tuple[list, dict]] | None = None  # in shared(): frameworks -> (imports, data) of their kind
# bwrap --die-with-parent dies with the thread that started it, and a batch's threads end with
# the batch: workers are started from this thread, which lives as long as the grader
_starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autograder-worker-start")
_gpus = itertools.cycle(sorted(p.name.removeprefix("nvidia") for p in Path("/dev").glob("nvidia[0-9]*")) or [None])


def enabled() -> bool:
    return os.environ.get(SWITCH, "1") != "0"


def default_count() -> int:
    """Workers for a batch: one per GPU where there are GPUs, else one per core."""
    gpus = len(list(Path("/dev").glob("nvidia[0-9]*")))
    return gpus or os.cpu_count() or 1


class Worker:
    """One zygote: its sandbox, its control socket, its cgroup folder (root)."""

    def __init__(self, level: str, key: tuple, preimport: list, data: dict, limits: Limits):
        self.level, self.key, self.limits = level, key, limits
        self.cgroup = Cgroup.create(None) if level == "root" else None
        self._jobs = itertools.count()
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = control
        sources = {}
        code = {"child.py": CHILD.read_text(), "zygote.py": ZYGOTE.read_text()}  # no probes: each job brings its own
        try:
            for name, text in code.items():
                sources[name] = os.memfd_create(name, 0)
                os.write(sources[name], text.encode())
                os.lseek(sources[name], 0, os.SEEK_SET)
            command = _bwrap_command(level, sources, data, limits, None, self.cgroup.folders if self.cgroup else [])
            command += ["-I", "/code/zygote.py", str(theirs.fileno())]
            env = _child_env("/tmp")
            if gpu := next(_gpus):
                env["CUDA_VISIBLE_DEVICES"] = gpu
            self._errors = tempfile.TemporaryFile()
            self.process = _starter.submit(subprocess.Popen, command, stdin=subprocess.DEVNULL, stdout=self._errors,
                                           stderr=self._errors, env=env, pass_fds=[theirs.fileno(), *sources.values()],
                                           start_new_session=True, cwd="/").result()
        finally:
            theirs.close()
            for fd in sources.values():
                os.close(fd)
        self._send({"python_path": [str(_coursekit_dir().parent)], "preimport": preimport})
        try:
            self._expect("ready", None, limits.import_s)
            self._trial()
        except SandboxError:
            self.close()
            raise

    def _trial(self) -> None:
        """A job that isolates itself (every data folder covered) and exits: proof that this
        kernel allows every step."""
        job = self.start([], [], [], None, 1, trial=True)
        code = self.ended(job, REPLY_S)
        if code != 0:
            raise SandboxError(f"a worker's job could not isolate itself (exit code {code}): {self.errors()}")

    def errors(self) -> str:
        self._errors.seek(0)
        return self._errors.read()[-2000:].decode(errors="replace").strip()

    def _send(self, message: dict, fds: list[int] = ()) -> None:
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
        except OSError as error:
            raise SandboxError(f"the worker is gone ({error})") from None

    def _expect(self, event: str, job: int | None, seconds: float) -> dict:
        deadline = time.monotonic() + seconds
        while (wait := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.control], [], [], min(wait, 0.5))
            if not ready:
                continue
            message = self.control.recv(MAX_MESSAGE)
            if not message:
                break
            reply = json.loads(message)
            if reply.get("event") == event and reply.get("job") == job:
                return reply
        raise SandboxError(f"the worker did not say {event!r} in time: {self.errors()}")

    def start(self, fds: list[int], names: list[str], data: list[str], cgroup: str | None, scratch_mb: int,
              trial: bool = False) -> int:
        """A job with these code files and, of the worker's data folders, only these."""
        job = next(self._jobs)
        self._send({"job": job, "code": names, "data": data, "cgroup": cgroup, "scratch_mb": scratch_mb, "trial": trial}, fds)
        self._expect("forked", job, REPLY_S)
        return job

    def kill(self, job: int) -> None:
        try:
            self._send({"kill": job})
        except SandboxError:
            pass

    def ended(self, job: int, seconds: float) -> int | None:
        """The job's exit code (128 + signal when killed), None if it does not end in time."""
        try:
            return self._expect("ended", job, seconds)["code"]
        except (SandboxError, ValueError):
            return None

    def alive(self) -> bool:
        """Running, and its end of the control socket open (nothing else is pending between jobs)."""
        if self.process.poll() is not None:
            return False
        ready, _, _ = select.select([self.control], [], [], 0)
        return not ready

    def close(self) -> None:
        kill_session(self.process)
        self.control.close()
        self._errors.close()
        if self.cgroup is not None:
            self.cgroup.remove()


def _preimports(probes_sources: list[str]) -> list[str]:
    """The modules the probes import (read, not run; their own probes* modules aside) and their
    frameworks' companions."""
    import ast

    imported = []
    for source in probes_sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.append(node.module)
    imported = [n for n in imported if not n.startswith("probes")]
    tops = list(dict.fromkeys(n.split(".")[0] for n in imported))
    return list(dict.fromkeys([*imported, *(c for t in tops for c in COMPANIONS.get(t, [])), *ALWAYS]))


class ForkedChild(Child):
    """sandbox.Child's conversation, with a child forked by a worker instead of a new sandbox."""

    def __init__(self, level: str, code: dict, data: dict, limits: Limits, worker: Worker):
        self.worker, self._code = worker, None
        self._prepare(level, limits, Cgroup.create(limits, worker.cgroup.folders) if worker.cgroup else None)
        requests_r, replies_w, log_w = self._channel()
        sources = {name: self._memfd(name, text) for name, text in code.items()}
        self.workdir, self.data = "/tmp", {name: f"/data/{name}" for name in data}
        fds = [requests_r, replies_w, log_w, *sources.values()]
        try:
            cgroup = self.cgroup.folders[0].name if self.cgroup else None
            self.job = worker.start(fds, list(sources), list(data), cgroup, limits.scratch_mb)
        except SandboxError:
            for fd in list(self._fds):
                self._close(fd)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        self._started(fds)

    @property
    def code_dir(self) -> str:
        return "/code"

    def _exit_code(self) -> int | None:
        if self._code is None:
            self._code = self.worker.ended(self.job, 5)
        return self._code

    def _end(self) -> None:
        if self._code is None:
            self.worker.kill(self.job)
            if self.cgroup is not None:
                self.cgroup.remove()  # every task in the job's cgroup, now
            self._code = self.worker.ended(self.job, REPLY_S)
        _give_back(self.worker, in_doubt=self._code is None)


def child_for(level: str, code: dict, data: dict, limits: Limits) -> Child:
    """A forked child from a worker for these probes, or a fresh sandbox where workers are off."""
    if level == "process" or not enabled() or level in _broken:
        return Child(level, code, data, limits)
    preimport, mounted = _kind([t for n, t in code.items() if n.startswith("probes")], data)
    key = (level, tuple(preimport), tuple(sorted(mounted.items())), limits.import_s)
    for _ in range(2):  # a worker that fails to fork is closed: the next try gets a fresh one
        worker = _take(key, level, preimport, mounted, limits)
        if worker is None:
            break
        try:
            return ForkedChild(level, code, data, limits, worker)
        except SandboxError:
            _forget(worker)
    return Child(level, code, data, limits)


def _kind(probes_sources: list[str], data: dict) -> tuple[list, dict]:
    """What a worker for these probes imports and mounts: its framework's shared kind where
    shared() planned one that covers them, else their own imports and data."""
    preimport = _preimports(probes_sources)
    planned = (_shared or {}).get(_frameworks(preimport))
    if planned and set(preimport) <= set(planned[0]) and data.items() <= planned[1].items():
        return planned
    return preimport, data


def _frameworks(preimport: list) -> frozenset:
    return frozenset(FRAMEWORKS[n] for n in preimport if n in FRAMEWORKS)


@contextmanager
def shared(runs: list[tuple[list[str], dict]]):
    """Until the end of the block, workers are shared by these runs ((probes sources, data), e.g.
    every exercise of a CLI run): one kind per framework, and every worker ends with the block.
    Inside another shared() block it adds nothing: the outer one plans and ends the workers."""
    global _shared
    if _shared is not None:
        yield
        return
    _shared = {}
    for sources, data in runs:
        preimport = _preimports(sources)
        imports, mounted = _shared.setdefault(_frameworks(preimport), ([], {}))
        imports[:] = dict.fromkeys([*imports, *preimport])
        for name, path in data.items():  # a name another run mounts from elsewhere: _kind gives that run its own kind
            mounted.setdefault(name, str(path))
    try:
        yield
    finally:
        _shared = None
        close_all()


def _take(key: tuple, level: str, preimport: list, data: dict, limits: Limits) -> Worker | None:
    with _lock:
        idle = _idle.setdefault(key, [])
        while idle:
            worker = idle.pop()
            if worker.alive():
                return worker
            _forget(worker)
    try:
        worker = Worker(level, key, preimport, data, limits)
    except (SandboxError, OSError) as why:
        with _lock:
            if level not in _broken:
                _broken[level] = str(why)
                print(f"autograder: a worker cannot start here ({str(why)[:300]}); "
                      "every submission starts its own sandbox (slower, as safe)", file=sys.stderr)
        return None
    with _lock:
        _every.add(worker)
    return worker


def _give_back(worker: Worker, in_doubt: bool) -> None:
    if in_doubt or not worker.alive():
        _forget(worker)
        return
    with _lock:
        _idle.setdefault(worker.key, []).append(worker)


def _forget(worker: Worker) -> None:
    worker.close()
    with _lock:
        _every.discard(worker)


def close_all() -> None:
    """Every worker ends (a batch's end: nothing of the sandboxes is left)."""
    with _lock:
        workers = list(_every)
        _every.clear()
        _idle.clear()
    for worker in workers:
        worker.close()


atexit.register(close_all)
