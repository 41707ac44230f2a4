"""Run extracted learner code in a sandbox and take back plain arrays over a channel the
grader owns. autograder/README.md's threat model says what each part stops.

Isolation, best first, chosen once per process:
- "bubblewrap (root)": bwrap, privileged, with new PID, IPC, network, UTS, cgroup and
  mount namespaces; the code runs as nobody with no capabilities and no_new_privs, in a
  per-sandbox cgroup (memory including tmpfs and shared pages, process count).
- "bubblewrap (user)": the same from an ordinary user, in a user namespace; memory and
  processes are limited per process (RLIMIT_AS, RLIMIT_NPROC) plus the tmpfs sizes.
- "process": bubblewrap is missing: a plain child process with resource limits only.
  The grader says so once, and every report says so.
The sandbox sees only the system, Python, coursekit, the data folders (read-only), its
own code (read-only, sent from memory) and size-limited tmpfs for /tmp and /dev/shm.
Nothing is read back from it but the channel's messages and a bounded log.
"""
import functools
import itertools
import json
import os
import secrets
import select
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
FRAME_HEADER = 8  # two big-endian uint32: header length, payload length
MAX_HEADER = 1 << 20
DTYPE_KINDS = "biufcU"
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group", "hosts",
       "fonts", "alternatives", "ssl", "mime.types")
CGROUP_PREFIX = "autograder-"

STOP = threading.Event()  # set by the batch on Ctrl-C: every running child is killed
_cgroup_numbers = itertools.count()


class Interrupted(Exception):
    """Grading was stopped from outside; nothing of this submission is recorded."""


class SandboxError(RuntimeError):
    """The sandbox itself could not start: the grader's fault, never the learner's."""


@dataclass
class Limits:
    import_s: float = 120.0  # importing the submission (frameworks included)
    probe_s: float = 120.0  # each probe
    memory_mb: int = 6000  # the whole sandbox (cgroup), else each process
    file_mb: int = 200
    cpu_s: int = 1800
    processes: int = 512  # tasks (threads count) in the whole sandbox
    scratch_mb: int = 1024  # each of /tmp and /dev/shm
    message_mb: int = 256  # one probe's arrays
    log_kb: int = 64  # the tail of the sandbox's output that is kept


@dataclass
class ProbeRun:
    """What the child handed back: per probe, its arrays or the error it met."""

    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    isolation: str = "process"
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)  # tampering seen, for the instructor
    # seconds by stage, informational (benchmarks' cost split, never a score): "worker" (a fork
    # asked of a warm worker, or a worker started), "sandbox" (until the child is up), "frameworks"
    # (the child loading the probes and their imports), "import" (the submission), then each probe
    timings: dict[str, float] = field(default_factory=dict)


class Stopped(Exception):
    """The child stopped answering: why, in words for the learner."""


class Tampered(Exception):
    """A message on the channel was not the child's own."""


@functools.lru_cache(maxsize=None)
def isolation_level() -> str:
    """"root", "user" (bubblewrap either way) or "process"; says once why it is "process"."""
    if sys.platform != "linux" or shutil.which("bwrap") is None:
        why = f"bubblewrap (bwrap) not found: {INSTALL_HINT}"
    else:
        level = "root" if os.geteuid() == 0 and shutil.which("setpriv") else "user"
        trial = subprocess.run([*_bwrap_base(level, {}, Limits()), "--", *_drop(level), "/usr/bin/true"],
                               capture_output=True, text=True)
        if trial.returncode == 0:
            return level
        why = f"bubblewrap cannot start here ({trial.stderr.strip()[:300]})"
    print(f"autograder: WARNING: {why}; learner code runs as a plain process, with resource limits only", file=sys.stderr)
    return "process"


def run_isolated(source: str, line_map: list, probes_file: Path, context: dict, limits: Limits = Limits()) -> ProbeRun:
    """Run every probe of `probes_file` against `source`; relaunch past a probe that hangs or kills the child."""
    started = time.perf_counter()
    level = isolation_level()
    run = ProbeRun(isolation=_describe(level, limits))
    code = {"submission.py": source, "child.py": CHILD.read_text(), **probe_code(probes_file)}
    probe_names = _run_child(level, code, line_map, context, limits, run, [])  # the list the child runs
    while any(p not in run.values and p not in run.errors for p in probe_names):
        _run_child(level, code, line_map, context, limits, run, probe_names)
    run.seconds = time.perf_counter() - started
    return run


