"""book/_ext/real_data.py: a real-data build has no per-cell timeout (the synthetic one keeps
_config.yml's). A one-page Sphinx project with myst-nb and that extension, whose only cell
outlasts a 2 s timeout."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

BOOK_EXT = Path(__file__).resolve().parent.parent / "book" / "_ext"
PAGE = """---
file_format: mystnb
kernelspec:
  name: python3
---
# A slow cell

```{code-cell} ipython3
import time
time.sleep(4)
print("the slow cell finished")
```
"""


def build(tmp_path, name, **env):
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(BOOK_EXT)!r})\n"
                                    "extensions = ['myst_nb', 'real_data']\nnb_execution_mode = 'force'\n"
                                    "nb_execution_timeout = 2\nnb_execution_raise_on_error = True\nnb_execution_show_tb = True\n")
    (source / "index.md").write_text(PAGE)
    clean = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA", "COURSE_CELL_TIMEOUT")}
    return subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(tmp_path / name)],
                          env={**clean, **env}, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_cell_timeout_holds_for_the_synthetic_build_and_is_lifted_for_the_real_one(tmp_path):
    """The two builds differ only in COURSE_DATA, so the first one's failure is the 2 s timeout."""
    synthetic = build(tmp_path, "synthetic")
    assert synthetic.returncode != 0 and "ExecutionError" in synthetic.stderr
    real = build(tmp_path, "real", COURSE_DATA="real")
    assert real.returncode == 0, real.stderr[-2000:]
    assert "the slow cell finished" in (tmp_path / "real" / "index.html").read_text()


@pytest.mark.parametrize("env, timeout", [({}, 300), ({"COURSE_DATA": "synthetic"}, 300),
                                          ({"COURSE_DATA": "real"}, -1), ({"COURSE_CELL_TIMEOUT": "7200"}, 7200),
                                          ({"COURSE_DATA": "real", "COURSE_CELL_TIMEOUT": "3600"}, 3600)])
def test_the_timeout_each_environment_gets(monkeypatch, env, timeout):
    sys.path.insert(0, str(BOOK_EXT))
    try:
        import real_data
    finally:
        sys.path.remove(str(BOOK_EXT))
    for name in ("COURSE_DATA", "COURSE_CELL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = type("Config", (), {"nb_execution_timeout": 300})()  # as _config.yml sets it
    real_data._timeout_for_the_data(None, config)
    assert config.nb_execution_timeout == timeout
