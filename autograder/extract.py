"""Take the asked-for functions and classes out of a submission, with what they need.

Nothing here runs learner code: it reads the cells as Python syntax. The result is
the source of a module that holds, in notebook order, the requested definitions,
the top-level definitions and assignments they use (transitively), and the imports
that bind the names they use. The learner's other top-level code (training loops,
plots) is left out.
"""
import ast
import re
from dataclasses import dataclass, field

from autograder.read import Cell

MAGIC = re.compile(r"^(\s*)([%!].*)$", re.MULTILINE)  # IPython magics and shell lines


@dataclass
class Extracted:
    source: str  # the module the sandbox imports
    line_map: list[tuple[int, int]]  # extracted line i+1 -> (cell number, line in cell)
    missing: list[str]  # asked-for names the submission does not define
    notes: list[str] = field(default_factory=list)  # cells that could not be read, and why


@dataclass
class _Statement:
    node: ast.stmt
    cell: Cell
    text: str  # the cell source the node's positions refer to


def extract(cells: list[Cell], names: list[str]) -> Extracted:
    statements, notes = _parse_cells(cells)
    definitions = _definitions(statements)
    needed = _closure(names, definitions)
    chosen = [s for s in statements if _binds(s.node) & needed or _is_star_import(s.node)]
    source, line_map = _render(chosen)
    missing = [name for name in names if name not in definitions]
    for name in missing:
        notes.append(f"`{name}` is not defined at the top level of any code cell")
    return Extracted(source, line_map, missing, notes)


def _parse_cells(cells: list[Cell]) -> tuple[list[_Statement], list[str]]:
    statements, notes = [], []
    for cell in cells:
        text = MAGIC.sub(r"\1pass  # \2", cell.source)
        try:
            tree = ast.parse(text)
        except SyntaxError as error:
            notes.append(f"cell {cell.number}, line {error.lineno}: {error.msg}; this cell was skipped")
            continue
        statements += [_Statement(node, cell, text) for node in tree.body]
    return statements, notes


def _binds(node: ast.stmt) -> set[str]:
    """Top-level names a statement defines."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _is_star_import(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)


def _definitions(statements: list[_Statement]) -> dict[str, list[ast.stmt]]:
    """Every statement that binds each name (a later one may refer to an earlier)."""
    found: dict[str, list[ast.stmt]] = {}
    for statement in statements:
        for name in _binds(statement.node):
            found.setdefault(name, []).append(statement.node)
    return found


def _used_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _closure(names: list[str], definitions: dict[str, list[ast.stmt]]) -> set[str]:
    needed, todo = set(), [n for n in names if n in definitions]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for node in definitions[name]:
            todo += [n for n in _used_names(node) if n in definitions and n not in needed]
    return needed


def _render(chosen: list[_Statement]) -> tuple[str, list[tuple[int, int]]]:
    lines, line_map = [], []
    for statement in chosen:
        node = statement.node
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        segment = statement.text.splitlines()[first - 1 : node.end_lineno]
        lines += segment
        line_map += [(statement.cell.number, first + i) for i in range(len(segment))]
    return "\n".join(lines) + "\n", line_map