def probe_code(probes_file: Path) -> dict[str, str]:
    """The probes as the child sees them: probes.py, and probes_common.py beside it if there is one
    (what the frameworks' probes share)."""
    code = {"probes.py": probes_file.read_text()}
    common = probes_file.with_name("probes_common.py")
    if common.exists():
        code["probes_common.py"] = common.read_text()
    return code


def _describe(level: str, limits: Limits) -> str:
    scratch = f"/tmp and /dev/shm {limits.scratch_mb} MB each"
    if level == "root":
        return f"bubblewrap (root): nobody, no capabilities; cgroup {limits.memory_mb} MB, {limits.processes} tasks; {scratch}"
    if level == "user":
        return (f"bubblewrap (user namespace): no capabilities; per process {limits.memory_mb} MB data, "
                f"{_address_space_mb(limits)} MB address space, "
                f"{limits.processes} tasks of this user; {scratch}")
    return f"process: no sandbox (bubblewrap missing: {INSTALL_HINT}); per process limits only"


def _probe_names(started: dict) -> list[str]:
    """The probes a child said it runs, in its "started" message."""
    names = started.get("probes")
    if not isinstance(names, list) or not all(isinstance(n, str) and n.startswith("probe_") for n in names):
        raise Tampered("the child's list of probes is not one")
    return names


def _add_time(run: ProbeRun, stage: str, seconds) -> None:
    """Informational: a child's own count is taken only if it is a plain number."""
    if isinstance(seconds, (int, float)) and 0 <= seconds < 1e6:
        run.timings[stage] = round(run.timings.get(stage, 0.0) + seconds, 3)


# ---- one child process: the conversation ----

def _run_child(level: str, code: dict, line_map: list, context: dict, limits: Limits, run: ProbeRun,
               probe_names: list) -> list[str]:
    """One child runs the probes not yet answered; returns the probe list (the first child's)."""
    from autograder.worker import child_for

    token = secrets.token_hex(16)
    asked = time.perf_counter()
    with child_for(level, code, context.get("data", {}), limits) as child:
        _add_time(run, "worker", time.perf_counter() - asked)
        if getattr(child, "worker", None):
            run.isolation = _describe(level, limits) + "; forked from a worker (frameworks imported once)"
        child.send({"token": token, "line_map": line_map, "python_path": [str(_coursekit_dir().parent)],
                    "workdir": child.workdir, "limits": child.child_limits})
        waiting = time.perf_counter()
        try:
            started = child.receive(token, "started", time.monotonic() + limits.import_s)
            probe_names = probe_names or _probe_names(started)
        except Stopped as why:
            raise SandboxError(f"the sandbox did not start ({why}): {child.log_tail()[-2000:]}") from None
        except Tampered as why:
            raise SandboxError(f"the sandbox did not start: {why}") from None
        loading = started.get("seconds")
        loading = loading if isinstance(loading, (int, float)) else 0.0
        _add_time(run, "frameworks", loading)
        _add_time(run, "sandbox", time.perf_counter() - waiting - loading)
        remaining = [p for p in probe_names if p not in run.values and p not in run.errors]
        stage = "importing your code"
        try:
            ready = child.receive(token, "ready", time.monotonic() + limits.import_s)
            _add_time(run, "import", ready.get("seconds"))
            if ready["flags"]:
                _reject_all(run, remaining, "your code, while it was imported", ready["flags"])
                return probe_names
            for probe in remaining:
                stage = f"the step {probe}"
                child.send({"probe": probe, "context": dict(context, data=child.data)})
                header, arrays = child.receive(token, "reply", time.monotonic() + limits.probe_s)
                if header.get("probe") != probe:
                    raise Tampered(f"a result for {str(header.get('probe'))[:60]!r} where the grader asked for {probe}")
                _add_time(run, probe, header.get("seconds"))
                if header["flags"]:
                    _reject_all(run, remaining, probe, header["flags"])
                    return probe_names
                _take(run, probe, header, arrays)
        except Tampered as why:
            _reject_all(run, remaining, stage, [str(why)])
        except Stopped as why:
            _charge(run, remaining, stage, str(why))
    return probe_names


