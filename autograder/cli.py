"""autograder: grade a folder, check one notebook, generate the exercises.

  autograder grade                      grade every exercise's bundled samples into grades/
  autograder grade EXERCISE FOLDER      grade a class: FOLDER/<learner>.ipynb or FOLDER/<learner>/<file>
  autograder check NOTEBOOK             the visible checks on one notebook (the self-check)
  autograder generate [--check]         exercises/ and samples from solutions/ (nbgrader's generate step)
  autograder gradescope-zip EXERCISE    the zip to upload to Gradescope
  autograder nbgrader-course COURSE     an nbgrader course folder, every assignment released
  autograder nbgrader-grade COURSE NAME grade submitted/*/NAME/ into nbgrader's gradebook
  autograder list                       the exercises
"""
import argparse
import os
import sys
from pathlib import Path

from autograder.exercise import COURSE_ENV, CourseError, course_folder, exercise_for_file, exercise_slugs, load_exercise

SAMPLES = Path(__file__).resolve().parent / "samples"


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.course_folder:
        os.environ[COURSE_ENV] = str(args.course_folder.resolve())
    try:
        return args.run(args)
    except CourseError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", dest="course_folder", type=Path, metavar="FOLDER",
                        help=f"the course folder holding solutions/ (default: ${COURSE_ENV}, else the checkout)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    grade = commands.add_parser("grade", help="grade a folder of submissions (default: the bundled samples)")
    grade.add_argument("exercise", nargs="?", help=f"one of: {', '.join(exercise_slugs())}")
    grade.add_argument("submissions", nargs="?", type=Path, help="folder of submissions")
    grade.add_argument("--out", type=Path, default=Path("grades"), help="where reports go (default: grades/)")
    grade.add_argument("--workers", type=int, default=2, help="submissions graded at once (default: 2)")
    grade.set_defaults(run=_grade)

    check = commands.add_parser("check", help="run the checks on one notebook and print the feedback")
    check.add_argument("notebook", type=Path)
    check.add_argument("--exercise", help="default: the notebook's name without the framework suffix")
    check.add_argument("--hidden", action="store_true", help="also run the hidden checks (instructors)")
    check.set_defaults(run=_check)

    generate = commands.add_parser("generate", help="write exercises/ and the samples from solutions/")
    generate.add_argument("--check", action="store_true", help="only report whether the committed files are in sync")
    generate.set_defaults(run=_generate)

    zip_command = commands.add_parser("gradescope-zip", help="build the Gradescope autograder zip of an exercise")
    zip_command.add_argument("exercise")
    zip_command.add_argument("--out", type=Path, help="default: build/gradescope/<exercise>.zip")
    zip_command.set_defaults(run=_gradescope_zip)

    gradescope_run = commands.add_parser("gradescope-run", help="(inside Gradescope) grade /autograder/submission")
    gradescope_run.add_argument("exercise")
    gradescope_run.set_defaults(run=_gradescope_run)

    course = commands.add_parser("nbgrader-course", help="create an nbgrader course folder from solutions/")
    course.add_argument("course", type=Path)
    course.set_defaults(run=_nbgrader_course)

    nb_grade = commands.add_parser("nbgrader-grade", help="grade an nbgrader assignment into its gradebook")
    nb_grade.add_argument("course", type=Path)
    nb_grade.add_argument("assignment", help="e.g. pytorch_data, unet_keras")
    nb_grade.add_argument("--workers", type=int, default=2)
    nb_grade.set_defaults(run=_nbgrader_grade)

    kit = commands.add_parser("learner-kit", help="build the learner's kit: DIR/ with its wheel and the exercise notebooks")
    kit.add_argument("out", type=Path, metavar="DIR", help="the folder to write (a wheel, index.html, exercises/)")
    kit.set_defaults(run=_learner_kit)

    listing = commands.add_parser("list", help="list the exercises")
    listing.set_defaults(run=lambda args: print("\n".join(exercise_slugs())) or 0)
    return parser


def _grade(args) -> int:
    from autograder.batch import grade_folder, print_summary

    if args.exercise and not args.submissions:
        jobs = [(args.exercise, SAMPLES / args.exercise, args.out / args.exercise)]
    elif args.exercise:
        jobs = [(args.exercise, args.submissions, args.out)]
    else:
        jobs = [(slug, SAMPLES / slug, args.out / slug) for slug in exercise_slugs() if (SAMPLES / slug).is_dir()]
    for slug, folder, out in jobs:
        print(f"== {slug}: {folder}")
        try:
            grades = grade_folder(load_exercise(slug), folder, out, workers=args.workers)
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

    for name in make_course(args.course):
        print(f"released: {args.course / 'release' / name}")
    return 0


def _nbgrader_grade(args) -> int:
    from autograder.batch import print_summary
    from autograder.nbgrader_course import grade_assignment

    grades = grade_assignment(args.course, args.assignment, args.workers)
    print_summary(grades, args.course / "autograder" / args.assignment)
    print(f"gradebook: {args.course / 'gradebook.db'} (nbgrader export, formgrader); feedback: {args.course / 'feedback'}")
    return 0


def _generate(args) -> int:
    from autograder.generate import generate_all

    course = course_folder()
    stale = generate_all(course, check_only=args.check)
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(course)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
