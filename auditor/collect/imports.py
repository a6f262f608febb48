"""Which test modules import which names: a test function defined outside ``python_files`` runs where a
test module imports it at module level (pytest collects it there, under that module's node id)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

from auditor.collect.module import SourceModule


def import_stems(outside: Sequence[Any]) -> frozenset[str]:
    """File stems of the modules outside ``python_files``: only imports naming one can make them tests."""
    return frozenset(PurePosixPath(m.path).stem for m in outside)


def dotted_name(path: str) -> str:
    """``a/b/c.py`` -> ``a.b.c`` (a package's ``__init__.py`` -> the package)."""
    dotted = path[:-3] if path.endswith(".py") else path
    dotted = dotted.replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


ImportRecord = tuple[str, str, str]


def module_imports(module: SourceModule, stems: frozenset[str]) -> list[ImportRecord]:
    """``from pkg.mod import test_x`` in a test module: (dotted module, name, where) records, where is the
    importing module's path for a module-level import (collected there) and "" inside a function (a helper)."""
    if not module.is_test or module.outside_python_files:
        return []
    text = "\n".join(module.lines)
    if not any(stem in text for stem in stems):
        return []  # cheap text test first: walking every module's AST costs more than the whole scan
    records = []
    top_level = {id(statement) for statement in module.tree.body}
    package = dotted_name(module.path).split(".")[:-1]
    for statement in ast.walk(module.tree):
        if isinstance(statement, ast.ImportFrom) and (statement.module or statement.level):
            name = statement.module or ""
            if statement.level:  # relative import: resolve against the importing module's package
                base = package[: len(package) - statement.level + 1]
                name = ".".join([*base, *([name] if name else [])])
            where = module.path if id(statement) in top_level else ""
            records += [(name, alias.name, where) for alias in statement.names if alias.asname is None]
    return records


def merge_imports(records: Iterable[ImportRecord]) -> dict[str, dict[str, str]]:
    """Import records (in module order) as dotted module -> {name: importer}, looked up by any suffix."""
    # A module found at docs_src/a/b.py may be imported as docs_src.a.b or (from a sys.path entry) a.b.
    result: dict[str, dict[str, str]] = {}
    for name, alias, where in records:
        result.setdefault(name, {}).setdefault(alias, where)
    return _SuffixMap(result)


def imported_names(modules: Sequence[SourceModule], stems: frozenset[str]) -> dict[str, dict[str, str]]:
    """``from pkg.mod import test_x`` in test modules: dotted module (every suffix) -> {name: importer}."""
    return merge_imports(record for module in modules for record in module_imports(module, stems))


class _SuffixMap(dict):  # type: ignore[type-arg]
    """Looks a dotted path up by its longest imported suffix (``docs_src.a.b`` matches ``a.b``)."""

    def get(self, key, default=None):  # type: ignore[no-untyped-def, override]
        parts = key.split(".")
        for start in range(len(parts)):
            found = super().get(".".join(parts[start:]))
            if found is not None:
                return found
        return default
