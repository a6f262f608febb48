"""The import graph of a package, read from its source (AST), for the layout test.

Every ``import`` counts wherever it stands: at module level, inside a function, or under
``if TYPE_CHECKING:``. Python runs a package's ``__init__`` before any of its submodules, so
importing ``a.b.c`` also depends on ``a/__init__`` and ``a/b/__init__``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edge:
    importer: str
    target: str
    line: int
    names: tuple[str, ...]


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package (``__init__`` names the package)."""
    top = package_dir.name
    found: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (top, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _absolute(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def edges(package_dir: Path) -> Iterator[Edge]:
    """Every import of one of the package's own modules, with the parents Python runs first."""
    modules = module_names(package_dir)
    top = package_dir.name
    for importer, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                targets = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(importer, is_package, node)
                targets = []
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append((sub, ()) if sub in modules else (base, (alias.name,)))
            else:
                continue
            for target, names in targets:
                if target.split(".")[0] != top:
                    continue
                parts = target.split(".")
                for depth in range(1, len(parts) + 1):
                    name = ".".join(parts[:depth])
                    if name in modules and name != importer and not importer.startswith(name + "."):
                        yield Edge(importer, name, node.lineno, names if depth == len(parts) else ())


def cycles(package_dir: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {name: set() for name in module_names(package_dir)}
    for edge in edges(package_dir):
        graph[edge.importer].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(groups)


def private_imports(package_dir: Path) -> list[Edge]:
    """Imports of a leading-underscore name from another module of the package."""
    return [edge for edge in edges(package_dir) if any(name.startswith("_") and not name.startswith("__") for name in edge.names)]


def upward_imports(package_dir: Path, order: tuple[tuple[str, ...], ...]) -> list[Edge]:
    """Imports from a module of one layer into a module of a later layer.

    ``order`` lists layers, earliest first; each layer names the first components below the top package
    (``"collect"`` for ``auditor.collect...``); ``""`` is the top package's own ``__init__``.
    """
    rank = {name: position for position, layer in enumerate(order) for name in layer}
    top = package_dir.name

    def layer_of(module: str) -> int:
        parts = module.split(".")
        key = parts[1] if len(parts) > 1 else ""
        if key not in rank:
            raise KeyError(f"{module}: its layer {key!r} is not in the stage order")
        return rank[key]

    assert all(name.startswith(top) for name in module_names(package_dir))
    return [edge for edge in edges(package_dir) if layer_of(edge.target) > layer_of(edge.importer)]
