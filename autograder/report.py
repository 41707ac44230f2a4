"""Reports of grades: Gradescope's results.json, a CSV gradebook, an HTML page per
learner, and plain text for the terminal and the self-check cell.

Any text may reach a report (a learner's file name, an error message): what a file or a
terminal cannot hold is shown escaped (control characters, lone surrogates), HTML is
escaped, and a CSV cell that a spreadsheet would run as a formula is neutralised.
"""
import csv
import html
import io
import json
import os
import re
import tempfile
from pathlib import Path

from autograder.grading import Grade

FORMULA_START = ("=", "+", "@", "\t", "\r")  # OWASP's CSV injection list; "-" unless a number follows
CODE = re.compile(r"`([^`\n]+)`")


def printable(text: str, keep: str = "\n\t") -> str:
    """`text` with control characters, invisible format characters and lone surrogates escaped."""
    return "".join(ch if ch.isprintable() or ch in keep else _escaped(ch) for ch in str(text))


def shown(name: str) -> str:
    """A learner's or file's name as reports show it: one line, nothing a terminal would act on."""
    return printable(name, keep="")


def _escaped(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return ascii(ch)[1:-1]


def spreadsheet_safe(cell: str) -> str:
    """A leading apostrophe on a cell that a spreadsheet would evaluate (OWASP's advice)."""
    if cell.startswith(FORMULA_START) or (cell.startswith("-") and not cell[1:2].isdigit()):
        return "'" + cell
    return cell


def write_text(path: Path, text: str) -> None:
    """Written whole or not at all: a crash never leaves half a file; what UTF-8 cannot hold is escaped."""
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
            f.write(text)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


def write_json(path: Path, data) -> None:
    write_text(path, json.dumps(data, indent=1))  # ensure_ascii: any string, lone surrogates too, is written


def gradescope_results(grade: Grade) -> dict:
    """Gradescope's autograder results format (results.json), written for the learner."""
    tests = [{
        "name": printable(check.title),
        "score": check.points,
        "max_score": check.max_points,
        "status": "passed" if check.passed else "failed",
        "visibility": "after_published" if check.hidden else "visible",
        "output": printable(_feedback(check)),
    } for check in grade.checks]
    return {
        "score": grade.score,
        "output": printable("\n".join(_overview(grade))),
        "tests": tests,
        "execution_time": round(grade.seconds),
        "stdout_visibility": "hidden",  # the grader's log is for the instructor
        "extra_data": {"framework": grade.framework or "unknown", "isolation": grade.isolation or "none",
                       "flags": [printable(f) for f in grade.flags]},
    }


def _overview(grade: Grade) -> list[str]:
    """What a learner reads above the checks: why nothing could be graded, notes, tampering found."""
    lines = [grade.problem] if grade.problem else []
    lines += [n for n in grade.notes if n not in grade.problem]
    lines += [f"flagged: {flag}" for flag in grade.flags]
    return lines


def _feedback(check, diagnosis: bool = True) -> str:
    """A check's feedback: the known mistake its results match (if any), what was measured, the hint."""
    if check.passed:
        return check.message
    lines = [check.diagnosis if diagnosis else "", check.message, f"Hint: {check.hint}" if check.hint else ""]
    return "\n".join(line for line in lines if line)


def write_learner_reports(grade: Grade, out: Path) -> None:
    """feedback.html, results.json and grade.json in out/<grade.folder>/, never outside out."""
    folder = out / grade.folder
    if not grade.folder or folder.parent != out or folder.is_symlink() or not folder.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"refusing to write reports outside {out}: {grade.folder!r}")
    folder.mkdir(exist_ok=True)
    write_text(folder / "feedback.html", feedback_page(grade))
    write_json(folder / "results.json", gradescope_results(grade))
    write_json(folder / "grade.json", grade.to_json())  # last: its presence marks the learner as graded


