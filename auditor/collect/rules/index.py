"""The project's helper functions and fixtures, so a rule can follow a test into the helpers it calls.

Lookups are by name and every answer is a pure function of the indexed definitions (no dependence on
which test asked first), so a per-file cache can tell which files' results a changed definition can
alter: the index records the names each file's analysis looked up (see :attr:`ProjectIndex.consulted`),
and :func:`def_digests` fingerprints what a file contributes under each name.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect.markers import dotted
from auditor.collect.module import SourceModule
from auditor.collect.rules.astwalk import walk
from auditor.collect.rules.calls import is_check_call

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
#: How deep a chain of helpers calling helpers is followed.
MAX_DEPTH = 4
#: Key prefixes of indexed names: plain functions and fixtures live in separate namespaces.
FUNCTION, FIXTURE = "f:", "x:"


def _helper_place(module_name: str) -> bool:
    """Test helpers live in test folders or modules named like helpers; everything else is the product."""
    parts = module_name.lower().split(".")
    return any("test" in part or part in ("helpers", "helper", "utils", "support", "fixtures") for part in parts)


def _indexed_defs(tree: ast.Module) -> Iterable[tuple[str, FunctionNode]]:
    """(key, def) for module-level and class-level defs: walking every body would cost more than the rules."""
    nodes = list(tree.body)
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef):
            nodes.extend(statement.body)
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            is_fixture = any(dotted(d).split(".")[-1] == "fixture" for d in node.decorator_list)
            yield (FIXTURE if is_fixture else FUNCTION) + node.name, node


def def_digests(tree: ast.Module, lines: Sequence[str]) -> dict[str, str]:
    """Indexed name -> hash of the source of its definitions in this file (decorators included)."""
    parts: dict[str, list[str]] = {}
    for key, node in _indexed_defs(tree):
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        parts.setdefault(key, []).append("\n".join(lines[start - 1 : end]))
    return {key: hashlib.blake2b("\0".join(texts).encode(), digest_size=8).hexdigest() for key, texts in parts.items()}


def helper_classes(tree: ast.Module) -> frozenset[str]:
    """Classes a test module defines or imports from a test-helper module (``from .helpers import Pair``).

    A method of such a class called on an instance the test built is a test helper (``pair.send(...)`` that
    asserts what arrived), where a method of a product class is the code under test.
    """
    names = {s.name for s in tree.body if isinstance(s, ast.ClassDef)}
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and _helper_place(statement.module or "test"):
            names.update(alias.asname or alias.name for alias in statement.names if alias.name[:1].isupper())
    return frozenset(names)


def import_module_path(root: Path, module_name: str, near: str) -> Path | None:
    """The project file ``from module_name import x`` in the test at ``near`` would load, else ``None``.

    Looked up from the root and from the test's folder and its parents, as pytest's rootdir-relative
    ``sys.path`` insertion would find it; only modules named like test helpers are followed.
    """
    if not _helper_place(module_name):
        return None  # library code under test: parsing it would cost more than it could tell
    folder = (root / near).parent if near else root
    bases = [root]
    while folder != root and root in folder.parents:
        bases.append(folder)
        folder = folder.parent
    for base in bases:
        path = base.joinpath(*module_name.split("."))
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


#: A deferred module: its defs are only parsed when a lookup asks for a name it defines.
LazyTree = Callable[[], ast.Module | None]


def _place(item: tuple[int, int, FunctionNode]) -> tuple[int, int]:
    return item[0], item[1]


@dataclass
class ProjectIndex:
    """Functions and fixtures of the scanned project, to follow a test into its helpers."""

    root: Path
    modules: tuple[SourceModule, ...]
    #: name key -> (order, module not parsed yet) that define it; filled by :meth:`defer`.
    _deferred: dict[str, list[tuple[int, LazyTree]]] = field(default_factory=dict)
    #: name key -> (module order, def order, def): answers list defs in module order, however they were added.
    _defs: dict[str, list[tuple[int, int, FunctionNode]]] = field(default_factory=dict)
    _sorted: dict[str, list[FunctionNode]] = field(default_factory=dict)
    _parsed: set[int] = field(default_factory=set)
    _memo: dict[tuple[str, int], tuple[bool, frozenset[str]]] = field(default_factory=dict)
    #: Name keys looked up since the last reset (transitively, through helpers): what a file's result depends on.
    consulted: set[str] = field(default_factory=set)
    #: Helper modules parsed for ``from x import helper`` in tests, relative to the root, in load order.
    loaded_paths: list[str] = field(default_factory=list)
    _memo_paths: tuple[tuple[SourceModule, ...], frozenset[str]] | None = None

    def __post_init__(self) -> None:
        for order, module in enumerate(self.modules):
            self.add_tree(module.tree, order)

    @property
    def scanned_paths(self) -> frozenset[str]:
        """The scanned modules' paths (relative to the root, posix)."""
        known = self._memo_paths
        if known is None or len(known[0]) != len(self.modules):
            known = self._memo_paths = (self.modules, frozenset(module.path for module in self.modules))
        return known[1]

    def add_tree(self, tree: ast.Module, order: int) -> None:
        """Index every module-level and class-level def of ``tree`` (``order``: the module's place in the scan)."""
        for position, (key, node) in enumerate(_indexed_defs(tree)):
            self._defs.setdefault(key, []).append((order, position, node))
            self._sorted.pop(key, None)

    def defer(self, keys: Iterable[str], load: LazyTree, order: int) -> None:
        """Index a module only when one of ``keys`` (the names it defines) is looked up."""
        for key in keys:
            self._deferred.setdefault(key, []).append((order, load))

    def _lookup(self, key: str) -> list[FunctionNode]:
        self.consulted.add(key)
        for order, load in self._deferred.pop(key, ()):
            if id(load) not in self._parsed:
                self._parsed.add(id(load))
                tree = load()
                if tree is not None:
                    self.add_tree(tree, order)
        found = self._sorted.get(key)
        if found is None:
            found = self._sorted[key] = [node for _o, _p, node in sorted(self._defs.get(key, ()), key=_place)]
        return found

    def fixtures_named(self, name: str) -> list[FunctionNode]:
        """Every project fixture called ``name``."""
        return self._lookup(FIXTURE + name)

    def functions_named(self, name: str) -> list[FunctionNode]:
        """Every project function (not fixture) called ``name``."""
        return self._lookup(FUNCTION + name)

    def helper_checks(self, name: str, depth: int = 0) -> bool:
        """True when a project function called ``name`` asserts (directly or through its own helpers)."""
        key = (name, depth)
        memo = self._memo.get(key)
        if memo is None:
            outer = self.consulted
            self.consulted = set()
            try:
                nodes = self.functions_named(name)
                value = depth < MAX_DEPTH and any(self._body_checks(node, depth + 1) for node in nodes)
            finally:
                inner, self.consulted = self.consulted, outer
            memo = self._memo[key] = (value, frozenset(inner))
        self.consulted |= memo[1]
        return memo[0]

    def _body_checks(self, node: ast.AST, depth: int) -> bool:
        for child in walk(node):
            if isinstance(child, (ast.Assert, ast.Raise)):
                return True
            if isinstance(child, ast.Call) and is_check_call(child, self, depth):
                return True
        return False
