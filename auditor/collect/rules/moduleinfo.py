"""What a test module defines and imports, computed once per module and kept on its tree (every test of the
module asks the same questions)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_module(tree: ast.Module, key: str, compute: Callable[[ast.Module], T]) -> T:
    """``compute(tree)``, once per module rather than once per test: kept on the tree itself."""
    attr = f"_auditor_{key}"
    result = getattr(tree, attr, None)
    if result is None:
        result = compute(tree)
        setattr(tree, attr, result)
    return result


def imported_from(tree: ast.Module) -> dict[str, str]:
    return {
        alias.asname or alias.name: statement.module
        for statement in tree.body
        # `from .helpers import pair` too: a helper module beside the test, found from the test's folder
        if isinstance(statement, ast.ImportFrom) and statement.module
        for alias in statement.names
    }


def module_functions(tree: ast.Module) -> set[str]:
    return {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def imported_modules(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name.split(".")[0]
        for statement in tree.body
        if isinstance(statement, ast.Import)
        for alias in statement.names
    }
