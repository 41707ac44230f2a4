"""The Gradescope zip, run exactly as Gradescope runs it, in a private /autograder.

The zip is built by the Gradescope section's command in book/instructors.md. A mount
namespace with a tmpfs on /autograder stands in for Gradescope's container: the zip is
unzipped into /autograder/source, setup.sh runs there, run_autograder is copied to
/autograder/run_autograder and run once per submission, and results.json is checked
against Gradescope's format. Needs root (unshare --mount), as CI has.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from autograder.exercise import REPO
from instructors_doc import blocks

SLUG = "pytorch_data"
SUBMISSIONS = {"reference": 12, "no_normalise": 11}  # sample -> its score
pytestmark = pytest.mark.slow
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
# Gradescope's results.json: https://gradescope-autograders.readthedocs.io/en/latest/specs/
TOP = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str,
       "test_output_format": str, "test_name_format": str, "visibility": str, "stdout_visibility": str,
       "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
        "number": str, "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}

# Gradescope's own steps, as its documentation gives them. setup.sh's pip install would
# download torch (minutes, gigabytes): AUTOGRADER_SITE_PACKAGES points it at the packages
# this test already runs with, and PIP_NO_INDEX proves nothing else is fetched. Its apt line
# runs for real: the packages are installed here, so apt-get install only confirms them.
GRADESCOPE = """
set -euo pipefail
mount -t tmpfs -o size=4g tmpfs /autograder
mkdir -p /autograder/source /autograder/submission /autograder/results /autograder/home
export HOME=/autograder/home
unzip -q "$ZIP" -d /autograder/source
cd /autograder/source
start=$EPOCHREALTIME
./setup.sh > "$OUT/setup.log" 2>&1
echo "setup.sh $(awk "BEGIN {print $EPOCHREALTIME - $start}") s" >> "$OUT/times.txt"
/autograder/venv/bin/python -c "import autograder; print(autograder.__file__)" > "$OUT/imported.txt"
cp /autograder/source/run_autograder /autograder/run_autograder
for sample in $SAMPLES; do
    rm -rf /autograder/submission/* /autograder/results/*
    cp "$SAMPLE_DIR/$sample.ipynb" "/autograder/submission/$NOTEBOOK"
    start=$EPOCHREALTIME
    (cd /autograder && ./run_autograder) > "$OUT/$sample.log" 2>&1
    echo "run_autograder $sample $(awk "BEGIN {print $EPOCHREALTIME - $start}") s" >> "$OUT/times.txt"
    cp /autograder/results/results.json "$OUT/$sample.json"
done
"""


def check_format(results: dict) -> None:
    """Every key Gradescope reads, with its type; nothing it does not know."""
    assert set(results) <= set(TOP), set(results) - set(TOP)
    for key, value in results.items():
        assert isinstance(value, TOP[key]), (key, value)
    assert {"score", "tests", "execution_time"} <= set(results)
    assert results.get("stdout_visibility", "hidden") in VISIBILITIES
    assert results.get("visibility", "visible") in VISIBILITIES
    assert results.get("output_format", "text") in FORMATS
    for test in results["tests"]:
        assert set(test) <= set(TEST), set(test) - set(TEST)
        assert {"name", "score", "max_score", "status", "visibility", "output"} <= set(test), test
        for key, value in test.items():
            assert isinstance(value, TEST[key]), (key, value)
        assert test["status"] in {"passed", "failed"} and test["visibility"] in VISIBILITIES
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed"), test
        assert test.get("output_format", "text") in FORMATS


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("unzip"):
        pytest.skip("Gradescope's layout needs root (a mount namespace on /autograder), unshare and unzip")
    work = tmp_path_factory.mktemp("gradescope")
    steps = blocks("Gradescope")
    assert [script for _, script in steps] == [f"autograder gradescope-zip {SLUG}\n"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(["bash", "-euo", "pipefail", "-c", steps[0][1]], cwd=work, env=env, check=True, timeout=300)
    out = work / "out"
    out.mkdir()
    env.update(ZIP=str(work / "build" / "gradescope" / f"{SLUG}.zip"), OUT=str(out), NOTEBOOK=f"{SLUG}.ipynb",
               SAMPLES=" ".join(SUBMISSIONS), SAMPLE_DIR=str(REPO / "autograder" / "samples" / SLUG),
               AUTOGRADER_SITE_PACKAGES=sysconfig.get_paths()["purelib"], PIP_NO_INDEX="1", COURSEKIT_OFFLINE="1")
    made = not os.path.exists("/autograder")
    if made:
        os.mkdir("/autograder")  # the mount point; the tmpfs over it is the namespace's own
    try:
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", GRADESCOPE],
                              env=env, capture_output=True, text=True, timeout=1800)
    finally:
        if made:
            os.rmdir("/autograder")
    logs = "\n".join(f"{p.name}:\n{p.read_text()[-3000:]}" for p in sorted(out.glob("*.log")))
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n{logs}"
    print((out / "times.txt").read_text())
    return out


def test_zip_is_laid_out_as_gradescope_unpacks_it(gradescope):
    with zipfile.ZipFile(gradescope.parent / "build" / "gradescope" / f"{SLUG}.zip") as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", f"autograder/checks/{SLUG}/checks.py"} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert not [n for n in names if n.startswith("source/") or "/samples/" in n or "__pycache__" in n]


def test_setup_installs_the_zips_own_copy(gradescope):
    assert (gradescope / "imported.txt").read_text().startswith("/autograder/source/autograder/")


@pytest.mark.parametrize("sample", SUBMISSIONS)
def test_run_autograder_writes_gradescope_results(gradescope, sample):
    results = json.loads((gradescope / f"{sample}.json").read_text())
    check_format(results)
    assert results["score"] == SUBMISSIONS[sample]
    assert results["score"] == sum(t["score"] for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == 12
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert len(failed) == 12 - SUBMISSIONS[sample]
    assert all("Hint:" in t["output"] for t in failed)
    learner_text = results["output"] + "".join(t["output"] for t in results["tests"])
    assert "isolation" not in learner_text and "isolation" in results["extra_data"]
