"""The project's helper functions and fixtures, so a rule can follow a test into the helpers it calls."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect_module import SourceModule
from auditor.markers import dotted
from auditor.rules.facts import is_check_call, walk


def _helper_place(module_name: str) -> bool:
    """Test helpers live in test folders or modules named like helpers; everything else is the product."""
    parts = module_name.lower().split(".")
    return any("test" in part or part in ("helpers", "helper", "utils", "support", "fixtures") for part in parts)


@dataclass
class ProjectIndex:
    """Functions and fixtures of the scanned project, to follow a test into its helpers."""

    root: Path
    modules: tuple[SourceModule, ...]
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = field(default_factory=dict)
    fixtures: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = field(default_factory=dict)
    _checks: dict[int, bool] = field(default_factory=dict)
    #: Helper modules parsed on demand, relative to the root (a cache of results depends on them).
    loaded_paths: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for module in self.modules:
            self._index(module.tree)

    def _index(self, tree: ast.Module) -> None:
        # Module-level and class-level defs only: walking every body would cost more than the rules.
        nodes = list(tree.body)
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef):
                nodes.extend(statement.body)
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                is_fixture = any(dotted(d).split(".")[-1] == "fixture" for d in node.decorator_list)
                (self.fixtures if is_fixture else self.functions).setdefault(node.name, []).append(node)

    def load_import(self, module_name: str, near: str = "") -> None:
        """Parse a project module named in ``from x.y import helper`` (best effort, once).

        Looked up from the root and from the test's folder and its parents, as pytest's
        rootdir-relative ``sys.path`` insertion would find it.
        """
        key = f"import:{near}:{module_name}"
        if key in self.functions:
            return
        self.functions[key] = []
        if not _helper_place(module_name):
            return  # library code under test: parsing it would cost more than it could tell
        folder = (self.root / near).parent if near else self.root
        bases = [self.root]
        while folder != self.root and self.root in folder.parents:
            bases.append(folder)
            folder = folder.parent
        for base in bases:
            path = base.joinpath(*module_name.split("."))
            for candidate in (path.with_suffix(".py"), path / "__init__.py"):
                try:
                    if candidate.is_file() and candidate.stat().st_size < 1_000_000:
                        self._index(ast.parse(candidate.read_text(encoding="utf-8")))
                        self.loaded_paths.append(candidate.relative_to(self.root).as_posix())
                        return
                except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                    return

    def helper_checks(self, name: str, depth: int = 0) -> bool:
        """True when a project function called ``name`` asserts (directly or through its own helpers)."""
        for node in self.functions.get(name, ()):
            key = id(node)
            if key not in self._checks:
                self._checks[key] = False  # breaks recursion cycles
                self._checks[key] = depth < 4 and self._body_checks(node, depth + 1)
            if self._checks[key]:
                return True
        return False

    def _body_checks(self, node: ast.AST, depth: int) -> bool:
        for child in walk(node):
            if isinstance(child, (ast.Assert, ast.Raise)):
                return True
            if isinstance(child, ast.Call) and is_check_call(child, self, depth):
                return True
        return False
