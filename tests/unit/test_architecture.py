"""The package's shape: no import circle among its modules, no production module over 400 lines.

Imports are read with :mod:`ast`, so an import inside a function counts like one at the top (a
circle hidden that way still ties the modules together). Imports under ``if TYPE_CHECKING:`` are
left out: they never run, and annotations need them both ways (a config names its sections, a
section's helper names the config). ``importlib.import_module`` with a computed name (the lazy
exports of ``okta_salesforce.sync``) is not followed.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "okta_salesforce"
MAX_LINES = 400
#: Known exceptions: none. Add one only with a comment naming who splits it.
KNOWN_LONG: set[str] = set()
KNOWN_CIRCLES: list[list[str]] = []


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every module name ``tree`` imports (anywhere but under ``if TYPE_CHECKING:``)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """``module -> the package's modules it imports``."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imports(tree, name, path.name == "__init__.py")
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return out


def test_the_package_has_no_import_circle():
    found = [group for group in cycles(import_graph()) if group not in KNOWN_CIRCLES]
    assert not found, "import circles (each a group of modules importing each other):\n" + "\n".join(
        " <-> ".join(group) for group in found
    )


def test_the_cycle_finder_sees_a_circle_through_a_function_import():
    source = "import a.b\ndef f():\n    from a import c\n"
    assert _imports(ast.parse(source), "a.x", False) == {"a.b", "a", "a.c"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    type_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\n"
    assert _imports(ast.parse(type_only), "a.x", False) == {"typing", "typing.TYPE_CHECKING"}


def test_no_production_module_is_over_400_lines():
    long = {
        str(path.relative_to(PACKAGE)): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    unexpected = {name: count for name, count in long.items() if name not in KNOWN_LONG}
    assert not unexpected, f"modules over {MAX_LINES} lines (split them): {unexpected}"


def test_the_sync_core_imports_no_airflow():
    graph_sources = [p for p in (PACKAGE / "sync").rglob("*.py")]
    for path in graph_sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imports(tree, "okta_salesforce.sync.x", False)
        assert not {m for m in imported if m.split(".")[0] == "airflow"}, path.name
