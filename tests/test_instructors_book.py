"""book/instructors.md's "Building the book" and "Publishing" blocks, run in order as written,
from the root of a copy of the course that stands for the instructor's clone.

The whole book is built and checked page by page in tests/test_book.py (minutes: every chapter
executes). Here the copy keeps the book's real configuration, extensions, styles, vendored
MathJax and its text pages, and each chapter page is a stub with one code cell: the commands
themselves (build, the execution cache, clean, the COURSE_DATA=real build, ghp-import's push)
are what is tested, in seconds. The push goes to a bare repository standing for GitHub.
ghp-import comes from the `book` extra; pip runs with no index, so `pip install ghp-import`
can only find it already installed (tests never use the network)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.exercise import REPO
from instructors_doc import blocks, run_block

CHAPTERS = ("pytorch_data", "unet", "transfer", "distillation")
STUB = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

{title}

```{{code-cell}} ipython3
print("{name} ran at build")
```
"""


def _minimal_clone(root: Path) -> None:
    shutil.copytree(REPO / "book", root / "book", ignore=shutil.ignore_patterns("_build", "*.ipynb", "figures"))
    for name in CHAPTERS:
        page = root / "book" / f"{name}.md"
        title = next(line for line in page.read_text().splitlines() if line.startswith("# "))
        page.write_text(STUB.format(title=title, name=name))
    git = ["git", "-c", "user.name=Instructor", "-c", "user.email=instructor@example.org"]
    subprocess.run(["git", "init", "-q", "--bare", str(root.parent / "github.git")], check=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "remote", "add", "origin", str(root.parent / "github.git")], cwd=root, check=True)
    subprocess.run([*git, "add", "book"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "course"], cwd=root, check=True)


@pytest.mark.slow
def test_book_build_and_publish_blocks_as_written(tmp_path):
    clone = tmp_path / "dl-course"
    _minimal_clone(clone)
    html = clone / "book" / "_build" / "html"
    cache = clone / "book" / "_build" / ".jupyter_cache"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PIP_NO_INDEX="1", COURSEKIT_OFFLINE="1",
               GIT_AUTHOR_NAME="Instructor", GIT_AUTHOR_EMAIL="instructor@example.org",
               GIT_COMMITTER_NAME="Instructor", GIT_COMMITTER_EMAIL="instructor@example.org")
    build, rebuild_real = blocks("Building the book")
    (publish,) = blocks("Publishing")
    assert {who for who, _ in (build, rebuild_real, publish)} == {"instructor"}

    run_block(build[1], clone, env)
    assert "unet ran at build" in (html / "unet.html").read_text()
    assert (html / "instructors.html").is_file() and (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert cache.is_dir(), "execute_notebooks: cache left no cache"

    (html / "unet.html").unlink()
    run_block(rebuild_real[1], clone, env)  # clean --all, then the COURSE_DATA=real build
    assert (html / "unet.html").is_file() and cache.is_dir()

    run_block(publish[1], clone, env)
    pushed = subprocess.run(["git", "--git-dir", str(tmp_path / "github.git"), "ls-tree", "--name-only", "gh-pages"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert {"index.html", "unet.html", ".nojekyll", "_static"} <= set(pushed)
