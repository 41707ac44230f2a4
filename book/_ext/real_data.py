"""A local Sphinx extension (loaded from _config.yml): no per-cell timeout for a real-data build.

_config.yml's `execute: timeout` (300 s a cell) keeps the synthetic build honest, but with
COURSE_DATA=real one cell downloads 800 MB or trains on 3,680 photos, which takes far longer
on a CPU (benchmarks/real_data_build.md). With COURSE_DATA=real the timeout is lifted
(nbclient: -1, none); COURSE_CELL_TIMEOUT=<seconds> sets one instead, for either build.
"""
import os


def _timeout_for_the_data(app, config):
    if os.environ.get("COURSE_CELL_TIMEOUT"):
        config.nb_execution_timeout = int(os.environ["COURSE_CELL_TIMEOUT"])
    elif os.environ.get("COURSE_DATA") == "real":
        config.nb_execution_timeout = -1


def setup(app):
    # config-inited: after _config.yml's timeout is applied, before myst-nb reads it at builder-inited
    app.connect("config-inited", _timeout_for_the_data)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
