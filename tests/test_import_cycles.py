"""The package's modules import each other without circles.

A circle makes the import order matter (whichever module is imported first sees the
other half-initialised), so it is either a latent ImportError or hidden by imports
moved into functions, and the two modules cannot be understood or tested apart. This
walks every module's imports as written (module level, ``try``/``if`` blocks and
function bodies alike; not ``if TYPE_CHECKING:`` blocks, which never run) and fails
on any cycle, naming it.
"""

from __future__ import annotations

import ast
import pathlib

import tlslite_mls

PACKAGE_DIR = pathlib.Path(tlslite_mls.__file__).parent
PACKAGE = "tlslite_mls"

# Known circles, each with the modules it runs through; remove an entry once its
# circle is gone (the test then keeps it gone).
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_names() -> dict[str, pathlib.Path]:
    names = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """Every import statement that can run: at module level or inside a function
    (an import moved into a function still closes a circle, only later)."""

    def __init__(self) -> None:
        self.found: list[ast.Import | ast.ImportFrom] = []

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append(node)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    visitor = _Imports()
    visitor.visit(tree)
    return visitor.found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = _module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = here.split(".")
                    base = base[:len(base) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = []
                for alias in node.names:
                    sub = f"{prefix}.{alias.name}"
                    targets.append(sub if sub in modules else prefix)
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_graph_sees_relative_and_absolute_imports():
    graph = import_graph()
    assert "tlslite_mls.mls.framing" in graph["tlslite_mls.mls.group"]
    assert "tlslite_mls.mls" in graph
    assert len(graph) > 50


def test_find_cycles_names_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package():
    found = find_cycles(import_graph())
    cycles = [c for c in found if frozenset(c) not in KNOWN_CYCLES]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)

