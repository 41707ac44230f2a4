"""Take the asked-for functions and classes out of a submission, with what they need.

Nothing here runs learner code: it reads the cells as Python syntax and resolves names by
Python's own scoping rules (the standard library's `symtable`). The result is the source of
a module that holds, in notebook order:

- every top-level import (with its guard, when the guarding statement is safe to run);
- top-level statements that configure an imported module (see CONFIG_CALLS and `_is_config`);
- the asked-for definitions, and the top-level definitions and assignments that bind the
  names they read as globals, transitively, when those assignments are safe to run.

A needed assignment that does demo work (reads a file, downloads, trains, or depends on a
name that is not kept) is left out and reported once, as a note. The rules are documented in
autograder/README.md ("What the grader takes from a notebook").
"""
import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field

from autograder.read import Cell

MAGIC = re.compile(r"^(\s*)([%!].*)$", re.MULTILINE)  # IPython magics and shell lines

# Calls that configure an imported module; kept at top level in their original order.
CONFIG_CALLS = {"filterwarnings", "simplefilter", "resetwarnings", "seterr", "seed", "manual_seed",
                "use_deterministic_algorithms", "run_functions_eagerly", "enable_op_determinism",
                "clear_session", "use"}
CONFIG_PREFIXES = ("set_", "enable_", "disable_")
# Parts of a called name that mean demo work: files, downloads, datasets, training, processes.
DEMO_PARTS = {"load", "load_model", "load_weights", "load_state_dict", "load_data", "get_file", "open",
              "urlopen", "urlretrieve", "fit", "train", "evaluate", "predict", "datasets", "applications",
              "hub", "listdir", "glob", "iterdir", "walk", "imread", "read", "save", "system", "popen",
              "run", "mount", "subprocess", "shutil", "requests", "urllib", "gdown", "wget", "input",
              "exists", "is_file", "is_dir", "imshow", "show", "savefig"}
DEMO_PREFIXES = ("load_", "read_", "download", "save", "fetch_", "write", "to_csv", "from_directory")
DEMO_MODULES = ("coursekit.data", "coursekit.weights", "coursekit.pretrain", "torch.utils.data", "tf.data")
PURE_BUILTINS = {"len", "range", "tuple", "list", "dict", "set", "frozenset", "int", "float", "str", "bool",
                 "abs", "min", "max", "sum", "sorted", "reversed", "enumerate", "zip", "round", "pow",
                 "divmod", "isinstance", "issubclass", "complex", "bytes", "slice", "type", "object",
                 "property", "staticmethod", "classmethod", "super", "repr", "ord", "chr", "any", "all", "map",
                 "filter", "hash", "id", "print"}
BUILTIN_NAMES = set(dir(builtins))


@dataclass
class Extracted:
    source: str  # the module the sandbox imports
    line_map: list[tuple[int, int]]  # extracted line i+1 -> (cell number among all cells, line in cell)
    missing: list[str]  # asked-for names the submission does not define
    notes: list[str] = field(default_factory=list)  # what was left out and why, for the learner


@dataclass
class _Statement:
    node: ast.stmt
    cell: Cell
    text: str  # the cell source the node's positions refer to
    binds: set[str]  # module-level names it binds
    reads: set[str]  # module-level names it reads, nested scopes included

    @property
    def first_line(self) -> str:
        line = self.text.splitlines()[_first_line(self.node) - 1].strip()
        return line if len(line) <= 70 else line[:67] + "..."

    @property
    def where(self) -> str:
        if _first_line(self.node) == 1:
            return self.cell.label
        return f"{self.cell.label}, line {_first_line(self.node)}: `{self.first_line}`"


def extract(cells: list[Cell], names: list[str]) -> Extracted:
    statements, notes = _parse_cells(cells)
    chooser = _Chooser(statements, notes)
    for name in names:
        chooser.need(name)
    chosen = [s for s in statements if id(s) in chooser.kept]
    optional = {id(s) for s in chosen if _is_import(s.node) and s.binds and not s.binds & chooser.needed}
    source, line_map = _render(chosen, optional)
    missing = [name for name in names if not any(name in s.binds for s in chosen)]
    for name in (n for n in missing if n not in chooser.unbuilt):
        notes.append(f"`{name}` is not defined at the top level of any code cell")
    return Extracted(source, line_map, missing, notes)


def _parse_cells(cells: list[Cell]) -> tuple[list[_Statement], list[str]]:
    statements, notes = [], []
    for cell in cells:
        text = MAGIC.sub(r"\1pass  # \2", cell.source)
        try:
            tree = ast.parse(text)
            statements += [_statement(node, cell, text) for node in tree.body]
        except SyntaxError as error:
            notes.append(f"{cell.label}, line {error.lineno}: {error.msg}; this cell was skipped")
        except (RecursionError, MemoryError):
            notes.append(f"{cell.label} is too deeply nested or too long for Python to read; this cell was skipped")
        except ValueError as error:  # e.g. a null byte in the source
            notes.append(f"{cell.label}: {error}; this cell was skipped")
    return statements, notes


