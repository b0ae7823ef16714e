"""The house rules of the code, checked: which layer may import which (import-linter contracts in
pyproject.toml), no import cycles, an import inside a function only with a comment saying why,
and no module so long that nobody can hold it in mind unless its docstring says why.

docs/architecture.md explains the layers these tests keep."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "wijkbudget"
#: a module may be this long; a longer one says why in its docstring, in a paragraph "Size: …"
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "translations" not in p.parts)


def test_the_import_contracts_hold() -> None:
    """tally imports nothing of the app; models no operations, forms or views; operations no
    views or forms; no blueprint another area's views."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    assert lint, "import-linter is not installed (pip install -e '.[test]')"
    run = subprocess.run(
        [lint, "--no-cache"], cwd=PACKAGE.parent, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "broken" in run.stdout and " 0 broken" in run.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_there_are_no_import_cycles() -> None:
    """Imports inside functions count: moving an import into a function hides a cycle from
    Python, not from the reader."""
    graph = grimp.build_graph("wijkbudget", exclude_type_checking_imports=True)
    cycles = _cycles(graph)
    detail = []
    for component in cycles:
        members = set(component)
        for module in component:
            for imported in sorted(graph.find_modules_directly_imported_by(module) & members):
                lines = [
                    d["line_number"]
                    for d in graph.get_import_details(importer=module, imported=imported)
                ]
                detail.append(f"{module} -> {imported} (line {', '.join(map(str, lines))})")
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(name)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.c", imported="a.d")
    assert _cycles(graph) == [["a.b", "a.c"]]


def _function_imports_without_reason(path: Path) -> list[int]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    bare = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                here = lines[child.lineno - 1]
                before = lines[child.lineno - 2].strip() if child.lineno > 1 else ""
                if "#" not in here and not before.startswith("#"):
                    bare.append(child.lineno)
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, in_function or is_function)

    visit(tree, False)
    return bare


def test_an_import_inside_a_function_says_why() -> None:
    """A comment on the line or just above it: what it avoids loading, or which cycle it is not."""
    bare = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in _modules()
        if (lines := _function_imports_without_reason(path))
    }
    assert not bare, f"imports inside functions without a reason: {bare}"


def test_no_module_is_too_long_to_read_without_a_reason() -> None:
    too_long = []
    for path in _modules():
        source = path.read_text(encoding="utf-8")
        if source.count("\n") <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if "Size:" not in docstring:
            too_long.append(f"{path.relative_to(PACKAGE.parent)} ({source.count(chr(10))} lines)")
    assert not too_long, (
        f"modules over {MAX_LINES} lines whose docstring does not say why (Size: …): {too_long}"
    )
