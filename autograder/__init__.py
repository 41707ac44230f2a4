"""autograder: read -> extract -> run isolated -> check -> report.

Learner code only ever runs in a sandboxed child process (sandbox.py, child.py);
scores are decided by the checks, in the grader's process, on the plain data it hands back
(checking.py); diagnosis.py names the known mistake a failed check's results match.
"""


def self_check(exercise: str, notebook=None) -> None:
    """The self-check cell of an exercise notebook calls this."""
    from autograder.selfcheck import self_check as run

    run(exercise, notebook)