def _statement(node: ast.stmt, cell: Cell, text: str) -> _Statement:
    table = symtable.symtable(ast.unparse(node), "cell", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    reads = {s.get_name() for s in table.get_symbols() if s.is_referenced()} | _nested_globals(table)
    return _Statement(node, cell, text, binds, reads)


def _nested_globals(table: symtable.SymbolTable) -> set[str]:
    """Names the nested scopes (functions, methods, lambdas, comprehensions, class bodies) read or
    declare as globals; parameters, locals, class attributes and nonlocals are not globals."""
    found = set()
    for child in table.get_children():
        found |= {s.get_name() for s in child.get_symbols() if s.is_global()}
        found |= _nested_globals(child)
    return found


def _is_definition(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


def _holds_import(node: ast.stmt) -> bool:
    return any(_is_import(n) for n in ast.walk(node))


class _Chooser:
    """Decides which statements are kept: imports, configuration, and what the asked-for names need."""

    def __init__(self, statements: list[_Statement], notes: list[str]):
        self.statements, self.notes = statements, notes
        self.imported = self._imported_paths()
        self.kept: set[int] = set()
        self.needed: set[str] = set()
        self.unbuilt: dict[str, tuple[_Statement, str]] = {}  # needed name -> where, why it is not built
        self.reported: set[str] = set()
        self.quiet = 0  # > 0 while looking at what a needed value depends on: report only the value
        self.star = any(isinstance(s.node, ast.ImportFrom) and any(a.name == "*" for a in s.node.names)
                        for s in statements)
        for statement in statements:
            if _is_import(statement.node):
                self._keep(statement)
        for statement in statements:
            if self._is_config(statement.node) and self._reads_are_built(statement):
                self._keep(statement)
            elif self._is_guard(statement.node):
                if self._is_safe_block([statement.node]) and self._reads_are_built(statement):
                    self._keep(statement)
                elif _holds_import(statement.node):
                    self.notes.append(f"{statement.where} holds imports but also runs other code, so the grader "
                                      "does not run it: put the imports in a statement of their own")

    def _imported_paths(self) -> dict[str, str]:
        """Each imported name -> the dotted path it stands for (`F` -> `torch.nn.functional`)."""
        paths = {}
        for statement in self.statements:
            for node in ast.walk(statement.node):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        paths[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
                elif isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        if alias.name != "*":
                            paths[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}".lstrip(".")
        return paths

    def _keep(self, statement: _Statement) -> None:
        if id(statement) not in self.kept:
            self.kept.add(id(statement))
            for name in statement.reads:
                self.need(name)

    def need(self, name: str) -> None:
        if name in self.needed:
            if name in self.unbuilt:
                self._report(name, *self.unbuilt[name])
            return
        self.needed.add(name)
        for statement in self.statements:
            if name not in statement.binds or id(statement) in self.kept:
                continue
            if _is_definition(statement.node) or self._is_guard(statement.node) and self._is_safe_block([statement.node]):
                self._keep(statement)
            elif self._is_value(statement.node):
                why = self._demo_work(statement)
                if why:
                    self._report(name, statement, why)
                else:
                    self._keep(statement)
            else:
                self._report(name, statement, "is bound by a statement the grader does not run")

    def _report(self, name: str, statement: _Statement, why: str) -> None:
        self.unbuilt.setdefault(name, (statement, why))
        if not self.quiet and name not in self.reported:
            self.reported.add(name)
            self.notes.append(f"`{name}` ({statement.where}) {why}: define it as a constant or inside the function")

    # what a statement is

    @staticmethod
    def _is_value(node: ast.stmt) -> bool:
        """An assignment to plain names (`N = 3`, `a, b = 1, 2`, `x: int = 1`, `x += 1`)."""
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            return False
        return all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Starred, ast.expr_context))
                   for t in targets for n in ast.walk(t))

    @staticmethod
    def _is_guard(node: ast.stmt) -> bool:
        return isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar"

    def _root(self, expr: ast.expr) -> str | None:
        """The dotted path a name or attribute chain stands for, when it starts at an import."""
        parts = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if isinstance(expr, ast.Name) and expr.id in self.imported:
            return ".".join([self.imported[expr.id], *reversed(parts)])
        return None

    def _is_config(self, node: ast.stmt) -> bool:
        """`ImageFile.LOAD_TRUNCATED_IMAGES = True`, `os.environ["X"] = "1"`, `torch.set_default_dtype(...)`."""
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            return all(isinstance(t, (ast.Attribute, ast.Subscript)) and self._root(_chain_base(t)) for t in targets) \
                and self._demo_call(node.value) is None
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            path = self._root(node.value.func)
            last = path.rsplit(".", 1)[-1] if path else ""
            return bool(path) and (last in CONFIG_CALLS or last.startswith(CONFIG_PREFIXES)) \
                and all(self._demo_call(a) is None for a in [*node.value.args, *[k.value for k in node.value.keywords]])
        return False

    def _is_safe_block(self, body: list[ast.stmt]) -> bool:
        """A guard (if/try/with) whose every statement is safe to run: imports, definitions, safe
        assignments, configuration, pass, raise, docstrings."""
        for node in body:
            if _is_import(node) or _is_definition(node) or isinstance(node, (ast.Pass, ast.Raise)):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue
            if self._is_value(node) or self._is_config(node):
                if self._demo_call(node.value) is not None:
                    return False
                continue
            if isinstance(node, ast.If):
                if self._demo_call(node.test) is None and self._is_safe_block(node.body) and self._is_safe_block(node.orelse):
                    continue
                return False
            if isinstance(node, ast.With):
                if all(self._demo_call(i.context_expr) is None for i in node.items) and self._is_safe_block(node.body):
                    continue
                return False
            if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                blocks = [node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]]
                if all(self._is_safe_block(b) for b in blocks):
                    continue
                return False
            return False
        return True

    # is it demo work?

    def _demo_work(self, statement: _Statement) -> str | None:
        """Why a needed assignment cannot be kept, or None when it is safe to run."""
        call = self._demo_call(statement.node.value)
        if call:
            return call
        return self._unbuilt_read(statement)

    def _reads_are_built(self, statement: _Statement) -> bool:
        return self._unbuilt_read(statement) is None

    def _unbuilt_read(self, statement: _Statement) -> str | None:
        for name in sorted(statement.reads - statement.binds):
            if name in self.imported or (name in BUILTIN_NAMES and not self._bound_at_top(name)):
                continue
            self.quiet += 1
            try:
                self.need(name)
            finally:
                self.quiet -= 1
            if name in self.unbuilt or not self._bound_at_top(name):
                if not self._bound_at_top(name) and self.star:
                    continue  # may come from the star import
                return f"is computed from `{name}`, which the grader does not build"
        return None

    def _bound_at_top(self, name: str) -> bool:
        return any(name in s.binds for s in self.statements)

    def _demo_call(self, expr: ast.expr | None) -> str | None:
        """A call in `expr` that reads files, downloads or trains: its description, else None."""
        if expr is None:
            return None
        for node in ast.walk(expr):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id not in self.imported:
                if func.id in PURE_BUILTINS or self._defined(func.id):
                    continue
                return f"calls `{func.id}(...)`, which the grader does not run"
            path = self._root(func) or ast.unparse(func)
            parts = [p.lower() for p in path.split(".")]
            if any(p in DEMO_PARTS or p.startswith(DEMO_PREFIXES) for p in parts) or path.startswith(DEMO_MODULES):
                return f"calls `{ast.unparse(func)}(...)`, which the grader does not run"
            if any(k.arg in ("weights", "pretrained") and not _is_none_or_false(k.value) for k in node.keywords):
                return f"calls `{ast.unparse(func)}(...)` with pretrained weights, which the grader does not download"
        return None

    def _defined(self, name: str) -> bool:
        return any(name in s.binds and _is_definition(s.node) for s in self.statements)


