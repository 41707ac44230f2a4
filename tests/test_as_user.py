"""The hostile batch and the sandbox's tests again (the workers' included), as an ordinary user
(most instructors are not root).

As root, the test creates a user, a virtual environment from the system's Python that
reaches the project's packages through a .pth file (the project's venv python may be a
link into /root, which an ordinary user cannot enter), and a copy of the repository the
user owns; it runs tests/test_grader_hostile.py and tests/test_sandbox.py as that user and removes all of it after.
"""
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from autograder.exercise import REPO

SYSTEM_PYTHON = Path("/usr/bin/python3")
SETPRIV = shutil.which("setpriv")  # unlike runuser and su, it keeps the environment given (HOME too)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0 or shutil.which("useradd") is None or SETPRIV is None
                       or not SYSTEM_PYTHON.exists(), reason="creating a user needs root on Linux"),
]


@pytest.fixture
def user():
    name = f"ckh{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    home = Path(tempfile.mkdtemp(prefix="ckh-"))  # not under pytest's root-only tmp folder
    try:
        yield name, home
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name])
        subprocess.run(["userdel", name], check=True)
        shutil.rmtree(home, ignore_errors=True)


def _copy_repository(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for entry in filter(None, listed):
        source = REPO / entry.decode()
        if source.is_file():
            (target / entry.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / entry.decode())


def _user_venv(folder: Path) -> Path:
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(folder)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = folder / "lib" / version / "site-packages"
    (site / "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


def test_the_hostile_batch_as_an_ordinary_user(user):
    name, home = user
    repo = home / "repo"
    repo.mkdir(parents=True)
    _copy_repository(repo)
    python = _user_venv(home / "venv")
    subprocess.run(["chown", "-R", f"{name}:", str(home)], check=True)
    home.chmod(0o755)
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(home), "COURSEKIT_OFFLINE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "HOSTILE_AS": "user",
           "LANG": os.environ.get("LANG", "C.UTF-8"),
           "PYTHONPATH": str(repo)}  # the copy stands in for the install: the checks' own pytest imports autograder
    finished = subprocess.run(
        [SETPRIV, f"--reuid={name}", f"--regid={name}", "--init-groups", "--", str(python), "-m", "pytest", "tests/test_grader_hostile.py",
         "tests/test_sandbox.py", "-k", "not as_root", "-q", "-x",
         "-p", "no:cacheprovider", "--basetemp", str(home / "pytest")],
        cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-3000:]
    assert " passed" in finished.stdout and "skipped" not in finished.stdout.splitlines()[-1]
