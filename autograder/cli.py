"""autograder: grade a folder, check one notebook, generate the exercises.

  autograder grade                      grade every exercise's bundled samples into grades/samples/
  autograder grade EXERCISE FOLDER      grade a class: FOLDER/<learner>.ipynb or FOLDER/<learner>/<file>
  autograder check NOTEBOOK             the visible checks on one notebook (the self-check)
  autograder generate [--check]         exercises/ and samples from solutions/ (nbgrader's generate step)
  autograder gradescope-zip EXERCISE    the zip to upload to Gradescope
  autograder nbgrader-course COURSE     an nbgrader course folder, every assignment generated
  autograder nbgrader-grade ASSIGNMENT  (in the course folder) grade submitted/*/ASSIGNMENT/ into nbgrader's gradebook
  autograder list                       the exercises, their assignments and frameworks

The command line only parses and reports: the work is in the library, which raises
CourseError for a user's mistake; it is printed here as one line, exit status 2.
"""
import argparse
import os
import sys
from pathlib import Path

from autograder.exercise import COURSE_ENV, CourseError, course_folder, exercise_for_file, exercise_slugs, load_exercise

SAMPLES = Path(__file__).resolve().parent / "samples"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (argparse prints the usage block first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.course_folder:
        os.environ[COURSE_ENV] = str(args.course_folder.resolve())
    try:
        return args.run(args)
    except CourseError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def existing_folder(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    return path


def existing_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path} does not exist")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autograder", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", dest="course_folder", type=Path, metavar="FOLDER",
                        help=f"the course folder holding solutions/ (default: ${COURSE_ENV}, else the checkout)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name, help, run):
        sub = commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
        sub.set_defaults(run=run)
        return sub

    slugs = ", ".join(exercise_slugs())
    grade = command("grade", "grade a folder of submissions (no folder: the bundled samples, into OUT/samples/)", _grade)
    grade.add_argument("exercise", nargs="?", help=f"the exercise, one of: {slugs} (none: every exercise's samples)")
    grade.add_argument("submissions", nargs="?", type=existing_folder,
                       help="folder of <learner>.ipynb files or <learner>/ folders (none: the exercise's samples)")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="where reports go (default: grades/)")
    grade.add_argument("--workers", type=positive_int, help="submissions graded at once (default: one per GPU, else one per core)")

    check = command("check", "run the checks on one notebook and print the feedback", _check)
    check.add_argument("notebook", type=existing_file, help="the .ipynb or .py file to check")
    check.add_argument("--exercise", help=f"one of: {slugs} (default: told from the notebook)")
    check.add_argument("--hidden", action="store_true", help="also run the hidden checks (instructors)")

    generate = command("generate", "write exercises/ and the samples from solutions/", _generate)
    generate.add_argument("--check", action="store_true", help="only report whether the committed files are in sync")

    zip_command = command("gradescope-zip", "build the Gradescope autograder zip of an exercise", _gradescope_zip)
    zip_command.add_argument("exercise", help=f"one of: {slugs}")
    zip_command.add_argument("--out", type=Path, help="the zip to write (default: build/gradescope/<exercise>.zip)")

    gradescope_run = command("gradescope-run", "grade /autograder/submission (run by the zip's run_autograder)", _gradescope_run)
    gradescope_run.add_argument("exercise", help=f"one of: {slugs}")

    course = command("nbgrader-course", "create or refresh an nbgrader course folder from solutions/", _nbgrader_course)
    course.add_argument("course", type=Path, help="the course folder (created if missing)")
    course.add_argument("--course-id", help="nbgrader's course id, learners' --course (default: the folder's name)")
    course.add_argument("--exchange", help="nbgrader's exchange folder (default: nbgrader's, /srv/nbgrader/exchange)")

    nb_grade = command("nbgrader-grade", "grade submitted/*/ASSIGNMENT/ into the course's gradebook and feedback/", _nbgrader_grade)
    nb_grade.add_argument("assignment", help="e.g. pytorch_data, unet_keras (see autograder list)")
    nb_grade.add_argument("--course-dir", type=existing_folder, default=Path("."),
                          help="the course folder (default: the current folder, as for nbgrader's commands)")
    nb_grade.add_argument("--workers", type=positive_int, help="submissions graded at once (default: one per GPU, else one per core)")

    kit = command("learner-kit", "build the learner's kit: DIR/ with its wheel and the exercise notebooks", _learner_kit)
    kit.add_argument("out", type=Path, metavar="DIR", help="the folder to write (a wheel, index.html, exercises/)")

    command("list", "list the exercises, their assignment (notebook) names and frameworks", _list)
    return parser


