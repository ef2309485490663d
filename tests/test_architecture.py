"""The shape of the house, read from the code with ``ast``: no import cycles, no private names
taken from another module, the layer rules of DESIGN §2, one seam per store backend, and no
import by name (routers and commands are registered explicitly).

Every import counts, also those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nlp", "enrich", "api", "models", "cli")
#: DESIGN §2: what each layer must never import.
FORBIDDEN = {
    "nlp": {"enrich", "api", "models", "cli"},
    "enrich": {"api", "cli", "models"},
    "models": {"api", "cli"},
    "api": {"cli"},
}
#: The store backends; only ``api.store.factory`` chooses between them.
BACKENDS = {
    "sqlite": {"api.store.sqlite", "api.store.sqlite_index", "api.store.sqlite_search",
               "api.store.database", "api.store.sqlite_schema", "api.store.bodies"},
    "postgres": {"api.store.postgres", "api.store.pg_database", "api.store.pg_dialect",
                 "api.store.pg_index", "api.store.pg_work", "api.store.pg_schema"},
}  # fmt: skip


@dataclass(frozen=True)
class Import:
    """One import: who, of which module, which name (``None`` for ``import x`` or a module)."""

    source: str
    target: str
    name: str | None
    line: int


@dataclass
class Graph:
    """The modules of some packages and every import between them."""

    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    by_name: list[tuple[str, int]] = field(default_factory=list)  # import_module / __import__

    def edges(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for imp in self.imports:
            if imp.target != imp.source:
                out[imp.source].add(imp.target)
        return out


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(graph: Graph, dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is one of the graph's modules."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in graph.modules:
            return ".".join(parts[:end])
    return None


def read_graph(root: Path, packages: Iterable[str]) -> Graph:
    """Parse every ``.py`` file of ``packages`` under ``root`` and list their imports."""
    graph = Graph()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            graph.modules[_module_name(root, path)] = path
    for module, path in graph.modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _resolve(graph, alias.name)
                    if target is not None:
                        graph.imports.append(Import(module, target, None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")[: None if is_package else -1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in graph.modules:
                        graph.imports.append(Import(module, submodule, None, node.lineno))
                    elif (target := _resolve(graph, base)) is not None:
                        graph.imports.append(Import(module, target, alias.name, node.lineno))
            elif isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("import_module", "__import__"):
                    graph.by_name.append((module, node.lineno))
                    literal = node.args[0] if node.args else None
                    if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                        target = _resolve(graph, literal.value)  # a name given as a literal
                        if target is not None:
                            graph.imports.append(Import(module, target, None, node.lineno))
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    edges = graph.edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
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
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def private_imports(graph: Graph) -> list[str]:
    """``from other import _name`` (a dunder is not private)."""
    return [
        f"{imp.source}:{imp.line} takes {imp.target}.{imp.name}"
        for imp in graph.imports
        if imp.name is not None
        and imp.name.startswith("_")
        and not imp.name.startswith("__")
        and imp.target != imp.source
    ]


def layer_violations(graph: Graph) -> list[str]:
    """Imports that break DESIGN §2 (a layer importing one it must not know)."""
    return [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in graph.imports
        if imp.target.split(".")[0] in FORBIDDEN.get(imp.source.split(".")[0], set())
    ]


def backend_violations(graph: Graph) -> list[str]:
    """A backend importing another backend, or anything but the factory choosing one."""
    family = {module: name for name, members in BACKENDS.items() for module in members}
    return [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in graph.imports
        if imp.target in family
        and family.get(imp.source) != family[imp.target]
        and imp.source != "api.store.factory"
    ]


@pytest.fixture(scope="module")
def house() -> Graph:
    return read_graph(ROOT, PACKAGES)


def test_the_graph_is_read_whole(house: Graph) -> None:
    assert len(house.modules) > 100
    edges = house.edges()
    assert {"api.bootstrap", "api.intake.workers", "api.routes.webhook"} <= edges["api.app"]
    assert "api.store.factory" in edges["api.bootstrap"]


def test_no_import_cycle(house: Graph) -> None:
    assert cycles(house) == []


def test_no_private_name_from_another_module(house: Graph) -> None:
    assert private_imports(house) == []


def test_layers_of_design_section_2(house: Graph) -> None:
    assert layer_violations(house) == []


def test_only_the_factory_chooses_a_store_backend(house: Graph) -> None:
    assert backend_violations(house) == []


def test_nothing_is_imported_by_name_but_engines(house: Graph) -> None:
    """Routers and commands are registered explicitly. Engines alone are loaded by name: the
    ``python:module:factory`` specs (``api.bootstrap``) and the local engine, only when asked
    for (``nlp.factory``, a literal name: drawn as an edge)."""
    assert {module for module, _ in house.by_name} == {"api.bootstrap", "nlp.factory"}
    assert "nlp.local" in house.edges()["nlp.factory"]


def test_no_package_imports_the_tests() -> None:
    """Benchmarks included: what ships never imports ``tests``."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                found += [
                    f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "tests"
                ]
    assert found == []


# ---- the checker itself, on a small tree written here ----------------------------------------


@pytest.fixture
def small_tree(tmp_path: Path) -> Graph:
    files = {
        "api/__init__.py": "",
        "api/a.py": "def f():\n    from api.b import g\n",
        "api/b.py": "import typing\nif typing.TYPE_CHECKING:\n    from . import a\n",
        "nlp/__init__.py": "",
        "nlp/x.py": "from api.y import _hidden\n",
        "api/y.py": "_hidden = 1\nfrom nlp import x\nfrom api.z import __version__\n",
        "api/z.py": "import importlib\nimportlib.import_module('nlp.x')\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return read_graph(tmp_path, ["nlp", "api"])


def test_checker_finds_cycles_through_functions_and_type_checking(small_tree: Graph) -> None:
    assert cycles(small_tree) == [["api.a", "api.b"], ["api.y", "api.z", "nlp.x"]]


def test_checker_finds_private_names_layer_breaks_and_names(small_tree: Graph) -> None:
    assert private_imports(small_tree) == ["nlp.x:1 takes api.y._hidden"]
    assert layer_violations(small_tree) == ["nlp.x:1 imports api.y"]
    assert small_tree.by_name == [("api.z", 2)]
    assert "nlp.x" in small_tree.edges()["api.z"]  # the literal name is an edge