def write_gradebook(grades: list[Grade], path: Path) -> None:
    names = list(dict.fromkeys(c.name for g in grades for c in g.checks))
    rows = [["learner", "folder", "exercise", "file", "score", "max_score", *names, "note"]]
    for grade in sorted(grades, key=lambda g: g.learner):
        points = {c.name: c.points for c in grade.checks}
        rows.append([shown(grade.learner), shown(grade.folder), shown(grade.exercise), shown(grade.file),
                     _num(grade.score), _num(grade.max_score), *[_num(points.get(n, 0)) for n in names],
                     printable(grade.problem, keep="")])
    text = io.StringIO()
    csv.writer(text).writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    write_text(path, text.getvalue())


def _num(value: float) -> str:
    return f"{value:g}"


def summary_table(grades: list[Grade]) -> str:
    rows = [("learner", "score", "failed checks")]
    for grade in sorted(grades, key=lambda g: g.learner):
        failed = [c.name.removeprefix("check_") for c in grade.checks if not c.passed]
        detail = printable(grade.problem, keep="") if grade.problem else ", ".join(failed) or "-"
        rows.append((shown(grade.learner), f"{_num(grade.score)}/{_num(grade.max_score)}", detail))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]}" for r in rows]
    return "\n".join(lines + regrade_lines(grades))


def regrade_lines(grades: list[Grade]) -> list[str]:
    """'3 regraded: the checks changed', one line per reason."""
    counts = {}
    for grade in grades:
        if grade.regraded:
            counts[grade.regraded] = counts.get(grade.regraded, 0) + 1
    return [f"{n} regraded: {why}" for why, n in sorted(counts.items())]


def feedback_text(grade: Grade) -> str:
    lines = [f"{grade.exercise}: {_num(grade.score)}/{_num(grade.max_score)} points", *_overview(grade)]
    for check in grade.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"[{mark}] {check.title} ({_num(check.points)}/{_num(check.max_points)})")
        if _feedback(check):
            lines += ["       " + line for line in _feedback(check).splitlines()]
    return printable("\n".join(lines))


def _rich(text: str) -> str:
    """Escaped HTML, with `code` in backticks shown as code."""
    return CODE.sub(r"<code>\1</code>", html.escape(printable(text)))


def _diagnosis_html(check) -> str:
    """The known mistake, set apart above the measurements: the first thing a learner reads."""
    if check.passed or not check.diagnosis:
        return ""
    return f"<p class='diagnosis'><strong>{_rich(check.diagnosis)}</strong></p>"


def feedback_page(grade: Grade) -> str:
    rows = "".join(
        f"<tr class='{'pass' if c.passed else 'fail'}'><td>{'✔' if c.passed else '✘'}</td><td>{_rich(c.title)}"
        f"{' <em>(hidden until grading)</em>' if c.hidden else ''}</td><td>{_num(c.points)}/{_num(c.max_points)}</td>"
        f"<td>{_diagnosis_html(c)}<pre>{_rich(_feedback(c, diagnosis=False))}</pre></td></tr>"
        for c in grade.checks
    )
    notes = "".join(f"<li>{_rich(n)}</li>" for n in _overview(grade))
    name, exercise = html.escape(shown(grade.learner)), html.escape(shown(grade.exercise))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}: {exercise}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;overflow-wrap:anywhere}}
table{{border-collapse:collapse;width:100%}}td,th{{vertical-align:top;padding:.3em .6em;text-align:left}}
tr.pass td:first-child{{color:#1a7f37}}tr.fail td:first-child{{color:#cf222e}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}}p.diagnosis{{margin:0 0 .4em;color:#8a4b00}}code{{background:#f3f3f3;padding:0 .2em}}
@media (max-width:40em){{tr{{display:block;border-top:thin solid #ccc;padding:.4em 0}}td,th{{display:block;padding:.1em 0}}}}</style></head>
<body><h1>{exercise} — {name}</h1>
<p><strong>{_num(grade.score)} / {_num(grade.max_score)}</strong> points for <code>{html.escape(shown(grade.file))}</code>
({html.escape(grade.framework or 'framework unknown')}).</p>
{f'<ul>{notes}</ul>' if notes else ''}
<table><tr><th></th><th>check</th><th>points</th><th>feedback</th></tr>{rows}</table>
</body></html>
"""
