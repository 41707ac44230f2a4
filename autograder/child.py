"""The sandboxed side of grading: runs in a child process, never in the grader's.

Started as `python -I child.py REQUESTS REPLIES` beside submission.py and the exercise's
probes, in a read-only folder. It talks to the grader only over two pipes the grader
opened: the grader sends the job (limits, a secret token), the child imports the
submission and says it is ready; the grader then sends one request per probe with the
probe's context (the seed, the data folders) and the child answers with plain arrays.
Every answer carries the token, which learner code can only learn by reaching into this
process; the ways to do that (frames, the garbage collector, ctypes, tracing, replacing
what the probes use) are watched by an audit hook installed before the submission is
imported, and reported to the grader as flags. It imports nothing from the course's
packages, so it runs wherever it is copied.
"""
import importlib.util
import json
import os
import resource
import struct
import sys
import time
import traceback

CLOCK = time.perf_counter  # taken before the learner's code can replace time's
FRAME = struct.Struct(">II")  # header length, payload length
HIGH_FD = 900  # the channel's descriptors are moved up here, the originals closed
FRAMEWORKS = ("numpy", "torch", "torch.utils.data", "torchvision", "tensorflow", "keras", "PIL.Image")
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
REACHING_IN = frozenset({
    "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
})


def main(request_fd: int, reply_fd: int) -> None:
    started = CLOCK()
    requests, replies = _move_high(request_fd), _move_high(reply_fd)
    job = _receive(requests)
    send = _sender(replies, job.pop("token"))
    _limit(job["limits"])
    code = os.path.dirname(os.path.abspath(__file__))
    submission = os.path.join(code, "submission.py")
    os.chdir(job["workdir"])
    sys.path[:0] = [code, *job["python_path"]]
    probes = _load("probes", os.path.join(code, "probes.py"))
    probe_functions = {n: getattr(probes, n) for n in dir(probes) if n.startswith("probe_")}
    _preimport()
    # before any learner code: the probes this child runs (the grader asks for these) and the
    # seconds spent loading them with their frameworks (informational, for the cost split)
    send({"event": "started", "probes": sorted(probe_functions), "seconds": round(CLOCK() - started, 3)})
    delegated: list[str] = []
    answers = getattr(probes, "COURSE_ANSWERS", None) or getattr(sys.modules.get("probes_common"), "COURSE_ANSWERS", {})
    _watch_course_answers(answers, submission, delegated)
    trusted = trusted_libraries(job["python_path"])
    watch = Watch([probes, sys.modules.get("probes_common"), sys.modules[__name__]])
    flags: list[str] = []
    _not_dumpable()
    sys.addaudithook(_audit_hook(submission, trusted, {requests, replies}, flags, send))
    importing = CLOCK()
    learner, import_error = _import_submission(submission, job["line_map"])
    send({"event": "ready", "flags": flags + watch.changes(), "seconds": round(CLOCK() - importing, 3)})
    while (request := _receive(requests)) is not None:
        name = request["probe"]
        delegated.clear()
        header, arrays = _run_probe(probe_functions[name], learner, import_error, request["context"], job["line_map"])
        send(dict(header, probe=name, flags=flags + watch.changes(), delegated=sorted(set(delegated))), arrays)
    os._exit(0)  # skip the learner's atexit handlers and non-daemon threads


# ---- the channel: frames of (JSON header, raw array bytes) ----

def _move_high(fd: int) -> int:
    high = os.dup2(fd, HIGH_FD + fd, inheritable=False)
    os.close(fd)
    return high


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    os.set_blocking(fd, True)  # learner code may have made it non-blocking
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int):
    """The grader's next message, or None when it has closed the channel."""
    try:
        header_size, _ = FRAME.unpack(_read_exactly(fd, FRAME.size))
        return json.loads(_read_exactly(fd, header_size))
    except EOFError:
        return None