def _take(run: ProbeRun, probe: str, header: dict, arrays: dict) -> None:
    if header.get("delegated"):
        run.errors[probe] = ("no points: " + "; ".join(map(str, header["delegated"]))[:1000]
                             + " (the course library's own answer to this exercise); write it yourself")
    elif header.get("event") == "done":
        run.values[probe] = arrays
    else:
        run.errors[probe] = str(header.get("error", "error"))[:4000]


def _reject_all(run: ProbeRun, remaining: list, where: str, flags: list) -> None:
    """Tampering: what it touched, and everything after it in that process, scores 0."""
    said = [str(f)[:300] for f in flags[:10]]
    run.flags.extend(f"{where}: {f}" for f in said)
    message = (f"tampering detected ({where}): your code reached into the grader ({'; '.join(said)}); "
               "this scores 0 and your instructor is told")
    for probe in remaining:
        if probe not in run.values and probe not in run.errors:
            run.errors[probe] = message


def _charge(run: ProbeRun, remaining: list, stage: str, why: str) -> None:
    """The probe that was running when the child stopped is charged with the stop; a stop while
    importing ends every probe (relaunching would not help)."""
    if stage.startswith("the step "):
        run.errors[stage.removeprefix("the step ")] = why
    else:
        for probe in remaining:
            run.errors[probe] = why


# ---- the sandboxed process ----

