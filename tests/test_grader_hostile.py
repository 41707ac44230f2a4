"""Hostile submissions, graded in one batch (issue 20's attacks, one file each in
tests/hostile/): each earns at most its honest part, the batch finishes, no host file
reaches a report, nothing of the sandboxes is left. No case can pass vacuously: each
states the trace its attack leaves in the feedback (its marker with what it found, or the
grader's verdict on it), so an attack that did not run fails its test.

HOSTILE_AS is set by tests/test_as_user.py, which runs this file as an ordinary user."""
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.batch import grade_folder
from autograder.exercise import REPO, load_exercise
from autograder.read import read_submission
from autograder.sandbox import Limits, isolation_level

HOSTILE = Path(__file__).parent / "hostile"
ALL = "all"
LOADER = {"check_loader_batches", "check_loader_reproducible", "check_loader_seed_matters", "check_training_sanity"}
TRANSFORM = {"check_normalise", "check_augment", "check_loader_batches", "check_training_sanity"}
TAMPERED = "tampering detected"
FAILS = {
    "exit_at_import.py": ALL,
    "os_exit_at_import.py": ALL,
    "exit_in_function.py": TRANSFORM | LOADER,
    "endless_loop.py": LOADER,
    "memory_bomb.py": TRANSFORM,
    "monkeypatch.py": ALL,
    "forge_results.py": ALL,  # item 1
    "forge_modules.py": ALL,  # item 1
    "forge_frames.py": ALL,  # item 1
    "read_solutions.py": ALL,  # item 2
    "escape.py": ALL,  # item 2
    "untrusted_files.py": TRANSFORM,  # item 3
    "reset_clock.py": LOADER,  # item 4
    "resource_bombs.py": TRANSFORM | LOADER,  # item 5
    "ipc_leftovers.py": ALL,  # item 6 (its ctypes calls are flagged: everything after scores 0)
    "outlive_grader.py": LOADER,  # item 7 (the kill tests below)
    "spawn_subprocess.py": {"check_normalise", "check_augment"},  # returns None: the dataset falls back to no transform
    "not_json.ipynb": ALL,
    "nbformat3.ipynb": ALL,
}
# what each attack leaves in its feedback: proof that it ran, and of what it met
TRACE = {
    "forge_results.py": TAMPERED,  # its frames reached the channel and were rejected
    "forge_modules.py": TAMPERED,
    "forge_frames.py": TAMPERED,
    "monkeypatch.py": TAMPERED,
    # setuid(0): EPERM as root's nobody; EINVAL (OSError) in an ordinary user's namespace, where no uid 0 is mapped
    "escape.py": (r"hostile-escape: uid=65534 CapEff=0000000000000000 NoNewPrivs=1 setuid0=(PermissionError|OSError) "
                  r"chroot=PermissionError userns_remount=False remount=False write_usr=OSError found=\[\]"),
    "read_solutions.py": "'NoneType' object is not callable",  # nothing was found to run
    "untrusted_files.py": r"hostile-untrusted-files: made \['child.log', 'out/probe_transform.npz', 'environ.log', 'out/status.jsonl'\]",
    "reset_clock.py": "time limit",
    "resource_bombs.py": r"hostile-resource-bombs: forked refused \d+",
    "ipc_leftovers.py": TAMPERED,
    "outlive_grader.py": "time limit",
    "endless_loop.py": "time limit",
    "memory_bomb.py": "MemoryError|memory",
}
CANARY = "hostile-canary-7f3a"  # in the grader's environment: must reach no report
LIMITS = Limits(import_s=90, probe_s=20, memory_mb=3000, processes=256, scratch_mb=512)


def _reference_code() -> str:
    cells = read_submission(REPO / "solutions" / "pytorch_data.ipynb")
    return "\n\n".join(c.source for c in cells if "self_check" not in c.source)


