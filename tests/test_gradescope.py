"""The Gradescope zip, unpacked in Gradescope's layout, grades a submission."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.exercise import REPO
from autograder.gradescope import build_zip

SLUG = "pytorch_data"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    archive = build_zip(SLUG, root.parent / f"{SLUG}.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(root)
        for info in z.infolist():  # unzip (as Gradescope uses) keeps the mode bits; extractall does not
            if info.external_attr >> 16:
                os.chmod(root / info.filename, info.external_attr >> 16)
    return root


def grade(root: Path, sample: str) -> dict:
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    submission.mkdir()
    shutil.copy(REPO / "autograder" / "samples" / SLUG / f"{sample}.ipynb", submission / f"{SLUG}.ipynb")
    env = dict(os.environ, GRADESCOPE_ROOT=str(root), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope-run", SLUG],
                          cwd=root / "source", env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_zip_has_gradescope_scripts_and_no_samples(layout):
    assert os.access(layout / "setup.sh", os.X_OK) and os.access(layout / "run_autograder", os.X_OK)
    assert "gradescope-run pytorch_data" in (layout / "run_autograder").read_text()
    assert (layout / "source" / "autograder" / "checks" / SLUG / "checks.py").exists()
    assert not (layout / "source" / "autograder" / "samples").exists()


def test_unpacked_zip_grades_with_its_own_copy(layout):
    results = grade(layout, "reference")
    assert results["score"] == 12
    assert sum(t["max_score"] for t in results["tests"]) == 12
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "visibility", "output"}
        assert test["visibility"] in VISIBILITIES


def test_wrong_submission_gets_feedback(layout):
    results = grade(layout, "no_normalise")
    assert results["score"] == 11
    failed = [t for t in results["tests"] if t["score"] < t["max_score"]]
    assert len(failed) == 1 and "Hint:" in failed[0]["output"]