class Child:
    """One sandboxed child: its pipes, its log, its cgroup; gone (every process) on exit."""

    def __init__(self, level: str, code: dict, data: dict, limits: Limits):
        self._prepare(level, limits, Cgroup.create(limits) if level == "root" else None)
        requests_r, replies_w, log_w = self._channel()
        sources = {name: self._memfd(name, text) for name, text in code.items()}
        if level == "process":
            command, self.workdir, self.data = self._plain_command(code, data)
        else:
            self.workdir, self.data = "/tmp", {name: f"/data/{name}" for name in data}
            command = _bwrap_command(level, sources, data, limits, self.cgroup)
        command += ["-I", f"{self.code_dir}/child.py", str(requests_r), str(replies_w)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_w, stderr=log_w, env=_child_env(self.workdir),
            pass_fds=[requests_r, replies_w, *sources.values()], start_new_session=True,
            cwd=self.workdir if level == "process" else "/")
        self._started([requests_r, replies_w, log_w, *sources.values()])

    def _prepare(self, level: str, limits: Limits, cgroup: "Cgroup | None") -> None:
        self.level, self.limits, self.cgroup = level, limits, cgroup
        self.child_limits = {"file_mb": limits.file_mb, "cpu_s": limits.cpu_s, "data_mb": limits.memory_mb}
        if level != "root":
            self.child_limits["address_space_mb"] = _address_space_mb(limits)
            self.child_limits["processes"] = _tasks_of_this_user() + limits.processes
        self.host_folder = None
        self._fds: list[int] = []

    def _channel(self) -> tuple[int, int, int]:
        """Pipes for requests, replies and the log; returns the child's ends."""
        requests_r, self._requests = self._pipe()
        self._replies, replies_w = self._pipe()
        self._log_fd, log_w = self._pipe()  # the read end is closed by its reader
        return requests_r, replies_w, log_w

    def _started(self, childs_fds: list[int]) -> None:
        """The child holds its ends now: ours are closed, the log is read."""
        for fd in childs_fds:
            self._close(fd)
        self._log = bytearray()
        self._log_reader = threading.Thread(target=self._read_log, args=(self._log_fd,), daemon=True)
        self._log_reader.start()

    @property
    def code_dir(self) -> str:
        return str(self.host_folder / "code") if self.level == "process" else "/code"

    def _pipe(self) -> tuple[int, int]:
        read, write = os.pipe()
        self._fds += [read, write]
        return read, write

    def _memfd(self, name: str, text: str) -> int:
        fd = os.memfd_create(name, 0)
        self._fds.append(fd)
        os.write(fd, text.encode())
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def _close(self, fd: int) -> None:
        if fd in self._fds:
            self._fds.remove(fd)
            os.close(fd)

    def _plain_command(self, code: dict, data: dict) -> tuple[list, str, dict]:
        self.host_folder = Path(tempfile.mkdtemp(prefix="autograder-"))
        (self.host_folder / "code").mkdir()
        (self.host_folder / "work").mkdir()
        for name, text in code.items():
            (self.host_folder / "code" / name).write_text(text)
        return [sys.executable], str(self.host_folder / "work"), {k: str(Path(v).resolve()) for k, v in data.items()}

    def _read_log(self, fd: int) -> None:
        keep = self.limits.log_kb * 1024
        while chunk := os.read(fd, 65536):
            self._log += chunk
            del self._log[:-keep]
        self._close(fd)

    def log_tail(self) -> str:
        return bytes(self._log).decode(errors="replace")

    def send(self, message: dict) -> None:
        data = json.dumps(message).encode()
        try:
            os.write(self._requests, len(data).to_bytes(4, "big") + bytes(4) + data)
        except BrokenPipeError:
            pass  # the child is gone; receive() says why

    def receive(self, token: str, expected: str, deadline: float):
        """The child's next message of kind `expected` (flags on the way are kept in it)."""
        flags = []
        while True:
            header, payload = self._frame(deadline)
            if not isinstance(header, dict) or header.get("token") != token:
                raise Tampered("a message on the result channel that the grader's child did not write")
            if header.get("event") == "flag":
                flags.append(str(header.get("flag"))[:300])
                continue
            header["flags"] = flags + [str(f)[:300] for f in header.get("flags", [])]
            if expected == "reply":
                if header.get("event") not in ("done", "error"):
                    raise Tampered(f"the child said {str(header.get('event'))[:40]!r} where the grader expected a result")
                arrays = _arrays(header.get("arrays", []), payload)
                return header, arrays
            if header.get("event") != expected or payload:
                raise Tampered(f"the child said {str(header.get('event'))[:40]!r} where the grader expected {expected!r}")
            return header

    def _frame(self, deadline: float) -> tuple[object, bytes]:
        sizes = self._read(FRAME_HEADER, deadline)
        header_size, payload_size = int.from_bytes(sizes[:4], "big"), int.from_bytes(sizes[4:], "big")
        if header_size > MAX_HEADER or payload_size > self.limits.message_mb * 2**20:
            raise Tampered(f"a message of {header_size + payload_size} bytes, over the limit")
        try:
            header = json.loads(self._read(header_size, deadline))
        except ValueError:
            raise Tampered("a message that is not the child's own") from None
        return header, self._read(payload_size, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            if STOP.is_set():
                raise Interrupted()
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise Stopped(f"time limit: ran over {self._budget_word()}")
            ready, _, _ = select.select([self._replies], [], [], min(wait, 0.2))
            if not ready:
                continue
            chunk = os.read(self._replies, min(left, 1 << 20))
            if not chunk:
                raise Stopped(self._exit_reason())
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _budget_word(self) -> str:
        return f"its limit (an endless loop, or far too slow; {self.limits.probe_s:.0f} s a step, {self.limits.import_s:.0f} s to import)"

    def _exit_reason(self) -> str:
        code = self._exit_code()
        self._log_reader.join(timeout=2)
        tail = self.log_tail()[-400:].strip()
        out_of_memory = self.cgroup is not None and self.cgroup.ran_out_of_memory()
        if out_of_memory or code in (-signal.SIGKILL, 128 + signal.SIGKILL) or "MemoryError" in tail:
            return "the process was killed (memory limit, or it killed itself)"
        last = tail.splitlines()[-1][:300] if tail else ""
        return f"your code ended the grading process (exit code {code})" + (f": {last}" if last else "")

    def _exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._end()
        if self.cgroup is not None:
            self.cgroup.remove()
        for fd in list(self._fds):
            if fd != getattr(self, "_log_fd", None):
                self._close(fd)
        self._log_reader.join(timeout=2)
        if self.host_folder is not None:
            shutil.rmtree(self.host_folder, ignore_errors=True)

    def _end(self) -> None:
        """Every process of this child is killed."""
        kill_session(self.process)


def kill_session(process: subprocess.Popen) -> None:
    """Kill every process of `process`'s session (it was started with start_new_session) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _arrays(declared, payload: bytes) -> dict[str, np.ndarray]:
    """Arrays from a reply, checked against what the header declares before any is built."""
    if not isinstance(declared, list) or len(declared) > 10_000:
        raise Tampered("a reply whose arrays are not declared")
    arrays, offset = {}, 0
    for entry in declared:
        try:
            key, dtype_text, shape = entry
            dtype = np.dtype(str(dtype_text))
        except (TypeError, ValueError):
            raise Tampered("a reply with a malformed array") from None
        if (not isinstance(key, str) or len(key) > 200 or key in arrays or dtype.kind not in DTYPE_KINDS
                or dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize > 4096
                or not isinstance(shape, list) or len(shape) > 32
                or not all(isinstance(n, int) and 0 <= n < 2**40 for n in shape)):
            raise Tampered("a reply with a malformed array")
        size = dtype.itemsize * int(np.prod(shape, dtype=object) if shape else 1)
        if offset + size > len(payload):
            raise Tampered("a reply whose arrays are larger than its payload")
        arrays[key] = np.frombuffer(payload, dtype=dtype, count=size // max(dtype.itemsize, 1), offset=offset).reshape(tuple(shape)).copy()
        offset += size
    if offset != len(payload):
        raise Tampered("a reply whose payload is larger than its arrays")
    return arrays


def _address_space_mb(limits: Limits) -> int:
    """Without a cgroup, RLIMIT_AS is what bounds MAP_SHARED memory; it counts address space,
    not memory, and importing torch and torchvision alone reserves 3.5 GB of it, hence the margin."""
    return 2 * limits.memory_mb + 4096


def _tasks_of_this_user() -> int:
    """Threads this user has now (RLIMIT_NPROC counts all of them, the grader's too)."""
    count = 0
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == os.getuid():
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return count


# ---- the bubblewrap command ----

def _coursekit_dir() -> Path:
    import coursekit

    return Path(coursekit.__file__).resolve().parent


def _python_folders() -> list[str]:
    """Python itself and its site-packages (a venv's python may be a link into another prefix)."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    folders |= {p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages")) and os.path.isdir(p)}
    folders |= {os.path.realpath(f) for f in folders}
    return sorted(f for f in folders if os.path.isdir(f) and f != "/")


def _drop(level: str) -> list[str]:
    """As root: become nobody (really, on the host), with an empty bounding set."""
    if level != "root":
        return []
    return ["/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--bounding-set=-all", "--inh-caps=-all", "--"]


def _bwrap_base(level: str, sources: dict, limits: Limits, worker: bool = False) -> list[str]:
    """Namespaces, capabilities, the system; no data, no Python yet. A worker (autograder/zygote.py)
    keeps CAP_SYS_ADMIN to isolate each job further, and as a user may make user namespaces
    (each job's learner cannot: the zygote disables them there)."""
    command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
               "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if level == "root":  # privileged bwrap, then setpriv drops to nobody (a user namespace would map nobody to root)
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        command += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)] + ([] if worker else ["--disable-userns"])
    if worker:  # CAP_KILL: a job's init is nobody in its own user namespace
        command += ["--cap-add", "CAP_SYS_ADMIN"] + (["--cap-add", "CAP_KILL"] if level == "root" else [])
    command += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    command += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            command += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    command += ["--dev", "/dev", "--proc", "/proc"]
    for gpu in sorted(Path("/dev").glob("nvidia*")):
        command += ["--dev-bind", str(gpu), str(gpu)]
    scratch = str(limits.scratch_mb * 2**20)
    command += ["--perms", "1777", "--size", scratch, "--tmpfs", "/tmp",
                "--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm"]
    command += ["--perms", "0755", "--dir", "/code"]
    for name, fd in sources.items():
        command += ["--perms", "0444", "--ro-bind-data", str(fd), f"/code/{name}"]
    return command


def _bwrap_command(level: str, sources: dict, data: dict, limits: Limits, cgroup: "Cgroup | None",
                   worker_cgroups: list[Path] | None = None) -> list[str]:
    """A per-submission sandbox, or with worker_cgroups (a list, empty as a user) a worker's:
    it stays privileged and sees the folders it makes its jobs' cgroups in, at /cgroup/<n>."""
    worker = worker_cgroups is not None
    command = _bwrap_base(level, sources, limits, worker)
    binds = [(f, f) for f in _python_folders()] + [(str(_coursekit_dir()), str(_coursekit_dir()))]
    binds += [(str(Path(path).resolve()), f"/data/{name}") for name, path in data.items()]
    made = {"/", "/usr", "/etc", "/dev", "/proc", "/tmp", "/code"}
    for number, folder in enumerate(worker_cgroups or []):
        command += ["--perms", "0700", "--dir", "/cgroup", "--bind", str(folder), f"/cgroup/{number}"]
    for _, target in binds:
        for parent in reversed(Path(target).parents):
            if str(parent) not in made:
                made.add(str(parent))
                command += ["--perms", "0755", "--dir", str(parent)]
    for source, target in binds:
        command += ["--ro-bind", source, target]
    command += ["--remount-ro", "/", "--chdir", "/tmp", "--", *([] if worker else _drop(level)), sys.executable]
    if cgroup is not None:  # the shell joins the cgroup, then becomes bwrap
        enter = " && ".join(f"echo $$ > {_quote(p)}" for p in cgroup.procs_files())
        command = ["/bin/sh", "-c", f'{enter} && exec "$@"', "sh", *command]
    return command


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)


