"""The worker inside the sandbox: imports the frameworks once, then forks one isolated child
per submission. It never runs learner code itself.

Started as `python -I zygote.py CONTROL` in the same bubblewrap sandbox as a per-submission
child (autograder/worker.py starts it), beside child.py, with every data folder its jobs may
need at /data/<name>. Over the control socket the grader sends the set-up (what to import),
then one job per submission:
the job's pipes and its code as file descriptors (the worker never reads the code, so no
submission's text is ever in the memory the next one inherits). For each job it forks:

  job (C1): joins the job's cgroup (as root), new mount, IPC, network, UTS and PID
      namespaces; the worker's cgroup folder unmounted, the data folders the job was not
      given covered by an empty read-only tmpfs; fresh size-limited tmpfs on /tmp and /dev/shm, the job's code on a fresh
      read-only /code; then forks
  init (C2): pid 1 of the new PID namespace, with its own /proc; becomes nobody, enters two
      nested user namespaces (bwrap --disable-userns's method: the outer one allows one user
      namespace, the inner one uses it up), empties the bounding set, drops every
      capability, no_new_privs, dies with C1; reaps orphans; forks
  learner (C3): child.main() on the job's pipes, exactly as a fresh child would.

The grader owns the clock: it kills the job (its cgroup, or asks here: C1 is killed, C2 and
everything in its PID namespace die with it). Like child.py it imports nothing of the course.
"""
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import traceback

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522
NOBODY = 65534
REQUESTS_FD, REPLIES_FD = 3, 4  # where the learner's child.main finds its channel
SETUP_FAILED = 70  # C1 or C2 could not isolate the job: nothing of the learner ran
MAX_MESSAGE = 1 << 16