def _chain_base(target: ast.expr) -> ast.expr:
    """`os.environ` of `os.environ["X"]`, `ImageFile` of `ImageFile.LOAD_TRUNCATED_IMAGES`."""
    while isinstance(target, ast.Subscript):
        target = target.value
    return target.value if isinstance(target, ast.Attribute) else target


def _is_none_or_false(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value in (None, False)


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _render(chosen: list[_Statement], optional: set[int]) -> tuple[str, list[tuple[int, int]]]:
    """The kept statements' own text (a `;` neighbour on the same line is cut off). An import
    that nothing kept needs is made optional (`google.colab` is not there when grading)."""
    lines, line_map = [], []
    for statement in chosen:
        node = statement.node
        first = _first_line(node)
        segment = statement.text.splitlines()[first - 1 : node.end_lineno]
        segment[-1] = segment[-1].encode()[: node.end_col_offset].decode(errors="replace")  # columns count UTF-8 bytes
        if node.lineno == first:
            segment[0] = segment[0].encode()[node.col_offset :].decode(errors="replace")
        if id(statement) in optional:
            segment = ["try: " + segment[0], *segment[1:], "except ImportError: pass"]
        lines += segment
        line_map += [(statement.cell.number, min(first + i, node.end_lineno)) for i in range(len(segment))]
    return "\n".join(lines) + "\n", line_map
