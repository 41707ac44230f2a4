"""The sandbox on its own: what learner code can and cannot do in there."""
import os
import sys
import time

import pytest

from autograder.exercise import REPO
from autograder.sandbox import Limits, isolation_level, run_isolated

PROBES = '''
import os, socket

COURSE_ANSWERS = {"indent": "textwrap:indent"}

def probe_a_identity(ns, ctx):
    status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
    return {"uid": os.getuid(), "answer": ns.answer(), "file": 1,
            "caps": status["CapEff"].strip(), "no_new_privs": int(status["NoNewPrivs"])}

def _can_write(folder):
    try:
        open(os.path.join(folder, "new.txt"), "w").close()
        return True
    except OSError:
        return False

def probe_b_view(ns, ctx):
    repo = ctx["repo"]
    return {"repo_entries": " ".join(sorted(os.listdir(repo))) if os.path.isdir(repo) else "",
            "data": open(os.path.join(ctx["data"]["d"], "file.txt")).read(),
            "data_writable": _can_write(ctx["data"]["d"]), "code_writable": _can_write("/code"),
            "shm": " ".join(os.listdir("/dev/shm")), "seen_at_import": ns.SEEN}

def probe_c_network(ns, ctx):
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
        return {"connected": True}
    except OSError:
        return {"connected": False}

def probe_d_hang(ns, ctx):
    return {"x": ns.hang()}

def probe_e_after_hang(ns, ctx):
    return {"x": ns.answer()}

def probe_f_memory(ns, ctx):
    return {"x": ns.hog()}

def probe_g_frames(ns, ctx):
    return {"x": ns.peek()}

def probe_h_after_frames(ns, ctx):
    return {"x": ns.answer()}
'''
SOURCE = '''
import os, sys, textwrap

def _seen():
    """Everything readable at import time: the seed must not be there yet."""
    found = b""
    for fd in range(3, 1100):
        try:
            os.set_blocking(fd, False)
            found += os.read(fd, 1 << 16)
        except OSError:
            pass
    return found.decode(errors="replace")

SEEN = "918273645" in _seen()

def answer():
    return 42

def hang():
    while True:
        pass

def hog():
    return bytearray(8 * 2**30)

def peek():
    return sys._getframe(1).f_code.co_name

def indent(text):
    return textwrap.indent(text, "  ")
'''
DELEGATING = '''
def probe_indent(ns, ctx):
    return {"text": ns.indent("a")}
'''
needs_root = pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="as root on Linux")
LINES = [(1, i) for i in range(1, 40)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sandbox")
    (folder / "probes.py").write_text(PROBES)
    (folder / "d").mkdir()
    (folder / "d" / "file.txt").write_text("visible")
    (folder / "delegating").mkdir()
    (folder / "delegating" / "probes.py").write_text(PROBES.split("def probe_a")[0] + DELEGATING)
    return folder


@pytest.fixture(scope="module")
def run(folder):
    context = {"seed": 918273645, "repo": str(REPO), "data": {"d": str(folder / "d")}}
    return run_isolated(SOURCE, LINES, folder / "probes.py", context, Limits(import_s=60, probe_s=5, memory_mb=2000))


def test_probes_return_plain_data(run):
    assert int(run.values["probe_a_identity"]["answer"]) == 42
    assert int(run.values["probe_a_identity"]["file"]) == 1  # a key named like np.savez's parameter


def test_a_hanging_probe_is_stopped_and_the_rest_still_run(run):
    assert "time limit" in run.errors["probe_d_hang"]
    assert int(run.values["probe_e_after_hang"]["x"]) == 42


def test_memory_is_limited(run):
    assert "MemoryError" in run.errors["probe_f_memory"]
    assert "in hog (cell 1, line" in run.errors["probe_f_memory"]


def test_reaching_into_the_grader_is_flagged_and_scores_nothing_after(run):
    assert "tampering detected" in run.errors["probe_g_frames"]
    assert "tampering detected" in run.errors["probe_h_after_frames"]
    assert any("sys._getframe from submission.py" in f for f in run.flags)


def test_the_context_arrives_only_when_a_probe_runs(run):
    assert not run.values["probe_b_view"]["seen_at_import"]


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux only")
def test_no_capabilities_network_answers_or_shared_state(run):
    assert isolation_level() in ("root", "user")
    identity = run.values["probe_a_identity"]
    assert int(identity["uid"]) == 65534
    assert str(identity["caps"]) == "0000000000000000" and int(identity["no_new_privs"]) == 1
    assert not run.values["probe_c_network"]["connected"]
    view = run.values["probe_b_view"]
    assert set(str(view["repo_entries"]).split()) <= {".venv", "coursekit"}  # only these are mounted
    assert str(view["data"]) == "visible" and not view["data_writable"] and not view["code_writable"]
    assert str(view["shm"]) == ""  # a private /dev/shm


@needs_root
def test_as_root_the_sandbox_is_in_its_own_cgroup(run):
    assert "cgroup 2000 MB" in run.isolation


def test_delegating_to_the_course_library_scores_nothing(folder):
    run = run_isolated(SOURCE, LINES, folder / "delegating" / "probes.py", {"seed": 1, "data": {}},
                       Limits(import_s=60, probe_s=10))
    assert "hands its work to textwrap.indent" in run.errors["probe_indent"]


# ---- the fast path: a worker forks each submission (autograder/worker.py, zygote.py) ----

LEAVER = '''
import os, subprocess, numpy
def leave():
    open("/tmp/left.txt", "w").write("x")
    open("/dev/shm/left-segment", "wb").write(b"x")
    os.environ["LEFT_BEHIND"] = "1"
    numpy.left_behind = 1
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    return 1
'''
LOOKER = '''
import os, numpy
def leave():
    return " ".join([*os.listdir("/tmp"), *os.listdir("/dev/shm"), os.environ.get("LEFT_BEHIND", ""),
                     str(getattr(numpy, "left_behind", "")), *(open(f"/proc/{p}/cmdline").read().split("\\0")[0].rsplit("/", 1)[-1]
                       for p in os.listdir("/proc") if p.isdigit())])[:1000]
'''
LEAVE_PROBE = '''
def probe_leave(ns, ctx):
    return {"seen": str(ns.leave())}
'''


@pytest.fixture
def fast_path(monkeypatch, tmp_path):
    from autograder import worker

    monkeypatch.setenv(worker.SWITCH, "1")
    worker.close_all()  # the other tests' workers
    (tmp_path / "probes.py").write_text(LEAVE_PROBE)
    yield worker, tmp_path / "probes.py"
    worker.close_all()


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux only")
def test_a_submission_sees_nothing_the_previous_one_left_in_its_worker(fast_path):
    worker, probes = fast_path
    first = run_isolated(LEAVER, LINES, probes, {"seed": 1, "data": {}}, Limits(import_s=60, probe_s=20))
    assert "forked from a worker" in first.isolation and int(first.values["probe_leave"]["seen"]) == 1
    [used] = worker._every
    second = run_isolated(LOOKER, LINES, probes, {"seed": 1, "data": {}}, Limits(import_s=60, probe_s=20))
    assert worker._every == {used}  # the same worker forked both
    seen = str(second.values["probe_leave"]["seen"])
    assert "left" not in seen and "sleep" not in seen and "1" not in seen.split(), seen


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux only")
def test_a_dead_worker_is_replaced(fast_path):
    import signal

    worker, probes = fast_path
    assert run_isolated(LOOKER, LINES, probes, {"seed": 1, "data": {}}, Limits(import_s=60)).values
    [dead] = worker._every
    os.killpg(dead.process.pid, signal.SIGKILL)
    dead.process.wait()
    for _ in range(100):  # the zygote dies with bubblewrap, a moment later
        if not dead.alive():
            break
        time.sleep(0.05)
    run = run_isolated(LOOKER, LINES, probes, {"seed": 1, "data": {}}, Limits(import_s=60))
    assert run.values["probe_leave"] and dead not in worker._every and len(worker._every) == 1


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux only")
def test_a_worker_that_cannot_start_means_the_old_path_said_once(fast_path, monkeypatch, tmp_path, capsys):
    worker, probes = fast_path
    broken = tmp_path / "zygote.py"
    broken.write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(worker, "ZYGOTE", broken)
    monkeypatch.setattr(worker, "_broken", {})
    for _ in range(2):
        run = run_isolated(LOOKER, LINES, probes, {"seed": 1, "data": {}}, Limits(import_s=60))
        assert run.values.get("probe_leave") and "forked" not in run.isolation, run.errors
    assert capsys.readouterr().err.count("a worker cannot start here") == 1


DATA_LOOKER = '''
import os
def leave():
    return " ".join(f"{name}:{','.join(sorted(os.listdir('/data/' + name)))}" for name in sorted(os.listdir("/data")))
'''


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux only")
def test_a_shared_worker_serves_two_exercises_and_each_job_sees_only_its_own_data(fast_path, tmp_path):
    worker, probes = fast_path
    folders = {name: tmp_path / name for name in ("mine", "theirs")}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / f"{name}.txt").write_text(name)
    runs = [([LEAVE_PROBE], {"mine": folders["mine"]}), ([LEAVE_PROBE], {"theirs": folders["theirs"]})]
    with worker.shared(runs):
        seen = {}
        for name, folder in folders.items():
            run = run_isolated(DATA_LOOKER, LINES, probes, {"seed": 1, "data": {name: str(folder)}}, Limits(import_s=60))
            assert "forked from a worker" in run.isolation, run.errors
            seen[name] = str(run.values["probe_leave"]["seen"])
        [shared] = worker._every  # one worker for both
        assert sorted(dict(shared.key[2])) == ["mine", "theirs"]
    assert seen == {"mine": "mine:mine.txt theirs:", "theirs": "mine: theirs:theirs.txt"}, seen
    assert not worker._every and shared.process.poll() is not None  # the block's end ended it


def test_the_switch_forces_a_fresh_sandbox_per_submission(monkeypatch, folder):
    from autograder import worker

    monkeypatch.setenv(worker.SWITCH, "0")
    worker.close_all()
    run = run_isolated(SOURCE, LINES, folder / "delegating" / "probes.py", {"seed": 1, "data": {}}, Limits(import_s=60))
    assert "forked" not in run.isolation and not worker._every