def main(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    setup = json.loads(control.recv(MAX_MESSAGE))
    sys.path[:0] = ["/code", *setup["python_path"]]
    _warm(setup["preimport"])
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    control.send(json.dumps({"event": "ready"}).encode())
    jobs: dict[int, int] = {}  # C1's pid -> job number
    while True:
        ready, _, _ = select.select([control, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(control, jobs)
        if control in ready:
            message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 64)
            if not message:
                os._exit(0)  # the grader is gone
            request = json.loads(message)
            if "kill" in request:
                _kill([pid for pid, number in jobs.items() if number == request["kill"]])
            else:
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    control.detach()
                    _job(request, fds, setup, [control_fd, wake_r, wake_w])
                for fd in fds:
                    os.close(fd)
                jobs[pid] = request["job"]
                control.send(json.dumps({"event": "forked", "job": request["job"]}).encode())


def _warm(preimport: list) -> None:
    """Import what the probes import and the frameworks; the probes themselves (the worker
    never sees them) are loaded in each learner child."""
    import child

    for name in preimport:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    child._preimport()


def _reap(control, jobs: dict) -> None:
    while jobs:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in jobs:
            control.send(json.dumps({"event": "ended", "job": jobs.pop(pid), "code": os.waitstatus_to_exitcode(status)}).encode())


def _kill(pids: list) -> None:
    for pid in pids:
        for grandchild in _children(pid):
            _signal(grandchild)
        _signal(pid)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:  # gone; C2 then dies with C1 all the same (PDEATHSIG)
        pass


# ---- the job (C1): namespaces and a fresh filesystem view ----

def _job(job: dict, fds: list, setup: dict, worker_fds: list) -> None:
    try:
        for fd in worker_fds:
            os.close(fd)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        trial = job.get("trial")  # isolation only, no channel: the worker's own test at start
        requests, replies, log, *code = fds if not trial else (os.open("/dev/null", os.O_RDONLY),) * 2 + (2,)
        if not trial:
            _standard_streams(log)
        if job.get("cgroup"):
            for hierarchy in sorted(os.listdir("/cgroup")):
                with open(f"/cgroup/{hierarchy}/{job['cgroup']}/cgroup.procs", "w") as f:
                    f.write(str(os.getpid()))
        _unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWPID)
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        for hierarchy in os.listdir("/cgroup") if os.path.isdir("/cgroup") else []:  # the worker's, not the job's
            _check(LIBC.umount2(f"/cgroup/{hierarchy}".encode(), MNT_DETACH), "umount /cgroup")
        for name in os.listdir("/data") if os.path.isdir("/data") else []:  # other exercises' data: hidden
            if name not in job["data"]:  # (covered: as a user, bubblewrap's binds cannot be unmounted)
                _mount("tmpfs", f"/data/{name}", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")
        _mount("tmpfs", "/code", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755")
        kept = _keep_binds_under(("/tmp/", "/dev/shm/"))
        size = job["scratch_mb"] * 2**20
        for folder in ("/tmp", "/dev/shm"):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
        _restore_binds(kept)
        _write_code(dict(zip(job["code"], code)))
        os.dup2(requests, REQUESTS_FD)
        os.dup2(replies, REPLIES_FD)
        os.closerange(REPLIES_FD + 1, os.sysconf("SC_OPEN_MAX"))
        pid = os.fork()
        if pid == 0:
            _init(trial)
        os.close(REQUESTS_FD)
        os.close(REPLIES_FD)
        _, status = os.waitpid(pid, 0)
        os._exit(_exit_code(status))
    except BaseException:
        traceback.print_exc()
        os._exit(SETUP_FAILED)


def _standard_streams(log: int) -> None:
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)


def _keep_binds_under(tops: tuple) -> list[tuple[str, str]]:
    """The sandbox's read-only binds below /tmp (a Python or coursekit there), parked in the
    job's own /code before the fresh tmpfs hides them."""
    points = []
    for line in open("/proc/self/mountinfo"):
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(tops):
            points.append(point)
    kept = []
    for number, point in enumerate(sorted(points, key=lambda p: p.count("/"))):
        if any(point.startswith(k + "/") for k, _ in kept):
            continue  # inside a bind already kept (MS_REC takes it along)
        park = f"/code/.kept-{number}"
        os.mkdir(park)
        _mount(point, park, None, MS_BIND | MS_REC)
        kept.append((point, park))
    return kept


def _restore_binds(kept: list) -> None:
    for point, park in kept:
        os.makedirs(point, mode=0o755, exist_ok=True)  # root's folders in a sticky /tmp: the learner cannot move them
        _mount(park, point, None, MS_BIND | MS_REC)
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        _check(LIBC.umount2(park.encode(), MNT_DETACH), f"umount {park}")
        os.rmdir(park)


def _write_code(files: dict) -> None:
    for name, fd in files.items():
        with os.fdopen(fd, "rb") as source, open(f"/code/{os.path.basename(name)}", "wb") as target:
            target.write(source.read())
        os.chmod(f"/code/{os.path.basename(name)}", 0o444)
    _mount(None, "/code", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


# ---- init (C2): pid 1, nobody, no user namespaces, no capabilities ----

def _init(trial: bool) -> None:
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _become_nobody()
        _no_user_namespaces()
        _drop_capabilities()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
        learner = os.fork()
        if learner == 0:
            os._exit(0) if trial else _learner()
        os.close(REQUESTS_FD)
        os.close(REPLIES_FD)
        while True:  # pid 1 reaps whatever the learner's processes leave
            pid, status = os.wait()
            if pid == learner:
                os._exit(_exit_code(status))
    except BaseException:
        traceback.print_exc()
        os._exit(SETUP_FAILED)


def _become_nobody() -> None:
    if os.getuid() == 0:
        os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    _prctl(PR_SET_DUMPABLE, 1)  # the uid change made /proc/self root's: the maps below are written there


def _no_user_namespaces() -> None:
    """The outer namespace may hold one user namespace, the inner one is it: none can be made
    inside, and the limit lives where the learner has no capability."""
    _enter_user_namespace()
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("1")
    _enter_user_namespace()


def _enter_user_namespace() -> None:
    _unshare(CLONE_NEWUSER)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{NOBODY} {NOBODY} 1"), ("gid_map", f"{NOBODY} {NOBODY} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _drop_capabilities() -> None:
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _prctl(PR_CAPBSET_DROP, cap)
    header = struct.pack("II", CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # effective, permitted, inheritable: 0, for both 32-bit halves
    _check(LIBC.capset(ctypes.c_char_p(header), ctypes.c_char_p(data)), "capset")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


# ---- the learner (C3) ----

def _learner() -> None:
    try:
        import random

        random.seed()  # a forked copy of the worker's state: reseed, as a fresh process would be
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        os.chdir("/tmp")
        import child

        child.main(REQUESTS_FD, REPLIES_FD)
    except BaseException:
        traceback.print_exc()
    os._exit(1)


# ---- system calls ----

def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _unshare(flags: int) -> None:
    _check(LIBC.unshare(flags), f"unshare({flags:#x})")


def _mount(source, target: str, kind, flags: int, options: str | None = None) -> None:
    def c(text):
        return None if text is None else text.encode()

    _check(LIBC.mount(c(source), c(target), c(kind), ctypes.c_ulong(flags), c(options)), f"mount {target}")


def _prctl(option: int, value: int) -> None:
    _check(LIBC.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


if __name__ == "__main__":
    main(int(sys.argv[1]))