def _child_env(workdir: str) -> dict:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
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


# ---- the per-sandbox cgroup (root) ----

class Cgroup:
    """Memory (tmpfs and shared pages included) and task count for everything in one sandbox."""

    def __init__(self, folders: list[Path]):
        self.folders = folders

    @staticmethod
    def roots() -> list[Path]:
        v1 = [Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids")]
        if all((r / "cgroup.procs").exists() for r in v1):
            return v1
        v2 = Path("/sys/fs/cgroup")
        controllers = (v2 / "cgroup.subtree_control")
        if controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split()):
            return [v2]
        return []

    @classmethod
    def create(cls, limits: Limits | None, parents: list[Path] | None = None) -> "Cgroup | None":
        """A sandbox's cgroup (limits), or a worker's folder for its jobs' (no limits); with
        parents, a job's inside that worker's folder."""
        roots = cls.roots()
        if not roots or not os.access(roots[0], os.W_OK):
            return None
        if parents is None:
            _sweep_stale(roots)
        name = f"{CGROUP_PREFIX}{os.getpid()}-{next(_cgroup_numbers)}"
        folders = [root / name for root in parents or roots]
        if limits is None:
            for folder in folders:
                folder.mkdir()
                if (folder / "cgroup.subtree_control").exists():  # cgroup v2: the jobs get the controllers
                    (folder / "cgroup.subtree_control").write_text("+memory +pids")
            return cls(folders)
        memory = str(limits.memory_mb * 2**20)
        values = {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory,
                  "memory.max": memory, "memory.swap.max": "0", "pids.max": str(limits.processes)}
        for folder in folders:
            folder.mkdir()
            for file, value in values.items():
                if (folder / file).exists():
                    (folder / file).write_text(value)
        return cls(folders)

    def procs_files(self) -> list[str]:
        return [str(f / "cgroup.procs") for f in self.folders]

    def ran_out_of_memory(self) -> bool:
        for folder in self.folders:
            for name in ("memory.oom_control", "memory.events"):
                path = folder / name
                if path.exists():
                    fields = dict(line.split() for line in path.read_text().splitlines() if len(line.split()) == 2)
                    if int(fields.get("oom_kill", 0)) > 0:
                        return True
        return False

    def remove(self) -> None:
        _empty_and_remove(self.folders)


def _empty_and_remove(folders: list[Path]) -> None:
    inner = [c for f in folders if f.is_dir() for c in f.iterdir() if c.is_dir()]  # a worker's jobs
    if inner:
        _empty_and_remove(inner)
    for _ in range(100):
        pids = set()
        for folder in folders:
            try:
                pids |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            for folder in folders:
                if folder.exists():
                    folder.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def _sweep_stale(roots: list[Path]) -> None:
    """Cgroups left by a grader that was killed (kill -9 cannot clean up after itself)."""
    for root in roots:
        for folder in root.glob(f"{CGROUP_PREFIX}*"):
            owner = folder.name.removeprefix(CGROUP_PREFIX).split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                _empty_and_remove([folder])
