"""A local Sphinx extension (loaded from _config.yml): the launch buttons open the learners' repository.

The Colab and Binder buttons (and the repository button) are built from the theme's repository
options. They come from one place, course.toml's [kit] (repository, branch), which the instructor
sets when publishing `autograder learner-kit DIR` as the learners' repository: DIR/book/<chapter>.ipynb
is what the buttons open. The instructors' repository (solutions/, hidden checks) is never linked.
"""
from pathlib import Path


def _launch_from_the_course(app, config):
    from autograder.learnerkit import launch_options

    # config-inited: after _config.yml's options, before the theme reads them at builder-inited
    config.html_theme_options = {**config.html_theme_options, **launch_options(Path(app.srcdir).parent)}


def setup(app):
    app.connect("config-inited", _launch_from_the_course)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
