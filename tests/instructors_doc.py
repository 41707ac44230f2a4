"""The command blocks of book/instructors.md, read from the page itself, so that a changed
page changes what the tests run (tests/test_nbgrader_course.py, tests/test_gradescope.py)."""
import re
import subprocess
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "book" / "instructors.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def section(heading: str) -> str:
    """The text under the heading (`## heading` or `### heading`), up to the next heading of
    level 1 to 3 (outside code)."""
    lines, inside, fenced = [], False, False
    for line in PAGE.read_text().splitlines(keepends=True):
        fenced ^= line.startswith("```")
        if not fenced and re.match(r"#{1,3} ", line):
            inside = line.split(" ", 1)[1].strip() == heading
        elif inside:
            lines.append(line)
    assert lines, f"no section {heading!r} in {PAGE}"
    return "".join(lines)


def blocks(heading: str) -> list[tuple[str, str]]:
    """(who, script) for each bash block of the section, in order; `who` is the block's first
    line, a comment naming who runs it (`# instructor`, `# learner`)."""
    found = []
    for script in BLOCK.findall(section(heading)):
        first, _, rest = script.partition("\n")
        assert first.startswith("# "), f"a block in {heading!r} does not say who runs it: {script!r}"
        found.append((first[2:].strip(), rest))
    return found


def run_block(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """One block, as the page writes it, in bash with errors stopping it; it must succeed."""
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done
