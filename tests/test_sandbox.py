"""The sandbox on its own: what learner code can and cannot do in there."""
import os
import sys

import pytest

from autograder.exercise import REPO
from autograder.sandbox import Limits, isolation_level, run_isolated

PROBES = '''
import os, socket

def probe_a_identity(ns, ctx):
    return {"uid": os.getuid(), "answer": ns.answer()}

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
            "data_writable": _can_write(ctx["data"]["d"])}

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
'''
SOURCE = '''
def answer():
    return 42

def hang():
    while True:
        pass

def hog():
    return bytearray(8 * 2**30)
'''
needs_root = pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="namespace isolation needs root on Linux")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sandbox")
    (folder / "probes.py").write_text(PROBES)
    (folder / "d").mkdir()
    (folder / "d" / "file.txt").write_text("visible")
    line_map = [(1, i) for i in range(1, 20)]
    context = {"seed": 0, "repo": str(REPO), "data": {"d": str(folder / "d")}}
    return run_isolated(SOURCE, line_map, folder / "probes.py", context, Limits(import_s=60, probe_s=5, memory_mb=2000))


def test_probes_return_plain_data(run):
    assert int(run.values["probe_a_identity"]["answer"]) == 42


def test_a_hanging_probe_is_stopped_and_the_rest_still_run(run):
    assert "time limit" in run.errors["probe_d_hang"]
    assert int(run.values["probe_e_after_hang"]["x"]) == 42


def test_memory_is_limited(run):
    assert "MemoryError" in run.errors["probe_f_memory"]
    assert "in hog (cell 1, line" in run.errors["probe_f_memory"]


@needs_root
def test_runs_as_nobody_without_network_or_answers(run):
    assert isolation_level() == "root"
    assert int(run.values["probe_a_identity"]["uid"]) == 65534
    assert not run.values["probe_c_network"]["connected"]
    view = run.values["probe_b_view"]
    # only the environment and the shared library are mounted from the repository
    assert set(str(view["repo_entries"]).split()) <= {".venv", "coursekit"}
    assert str(view["data"]) == "visible" and not view["data_writable"]
