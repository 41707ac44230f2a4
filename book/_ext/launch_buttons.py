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
    config.html_theme_options = {**config.html_theme_options, **launch_options(_course(Path(app.srcdir)))}


def _course(book: Path) -> Path:
    """The folder above the book when it holds course.toml (the course repository), else the
    course the grader is installed for (a book copied elsewhere, as the tests build)."""
    if (book.parent / "course.toml").is_file():
        return book.parent
    from autograder.exercise import course_folder

    return course_folder()


def setup(app):
    app.connect("config-inited", _launch_from_the_course)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
