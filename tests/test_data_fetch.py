"""coursekit.data.fetch (a chapter's downloads in a cell of their own) and
coursekit.devices.set_threads (every core for COURSE_DATA=real, one for the synthetic build)."""
import os
import subprocess
import sys

import pytest
import torch

from coursekit.data import fetch as fetching, isbi
from coursekit.devices import cpu_threads, set_threads
from coursekit.network import DownloadError


@pytest.fixture(autouse=True)
def small(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(isbi.SYNTHETIC, "n_slices", 2)
    monkeypatch.setitem(isbi.SYNTHETIC, "size", 64)


def test_synthetic_fetches_the_synthetic_sets_and_no_weights(capsys):
    got = fetching.fetch("isbi", "vgg16_torch", source="synthetic")
    assert list(got) == ["isbi", "vgg16_torch"] and got["vgg16_torch"] is False
    assert got["isbi"] == isbi.isbi_dir("synthetic") and sorted(p.name for p in got["isbi"].glob("*.tif")) == sorted(isbi.FILES)
    assert capsys.readouterr().out == ""


def test_auto_offline_falls_back_with_one_line_each(capsys):
    got = fetching.fetch("isbi", "vgg16_torch", source="auto")  # conftest: COURSEKIT_OFFLINE=1
    assert got["isbi"] == isbi.isbi_dir("synthetic") and got["vgg16_torch"] is False
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "using the synthetic ISBI 2012" in lines[0] and "using the course's offline stand-in base" in lines[1]


@pytest.mark.parametrize("name", ["isbi", "vgg16_torch"])
def test_real_offline_is_one_clear_error(name):
    with pytest.raises(DownloadError, match="offline"):
        fetching.fetch(name, source="real")


def test_unknown_names_and_sources_are_refused():
    with pytest.raises(ValueError, match="'pet'.*choose from fashion, pets"):
        fetching.fetch("pet", source="synthetic")
    with pytest.raises(ValueError, match="source must be"):
        fetching.fetch("isbi", source="online")


def test_every_core_for_real_data_one_thread_otherwise():
    before = torch.get_num_threads()
    try:
        assert set_threads("real") == cpu_threads("real") == torch.get_num_threads() == len(os.sched_getaffinity(0))
        assert set_threads("synthetic") == 1 == torch.get_num_threads() and cpu_threads("auto") == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.extended  # importing TensorFlow in a fresh process: 10 s quiet, over a minute on a busy machine
def test_tensorflow_gets_every_core_too():
    code = ("import torch, tensorflow as tf; from coursekit.devices import set_threads; n = set_threads('real'); "
            "print(n, tf.config.threading.get_intra_op_parallelism_threads(), "
            "tf.config.threading.get_inter_op_parallelism_threads(), torch.get_num_threads())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(len(os.sched_getaffinity(0)))] * 4