def _grade(args) -> int:
    from autograder.batch import grade_folder, print_summary, shared_workers

    samples = args.out / "samples"  # the demo's own folder, never a class's reports
    if args.exercise and args.submissions:
        jobs = [(args.exercise, args.submissions, args.out)]
    elif args.exercise:
        jobs = [(args.exercise, SAMPLES / args.exercise, samples / args.exercise)]
    else:
        jobs = [(slug, SAMPLES / slug, samples / slug) for slug in exercise_slugs() if (SAMPLES / slug).is_dir()]
    exercises = [load_exercise(slug) for slug, _, _ in jobs]
    with shared_workers(exercises):  # the workers serve every exercise, and end with the run
        for exercise, (slug, folder, out) in zip(exercises, jobs):
            print(f"== {slug}: {folder} -> {out}")
            try:
                grades = grade_folder(exercise, folder, out, workers=_workers(args))
            except KeyboardInterrupt:
                return 130
            print_summary(grades, out)
    return 0


def _check(args) -> int:
    from autograder.report import feedback_text
    from autograder.selfcheck import check_notebook, still_hidden

    slug = args.exercise or exercise_for_file(args.notebook)
    grade = check_notebook(args.notebook, slug, visible_only=not args.hidden)
    print(feedback_text(grade))
    if not args.hidden:
        print(still_hidden(slug))
    failed = [c.name for c in grade.checks if not c.passed]
    if failed or not grade.checks:
        print(f"autograder: failed: {', '.join(failed) or 'nothing could be checked'}", file=sys.stderr)
        return 1
    return 0


def _learner_kit(args) -> int:
    from autograder.learnerkit import build_kit

    print(f"wheel: {build_kit(args.out)}; notebooks: {args.out / 'exercises'}")
    return 0


def _workers(args) -> int:
    from autograder.worker import default_count

    return args.workers or default_count()


def _list(args) -> int:
    for slug in exercise_slugs():
        exercise = load_exercise(slug)
        assignments = ", ".join(f"{Path(v.notebook).stem} ({v.framework})" for v in exercise.variants)
        print(f"{slug:14} {assignments:40} {exercise.title}")
    return 0


def _gradescope_zip(args) -> int:
    from autograder.gradescope import build_zip

    print(build_zip(args.exercise, args.out or Path("build/gradescope") / f"{args.exercise}.zip"))
    return 0


def _gradescope_run(args) -> int:
    from autograder.gradescope import run_in_layout

    print(run_in_layout(args.exercise))
    return 0


def _nbgrader_course(args) -> int:
    from autograder.nbgrader_course import make_course

    course_id = make_course(args.course, args.course_id, args.exchange, progress=print)
    print(f"course {course_id!r} in {args.course}: nothing is released to learners yet; "
          f"release with: cd {args.course} && nbgrader release_assignment ASSIGNMENT")
    return 0


def _nbgrader_grade(args) -> int:
    from autograder.batch import print_summary
    from autograder.nbgrader_course import grade_assignment

    course = args.course_dir.resolve()
    grades = grade_assignment(course, args.assignment, _workers(args))
    print_summary(grades, course / "autograder" / args.assignment)
    print(f"gradebook: {course / 'gradebook.db'} (nbgrader export, the formgrader); "
          f"feedback: {course / 'feedback'}/<student>/{args.assignment}/, not yet released to learners; "
          f"release with: nbgrader release_feedback {args.assignment}")
    return 0


def _generate(args) -> int:
    from autograder.generate import generate_all

    course = course_folder()
    stale = generate_all(course, check_only=args.check, progress=lambda step: print(step, flush=True))
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(course)}")
    if not stale:
        print("everything is in sync with solutions/")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