def _sender(fd: int, token: str):
    """A function that sends one message (header and arrays) to the grader, with the token."""
    import _thread

    write, length = os.write, len  # taken before the learner's code can replace builtins.len
    lock = _thread.allocate_lock()  # the audit hook may send from a learner's thread

    def send(header: dict, arrays: dict | None = None) -> None:
        arrays = arrays or {}
        header = dict(header, token=token, arrays=[[k, a.dtype.str, list(a.shape)] for k, a in arrays.items()])
        payload = b"".join(a.tobytes() for a in arrays.values())
        data = json.dumps(header).encode()
        message = memoryview(FRAME.pack(length(data), length(payload)) + data + payload)
        with lock:
            while message:
                message = message[write(fd, message):]

    return send


# ---- watching for code that reaches into this process ----

def trusted_libraries(python_path: list) -> tuple[str, ...]:
    """Folders whose code is not the learner's: Python's own, the environment's, ours."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.abspath(__file__)), *python_path}
    # the environment's packages wherever they are (a .pth may add another environment's), as the sandbox binds them
    folders |= {p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))}
    folders |= {os.path.realpath(f) for f in folders}
    return tuple(f.rstrip("/") + "/" for f in folders) + ("<frozen ",)


def _audit_hook(submission: str, trusted: tuple, channel: set, flags: list, send):
    """Flag the ways into this process when the learner's own code (or code it compiled)
    uses them directly: frames, the garbage collector, tracing, ctypes, /proc/*/mem,
    opening the channel, replacing a function's code."""
    getframe = sys._getframe
    own = os.path.abspath(__file__)
    busy = [False]

    def learners(code) -> bool:
        name = code.co_filename
        return name == submission or not name.startswith(trusted)

    def suspicious(event: str, args: tuple) -> bool:
        if event in REACHING_IN or event.startswith("ctypes."):
            return True
        if event == "object.__getattr__":
            return args[1] in FRAME_ATTRIBUTES
        if event == "object.__setattr__":
            return args[1] == "__code__" or isinstance(args[0], type)
        if event == "open":
            path = args[0]
            return path in channel if isinstance(path, int) else str(path).endswith("/mem")
        return False

    def hook(event: str, args: tuple) -> None:
        if busy[0] or not suspicious(event, args):
            return
        busy[0] = True
        try:
            caller = getframe(1)
            if caller.f_code.co_filename == own:
                return  # this file's own look at its caller (the course-answer watch)
            nearest = [caller, caller.f_back]
            if any(f is not None and learners(f.f_code) for f in nearest):
                if event == "object.__setattr__" and not _is_library_type(args[0], submission, trusted):
                    return  # the learner's own classes are its business
                where = caller.f_code
                flag = f"{event} from {os.path.basename(where.co_filename)}:{caller.f_lineno} ({where.co_name})"
                if flag not in flags and len(flags) < 50:
                    flags.append(flag)
                    send({"event": "flag", "flag": flag})
        finally:
            busy[0] = False

    return hook


def _is_library_type(obj, submission: str, trusted: tuple) -> bool:
    if not isinstance(obj, type):
        return True  # a function's __code__
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    path = getattr(module, "__file__", None) or ""
    return module is not None and path != submission and (not path or path.startswith(trusted))


def _not_dumpable() -> None:
    """Other processes of the same user (the learner's subprocesses) cannot read this one's memory."""
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE


class Watch:
    """What the probes rely on, as it was before the learner's code ran: the probes'
    modules (every name), the frameworks and builtins (every existing name)."""

    def __init__(self, own_modules):
        import builtins

        self.own = {m.__name__: (m, dict(vars(m))) for m in own_modules if m is not None}
        libraries = [builtins] + [sys.modules[n] for n in FRAMEWORKS if n in sys.modules]
        self.libraries = {m.__name__: (m, dict(vars(m))) for m in libraries}
        for name, cls in (("torch.Tensor", "torch"), ("numpy.ndarray", "numpy")):
            module = sys.modules.get(cls)
            if module is not None:
                kind = getattr(module, name.split(".")[1])
                self.libraries[name] = (kind, dict(vars(kind)))
        self.codes = {(n, k): v.__code__ for n, (_, d) in self.own.items() for k, v in d.items() if hasattr(v, "__code__")}

    def changes(self) -> list[str]:
        found = []
        for name, (module, before) in self.own.items():
            now = vars(module)
            changed = sorted(set(now) ^ set(before) | {k for k, v in before.items() if now.get(k, _MISSING) is not v})
            changed = [k for k in changed if k != "__warningregistry__"]  # Python's own record of warnings shown
            if changed:
                found.append(f"{name}.{', '.join(changed[:5])} changed")
        for name, (module, before) in self.libraries.items():
            now = vars(module)
            changed = [k for k, v in before.items() if _replaced(v, now.get(k, _MISSING))]
            if changed:
                found.append(f"{name}.{', '.join(sorted(changed)[:5])} replaced")
        for (name, key), code in self.codes.items():
            if getattr(self.own[name][1][key], "__code__", code) is not code:
                found.append(f"{name}.{key}'s code was replaced")
        return found


_MISSING = object()


def _replaced(before, now) -> bool:
    """A library's function or class now holds another object; lazy submodules, the libraries'
    own state (PIL.Image._initialized counts up on first use) and the frameworks' own wrappers
    that still call the original (torch._dynamo wraps torch.manual_seed) do not count."""
    if now is before or type(before).__name__ == "module" or not callable(before):
        return False
    return getattr(now, "__wrapped__", None) is not before


def _preimport() -> None:
    """Import what the frameworks load lazily, so their own first use is not the learner's doing."""
    for name in ("numpy", "gc", "inspect", "ctypes"):
        importlib.import_module(name)


def _watch_course_answers(answers: dict, submission: str, delegated: list) -> None:
    """Record when the learner's code calls the course library's own answer to an asked
    function (probes name them in COURSE_ANSWERS = {asked name: "module:function"})."""
    getframe = sys._getframe
    for asked, target in answers.items():
        module_name, function_name = target.split(":")
        module = importlib.import_module(module_name)
        original = getattr(module, function_name)

        def wrapper(*args, __original=original, __asked=asked, __target=target, **kwargs):
            if getframe(1).f_code.co_filename == submission:
                delegated.append(f"{__asked} hands its work to {__target.replace(':', '.')}")
            return __original(*args, **kwargs)

        setattr(module, function_name, wrapper)


# ---- running the learner's code ----

def _limit(limits: dict) -> None:
    """Hard limits: an unprivileged process cannot raise them again."""
    mb = 2**20
    chosen = [
        (resource.RLIMIT_DATA, limits["data_mb"] * mb),
        (resource.RLIMIT_FSIZE, limits["file_mb"] * mb),
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if limits.get("address_space_mb"):
        chosen.append((resource.RLIMIT_AS, limits["address_space_mb"] * mb))
    if limits.get("processes"):
        chosen.append((resource.RLIMIT_NPROC, limits["processes"]))
    for kind, value in chosen:
        resource.setrlimit(kind, (value, value))


def _load(name: str, path: str):
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


def _import_submission(path: str, line_map: list):
    try:
        return Submission(_load("submission", path)), None
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: the learner's code must not end us
        return None, "while importing your code: " + _explain(error, line_map)


def _run_probe(probe, learner, import_error, context: dict, line_map: list):
    started = CLOCK()
    if import_error:
        return {"event": "error", "error": import_error, "seconds": 0.0}, {}
    try:
        values = probe(learner, context)
        arrays = {str(key): _as_array(key, value) for key, value in values.items()}
    except BaseException as error:
        return {"event": "error", "error": _explain(error, line_map), "seconds": round(CLOCK() - started, 3)}, {}
    return {"event": "done", "seconds": round(CLOCK() - started, 3)}, arrays


def _as_array(key: str, value):
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a TensorFlow tensor
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biufcU" or array.dtype.fields is not None:
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


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
