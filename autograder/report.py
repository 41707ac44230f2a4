"""Reports of grades: Gradescope's results.json, a CSV gradebook, an HTML page per
learner, and plain text for the terminal and the self-check cell."""
import csv
import html
import json
import os
from pathlib import Path

from autograder.grading import Grade


def write_json(path: Path, data) -> None:
    """Written whole or not at all: a crash never leaves half a file."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(data, indent=1))
    os.replace(partial, path)


def gradescope_results(grade: Grade) -> dict:
    """Gradescope's autograder results format."""
    tests = [{
        "name": check.title,
        "score": check.points,
        "max_score": check.max_points,
        "visibility": "after_published" if check.hidden else "visible",
        "output": _feedback(check),
    } for check in grade.checks]
    return {
        "score": grade.score,
        "output": "\n".join(grade.notes + [f"framework: {grade.framework or 'unknown'}; isolation: {grade.isolation or 'none'}"]),
        "tests": tests,
        "execution_time": grade.seconds,
    }


def _feedback(check) -> str:
    if check.passed:
        return check.message
    return f"{check.message}\nHint: {check.hint}" if check.hint else check.message


def write_learner_reports(grade: Grade, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feedback.html").write_text(feedback_page(grade))
    write_json(folder / "results.json", gradescope_results(grade))
    write_json(folder / "grade.json", grade.to_json())  # last: its presence marks the learner as graded


def write_gradebook(grades: list[Grade], path: Path) -> None:
    names = [c.name for c in grades[0].checks] if grades else []
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["learner", "exercise", "file", "score", "max_score", *names])
        for grade in sorted(grades, key=lambda g: g.learner):
            points = {c.name: c.points for c in grade.checks}
            writer.writerow([grade.learner, grade.exercise, grade.file, _num(grade.score), _num(grade.max_score),
                             *[_num(points.get(n, 0)) for n in names]])


def _num(value: float) -> str:
    return f"{value:g}"


def summary_table(grades: list[Grade]) -> str:
    rows = [("learner", "score", "failed checks")]
    for grade in sorted(grades, key=lambda g: g.learner):
        failed = [c.name.removeprefix("check_") for c in grade.checks if not c.passed]
        rows.append((grade.learner, f"{_num(grade.score)}/{_num(grade.max_score)}", ", ".join(failed) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]}" for r in rows)


def feedback_text(grade: Grade) -> str:
    lines = [f"{grade.exercise}: {_num(grade.score)}/{_num(grade.max_score)} points", *grade.notes]
    for check in grade.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"[{mark}] {check.title} ({_num(check.points)}/{_num(check.max_points)})")
        if _feedback(check):
            lines += ["       " + line for line in _feedback(check).splitlines()]
    return "\n".join(lines)


def feedback_page(grade: Grade) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr class='{'pass' if c.passed else 'fail'}'><td>{'✔' if c.passed else '✘'}</td><td>{esc(c.title)}"
        f"{' <em>(hidden until grading)</em>' if c.hidden else ''}</td><td>{_num(c.points)}/{_num(c.max_points)}</td>"
        f"<td><pre>{esc(_feedback(c))}</pre></td></tr>"
        for c in grade.checks
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in grade.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(grade.learner)}: {esc(grade.exercise)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{vertical-align:top;padding:.3em .6em}}
tr.pass td:first-child{{color:#1a7f37}}tr.fail td:first-child{{color:#cf222e}}pre{{white-space:pre-wrap;margin:0}}</style></head>
<body><h1>{esc(grade.exercise)} — {esc(grade.learner)}</h1>
<p><strong>{_num(grade.score)} / {_num(grade.max_score)}</strong> points for <code>{esc(grade.file)}</code>
({esc(grade.framework or 'framework unknown')}).</p>
{f'<ul>{notes}</ul>' if notes else ''}
<table><tr><th></th><th>check</th><th>points</th><th>feedback</th></tr>{rows}</table>
</body></html>
"""
