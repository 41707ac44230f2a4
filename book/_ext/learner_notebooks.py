"""Each chapter page (book/<page>.md, a MyST notebook) as a plain notebook a learner can run:
book/<page>.ipynb, beside the page, so the Colab and Binder buttons open it, and copied over
the page's .ipynb download when the book is built.

The pages use the book's own machinery: `%%tab NAME` cells (book/tabcells.py) run hidden and
are glued into Keras/PyTorch tabs, and numbers are glued into the text with myst_nb. The
learner's notebook needs none of it (nor jupytext, which only this converter uses): the tab
cells become plain cells, Keras then PyTorch in the page's order, under a line naming the
framework; `glue` is a small function of the set-up cell that keeps the values, and each
glued number or table is shown by a cell where the text refers to it. The first cell
installs the course's kit where it is missing, as every exercise notebook's does.

    python book/_ext/learner_notebooks.py [--check]     # write (or check) book/<page>.ipynb
"""
import re
import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent.parent
CHAPTERS = ("pytorch_data", "unet", "transfer", "distillation")
FRAMEWORKS = {"keras": "Keras", "torch": "PyTorch"}
GLUE_MD = re.compile(r"```\{glue:md\} (\S+)\n(?::format: \w+\n)?```\n?")
GLUE_TEXT = re.compile(r"\{glue:(?:text|md)\}`([\w-]+)(?::([^`]*))?`")  # inline numbers and short Markdown
GLUE_CALL = re.compile(r"""\bglue\(\s*["']([\w-]+)["']""")
GLUE_ANY = re.compile(r"(?<!def )\bglue\(")  # a call, not the helper's definition
GLUED_USE = re.compile(r'"([\w-]+)(?::[^"]*)?"')  # the names in a GLUED["..."] or show_glued(...) cell
TAB_SET = re.compile(r"^::::\{tab-set\}\n.*?^::::\n?", re.DOTALL | re.MULTILINE)
GLUE_HELPERS = '''
# The book pastes values into its text with the book's glue; here they are kept and shown by cells.
GLUED = {}


def glue(name, value, display=True):
    GLUED[name] = value
    if display:
        from IPython.display import display as show
        show(value)


def show_glued(*names):
    """Print the glued values the text above refers to (name:format, as the book formats them)."""
    for entry in names:
        name, _, spec = entry.partition(":")
        print(f"{name} = {format(GLUED[name], spec)}")'''


def setup_cell() -> str:
    """The kit's set-up cell (from course.toml, as the exercises' is) and the glue helpers."""
    sys.path.insert(0, str(BOOK.parent))
    from autograder.learnerkit import kit_config, setup_source

    kit = setup_source("torch", kit_config(BOOK.parent)).replace('"[torch]"', '"[torch,keras]"')
    return kit.replace("# Colab already has torch", "# Colab already has torch and TensorFlow") + "\n" + GLUE_HELPERS


def convert(page: Path):
    """The learner's notebook of one chapter page."""
    import jupytext
    import nbformat

    source = jupytext.read(page)
    cells = [nbformat.v4.new_code_cell(setup_cell(), metadata={"autograder": "setup"})]
    for cell in source.cells:
        if cell.cell_type == "code":
            cells += _code(cell, nbformat)
        elif cell.cell_type == "markdown":
            cells += _markdown(cell.source, nbformat)
    notebook = nbformat.v4.new_notebook(cells=_after_their_glue(cells), metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "book": {"page": page.name, "made_by": "book/_ext/learner_notebooks.py"},
    })
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    return notebook


def _after_their_glue(cells: list) -> list:
    """A page's text may show a value that a code cell below it glues (the book resolves glue
    across the page); in the notebook the cell showing it waits until that code cell has run.
    After a cell that glues computed names (glue(f"{name}_...")), nothing waits any more."""
    glued, placed, waiting, computed = set(), [], [], False
    for cell in cells:
        shown = set(GLUED_USE.findall(cell.source)) if _shows_glue(cell) else set()
        if shown - glued and not computed:
            waiting.append((shown, cell))
            continue
        placed.append(cell)
        if cell.cell_type == "code":
            named = GLUE_CALL.findall(cell.source)
            glued |= set(named)
            computed |= len(GLUE_ANY.findall(cell.source)) > len(named)
            ready = [w for w in waiting if computed or w[0] <= glued]
            placed += [c for _, c in ready]
            waiting = [w for w in waiting if w not in ready]
    return placed + [c for _, c in waiting]


def _shows_glue(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(("GLUED[", "show_glued("))


def _code(cell, nbformat) -> list:
    lines = [line for line in cell.source.splitlines()
             if line.strip() not in ("%load_ext tabcells", "from myst_nb import glue")]
    tab = re.match(r"%%tab (\S+)", lines[0]) if lines else None
    if not tab:
        return [nbformat.v4.new_code_cell("\n".join(lines))] if "".join(lines).strip() else []
    framework = FRAMEWORKS.get(tab[1].split("-")[0], tab[1])
    return [nbformat.v4.new_markdown_cell(f"**{framework}**"), nbformat.v4.new_code_cell("\n".join(lines[1:]).strip())]


def _markdown(text: str, nbformat) -> list:
    """Tab sets dropped (their cells are in place); glued tables shown by a cell; glued numbers named."""
    text = TAB_SET.sub("", text)
    cells, start = [], 0
    for match in GLUE_MD.finditer(text):
        cells += _text_cells(text[start:match.start()], nbformat)
        cells.append(nbformat.v4.new_code_cell(f'GLUED["{match[1]}"]'))
        start = match.end()
    return cells + _text_cells(text[start:], nbformat)


def _text_cells(text: str, nbformat) -> list:
    if not text.strip():
        return []
    names = [f"{m[1]}:{m[2]}" if m[2] else m[1] for m in GLUE_TEXT.finditer(text)]
    cells = [nbformat.v4.new_markdown_cell(GLUE_TEXT.sub(r"`\1`", text).strip())]
    if names:
        listed = ", ".join(f'"{n}"' for n in dict.fromkeys(names))
        cells.append(nbformat.v4.new_code_cell(f"show_glued({listed})"))
    return cells


def write_all(check_only: bool = False) -> list[Path]:
    import nbformat

    stale = []
    for name in CHAPTERS:
        target = BOOK / f"{name}.ipynb"
        text = nbformat.writes(convert(BOOK / f"{name}.md")) + "\n"
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target)
        if not check_only:
            target.write_text(text)
    return stale


# ---- the Sphinx extension: the page's .ipynb download is the learner's notebook ----

def _replace_downloads(app, exception) -> None:
    if exception is not None or app.builder.name != "html":
        return
    for name in CHAPTERS:
        notebook = BOOK / f"{name}.ipynb"
        target = Path(app.outdir) / "_sources" / f"{name}.ipynb"
        if notebook.exists() and target.parent.is_dir():
            target.write_bytes(notebook.read_bytes())


def setup(app):
    app.connect("build-finished", _replace_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    check = "--check" in sys.argv[1:]
    changed = write_all(check_only=check)
    for path in changed:
        print(f"{'out of date' if check else 'wrote'}: {path.relative_to(BOOK.parent)}")
    sys.exit(1 if check and changed else 0)
