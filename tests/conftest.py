"""Shared test set-up: every test runs offline, and touching the network fails it; the README's
main job runs once per session and its reports serve every test that needs a sample's grade."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

try:  # torch, and the triton that torch._dynamo loads on first use, before TensorFlow in one
    import torch._dynamo  # noqa: F401  # process: the other order crashes (segfault) with these wheels
except ImportError:
    pass


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path_factory):
    """Force the synthetic data path and fail any test that opens a connection."""
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")  # coursekit.network caches nothing to clear

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to use the network: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield
    monkeypatch.undo()


@pytest.fixture(scope="session")
def data_home(tmp_path_factory):
    """One synthetic-data folder for the whole session (datasets are cached inside)."""
    return tmp_path_factory.mktemp("coursekit-data")


@pytest.fixture(scope="session")
def main_job(tmp_path_factory):
    """`autograder grade` with no arguments, as the README runs it: reports in the relative
    default grades/samples/ of the folder it runs in. Returns (reports folder, finished process)."""
    cwd = tmp_path_factory.mktemp("main-job")
    # The seed the wrong answers' exact grades were measured at; the batches of tests/test_exercises.py
    # take it from the copied reference cache. Every other batch draws its own.
    env = dict(os.environ, COURSEKIT_OFFLINE="1", AUTOGRADER_SEED="0",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade"],  # .venv/bin/autograder grade
                          env=env, capture_output=True, text=True, cwd=cwd)
    return cwd / "grades" / "samples", done  # the demo writes grades/samples/<slug>/