def _write_submissions(folder: Path, names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        text = (HOSTILE / name).read_bytes()
        if text.startswith(b"# appended to the reference"):
            text = _reference_code().encode() + b"\n\n" + text
        (folder / name).write_bytes(text)
    return folder


def _exercise():
    return dataclasses.replace(load_exercise("pytorch_data"), limits=LIMITS)


def _leftovers() -> dict:
    """What a sandbox could leave on the host: processes, /dev/shm files, SysV segments,
    POSIX queues, files and scratch folders in /tmp, cgroups."""
    found = {"processes": subprocess.run(["pgrep", "-af", "hostile-"], capture_output=True, text=True).stdout.split("\n")}
    found["processes"] = [p for p in found["processes"] if p and "pytest" not in p and "pgrep" not in p]
    found["shm"] = [p.name for p in Path("/dev/shm").iterdir() if "hostile" in p.name]
    found["sysv"] = [line for line in subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout.splitlines()
                     if "0x00004857" in line]
    found["mqueue"] = [p.name for p in Path("/dev/mqueue").glob("*hostile*")] if Path("/dev/mqueue").is_dir() else []
    found["tmp"] = [p.name for p in Path("/tmp").iterdir() if p.name.startswith(("hostile", "results.json", "grade.json"))]
    found["cgroups"] = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/autograder-{os.getpid()}-*")]
    return {k: v for k, v in found.items() if v}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    os.environ["HOSTILE_CANARY"] = CANARY
    before = {p.name for p in Path("/tmp").iterdir() if p.name.startswith("autograder-")}
    folder = _write_submissions(tmp_path_factory.mktemp("hostile"), [n for n in FAILS])
    out = tmp_path_factory.mktemp("grades")
    grades = grade_folder(_exercise(), folder, out, workers=2, progress=False)
    after = {p.name for p in Path("/tmp").iterdir() if p.name.startswith("autograder-")}
    return {g.file: g for g in grades}, out, after - before


def messages(grade) -> str:
    return "\n".join(c.message for c in grade.checks)


def test_every_hostile_file_is_listed():
    assert {p.name for p in HOSTILE.iterdir() if p.suffix in (".py", ".ipynb")} == set(FAILS)


def test_the_sandbox_is_bubblewrap():
    assert isolation_level() == ("user" if os.geteuid() else "root")


@pytest.mark.parametrize("name", sorted(FAILS))
def test_hostile_submission_loses_exactly_the_attacked_checks(graded, name):
    grade = graded[0][name]
    failed = {c.name for c in grade.checks if not c.passed}
    assert len(grade.checks) == 11
    if FAILS[name] == ALL:
        assert grade.score == 0 and failed == {c.name for c in grade.checks}
    else:
        assert failed == FAILS[name]
    if name in TRACE:
        assert re.search(TRACE[name], messages(grade)), messages(grade)[:3000]


def test_broken_files_are_explained(graded):
    assert "not a valid notebook" in graded[0]["not_json.ipynb"].notes[0]
    assert "nbformat 3" in graded[0]["nbformat3.ipynb"].notes[0]


def test_limits_are_named_in_feedback(graded):
    grades = graded[0]
    assert "time limit" in messages(grades["endless_loop.py"])
    assert "memory" in messages(grades["memory_bomb.py"]).lower()
    assert "exit" in messages(grades["exit_at_import.py"])


def test_the_fork_bomb_stops_at_the_task_limit(graded):
    # the first call forks up to the limit; its children still sleep when later probes call it again (0)
    forked = max(int(n) for n in re.findall(r"forked refused (\d+)", messages(graded[0]["resource_bombs.py"])))
    # As root a cgroup counts this sandbox's tasks alone. As a user, RLIMIT_NPROC counts every task of
    # the uid, set at start to what it has plus the limit: other sandboxes of the batch that end meanwhile
    # free their tasks for this one, so there the bound is the limit plus another sandbox's share.
    bound = LIMITS.processes * (2 if os.environ.get("HOSTILE_AS") == "user" else 1)
    assert 0 < forked < bound


def test_forged_result_files_are_ignored(graded):
    grades, out, _ = graded
    results = json.loads((out / "forge_results" / "results.json").read_text())
    assert results["score"] == 0
    assert not (REPO / "grades" / "results.json").exists()


def test_no_host_file_reaches_a_report(graded):
    _, out, _ = graded
    shadow = Path("/etc/shadow").read_text().splitlines()[0] if os.access("/etc/shadow", os.R_OK) else "root:"
    for report in out.rglob("*"):
        if report.is_file() and report.suffix in (".json", ".html", ".csv", ".txt"):
            text = report.read_text(errors="replace")
            assert CANARY not in text and shadow not in text, report


def test_nothing_is_left_after_the_batch(graded):
    assert _leftovers() == {}


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_nothing_outlives_a_killed_grader(tmp_path, how):
    """The grader is stopped while a learner's process sleeps: every sandboxed process dies with it."""
    folder = _write_submissions(tmp_path / "in", ["outlive_grader.py"])
    script = (f"import dataclasses; from autograder.batch import grade_folder; from autograder.exercise import load_exercise;"
              f"from autograder.sandbox import Limits; from pathlib import Path;"
              f"grade_folder(dataclasses.replace(load_exercise('pytorch_data'), limits=Limits(probe_s=300)),"
              f" Path({str(folder)!r}), Path({str(tmp_path / 'out')!r}), progress=False)")
    grader = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        for _ in range(600):  # the learner's process is up
            if subprocess.run(["pgrep", "-f", "hostile-outlive-grader"], capture_output=True).returncode == 0:
                break
            assert grader.poll() is None, "the grader ended before the attack ran"
            time.sleep(0.5)
        else:
            pytest.fail("the attack never ran")
        grader.send_signal(how)
        grader.wait(timeout=60)
        for _ in range(40):  # PDEATHSIG and the PID namespace's end take a moment
            if not _leftovers().get("processes"):
                break
            time.sleep(0.25)
        assert "processes" not in _leftovers()
    finally:
        grader.kill()
        grader.wait()
