"""Score a probe run: the exercise's pytest checks, in a process of their own.

`run_checks` starts `pytest checks.py -p autograder.checking` on the saved probe runs;
the plugin half of this module hands the checks `got`, `want` and `note` and writes
one record per check. No learner code is loaded in that process: it reads arrays.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from autograder.checkkit import Probes
from autograder.sandbox import ProbeRun


@dataclass
class CheckResult:
    name: str
    title: str
    points: float
    max_points: float
    hidden: bool
    passed: bool
    message: str  # what went wrong (expected, got), or notes on a pass
    hint: str


def save_run(run: ProbeRun, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for probe, arrays in run.values.items():
        _save_arrays(folder / f"{probe}.npz", arrays)
    meta = {"errors": run.errors, "isolation": run.isolation, "seconds": run.seconds, "probes": sorted(run.values)}
    (folder / "run.json").write_text(json.dumps(meta, indent=1))


def _save_arrays(path: Path, arrays: dict) -> None:
    """np.savez(path, **arrays), which fails on an array named `file` (its own parameter)."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def load_run(folder: Path) -> ProbeRun:
    meta = json.loads((folder / "run.json").read_text())
    values = {}
    for probe in meta["probes"]:
        with np.load(folder / f"{probe}.npz", allow_pickle=False) as archive:
            values[probe] = {key: archive[key] for key in archive.files}
    return ProbeRun(values, meta["errors"], meta["isolation"], meta["seconds"])


def run_checks(checks_file: Path, got: Path, want: Path, visible_only: bool = False) -> list[CheckResult]:
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        command = [
            sys.executable, "-m", "pytest", str(checks_file), "-p", "autograder.checking",
            "--got", str(got.resolve()), "--want", str(want.resolve()), "--results", str(results),
            "-q", "--no-header", "-p", "no:cacheprovider", "-o", "addopts=", "--import-mode=importlib",
            "-o", "python_files=checks.py", "-o", "python_functions=check_*",
            "--rootdir", str(checks_file.parent), "-c", os.devnull,
        ]
        if visible_only:
            command.append("--visible-only")
        # pytest runs in the checks' folder: got and want are resolved above so a relative
        # --out (the README's default grades/) still points at them.
        finished = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                  cwd=checks_file.parent)
        if finished.returncode not in (0, 1) or not results.exists():  # 0: all passed, 1: some failed
            raise RuntimeError(f"the checks did not run:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")
        return [CheckResult(**r) for r in json.loads(results.read_text())]


# ---- the pytest plugin (loaded with -p autograder.checking) ----

_records: list[dict] = []


def pytest_addoption(parser):
    parser.addoption("--got", help="folder of the learner's saved probe run")
    parser.addoption("--want", help="folder of the reference's saved probe run")
    parser.addoption("--results", help="where to write the check records (JSON)")
    parser.addoption("--visible-only", action="store_true", help="skip hidden checks (the learner's self-check)")


@pytest.fixture(scope="session")
def got(request):
    run = load_run(Path(request.config.getoption("--got")))
    return Probes(run.values, run.errors, "learner")


@pytest.fixture(scope="session")
def want(request):
    run = load_run(Path(request.config.getoption("--want")))
    return Probes(run.values, run.errors, "reference")


@pytest.fixture
def note(request):
    """note("ran on cuda") adds a line to this check's feedback."""
    lines = []
    request.node.user_notes = lines
    return lines.append


def pytest_collection_modifyitems(config, items):
    unmarked = [item.name for item in items if item.get_closest_marker("check") is None]
    if unmarked:
        raise pytest.UsageError(f"checks without @check: {unmarked}")
    if config.getoption("--visible-only"):
        items[:] = [item for item in items if not item.get_closest_marker("check").kwargs.get("hidden")]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" or (report.when == "setup" and report.failed):
        marker = item.get_closest_marker("check").kwargs
        passed = report.passed
        message = _failure_text(report) if not passed else "\n".join(getattr(item, "user_notes", []))
        _records.append(asdict(CheckResult(
            name=item.name, title=_title(item),
            points=marker.get("points", 1) if passed else 0, max_points=marker.get("points", 1),
            hidden=bool(marker.get("hidden")), passed=passed, message=message, hint=marker.get("hint", ""),
        )))
    return report


def _title(item) -> str:
    """The docstring's whole first sentence (it may run over several lines), or the check's name."""
    text = " ".join((item.function.__doc__ or item.name).split())
    return text.split(". ")[0].rstrip(".")


def _failure_text(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash else str(report.longrepr)
    return text.removeprefix("Failed: ")[:3000]


def pytest_sessionfinish(session):
    path = session.config.getoption("--results")
    if path:
        Path(path).write_text(json.dumps(_records, indent=1))
