"""Gradescope: build the autograder zip, and grade inside Gradescope's layout.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once when the image is
built, then for each submission runs /autograder/run_autograder with the learner's files
in /autograder/submission and reads /autograder/results/results.json.
GRADESCOPE_ROOT moves /autograder (the tests use it to run the layout locally).
"""
import os
import zipfile
from pathlib import Path

from autograder.exercise import course_folder, load_exercise

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, from /autograder/source, when it builds the image (Ubuntu, root, online).
set -euo pipefail
cd "$(dirname "$0")"
# bubblewrap is the sandbox learner code runs in; venv and pip install the course.
if ! dpkg -s bubblewrap python3-venv python3-pip >/dev/null 2>&1; then
    apt-get update -qq
fi
apt-get install -y -qq bubblewrap python3-venv python3-pip
if [ -z "${{AUTOGRADER_SITE_PACKAGES:-}}" ]; then
    python3 -m venv /autograder/venv
    pip_args=()
else
    # Reuse a site-packages that already holds the frameworks (an image that has them, or
    # the tests): the venv sees it through a .pth, so pip finds them installed, downloads
    # nothing, and builds with the setuptools there (the venv gets no pip or setuptools of
    # its own, which would shadow the newer ones that torch needs).
    python3 -m venv --without-pip /autograder/venv
    site=$(/autograder/venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    echo "$AUTOGRADER_SITE_PACKAGES" > "$site/reused-site-packages.pth"
    pip_args=(--no-build-isolation)
fi
/autograder/venv/bin/python -m pip install -q "${{pip_args[@]}}" -e "/autograder/source[{extras}]"
"""
RUN = """#!/usr/bin/env bash
# Gradescope copies this to /autograder/run_autograder and runs it for every submission.
cd /autograder/source
exec /autograder/venv/bin/python -m autograder gradescope-run {slug}
"""
PACKAGES = ("coursekit", "autograder", "solutions")
TOP_FILES = ("pyproject.toml", "README.md", "course.toml")  # course.toml marks the course folder


def build_zip(slug: str, out: Path) -> Path:
    """The zip to upload as the assignment's autograder (configuration: 'zip file upload'):
    setup.sh and run_autograder at its root and the course beside them, as Gradescope
    unpacks it into /autograder/source."""
    exercise = load_exercise(slug)
    repo = course_folder()  # the course's checkout: its pyproject.toml, packages and solutions/
    extras = ",".join(sorted({v.framework for v in exercise.variants}))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_script(archive, "setup.sh", SETUP.format(extras=extras))
        _add_script(archive, "run_autograder", RUN.format(slug=slug))
        for name in TOP_FILES:
            archive.write(repo / name, name)
        for package in PACKAGES:
            for path in sorted((repo / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and "samples" not in path.parts:
                    archive.write(path, str(path.relative_to(repo)))
    return out


def _add_script(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16  # executable once unpacked
    archive.writestr(info, text)


def run_in_layout(slug: str) -> Path:
    """Grade the one submission in <root>/submission; write <root>/results/results.json."""
    from autograder.grading import Grade, grade_submission
    from autograder.report import gradescope_results, write_json

    root = Path(os.environ.get("GRADESCOPE_ROOT", "/autograder"))
    exercise = load_exercise(slug)
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in (root / "submission").rglob("*") if p.suffix in (".ipynb", ".py"))
    if not files:
        grade = Grade("submission", slug, "", "", notes=["no .ipynb or .py file was submitted"])
        write_json(results, dict(gradescope_results(grade), score=0))
        return results
    cache = root / "reference-cache"
    cache.mkdir(exist_ok=True)
    grade = grade_submission(exercise, _pick(files, exercise), "submission", exercise.prepare_data(), cache)
    write_json(results, gradescope_results(grade))
    return results


def _pick(files: list[Path], exercise) -> Path:
    """The notebook named like the exercise's, else the first notebook, else the first file."""
    names = {v.notebook for v in exercise.variants}
    return next((f for f in files if f.name in names), next((f for f in files if f.suffix == ".ipynb"), files[0]))
