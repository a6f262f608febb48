"""The test inventory: every test definition in the project, read from the AST (user code is never imported).

``collect`` walks the test paths as pytest would (``python_files``, ``norecursedirs``, explicit paths
always scanned), records each test ``def`` as a :class:`~auditor.model.TestCase` with its category,
marks, parametrize size and fixtures, and says which tests pytest will never collect and why.
Unreadable files become AUD9xx findings; the walk never stops on one. Every file that parses is
inventoried whatever its size (the rules skip a huge one, AUD903), and the tests of a file pytest cannot
import (not valid in its encoding, AUD902) are counted as uncollectable.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import gc
import hashlib
import io
import os
import re
import tokenize
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from auditor.collect.imports import dotted_name, import_stems, imported_names
from auditor.collect.module import SourceModule, TestNode, module_tests
from auditor.collect.pytest_settings import (
    DEFAULT_NORECURSEDIRS,
    PytestSettings,
    read_pytest_settings,
)
from auditor.collect.rules.registry import finding
from auditor.collect.suppress import Suppression, apply, parse_suppressions
from auditor.config import AuditConfig
from auditor.exceptions import CollectError
from auditor.model import Finding, TestCase

#: Test files larger than this are inventoried but not analysed by the rules (an AUD903 note says so).
HUGE_FILE_BYTES = 2_000_000
#: A coding line (PEP 263), in the first two lines of a file.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+", re.MULTILINE)

__all__ = ["Inventory", "SourceModule", "TestNode", "collect"]


@dataclass(frozen=True)
class Inventory:
    """Every test found, plus the findings of the scan itself (uncollectable tests, unreadable files)."""

    cases: tuple[TestCase, ...]
    findings: tuple[Finding, ...]
    settings: PytestSettings = field(default_factory=PytestSettings, repr=False)
    #: Parsed test modules and conftest files, for the rules (not part of the JSON schema).
    modules: tuple[SourceModule, ...] = field(default=(), repr=False, compare=False)
    nodes: tuple[TestNode, ...] = field(default=(), repr=False, compare=False)
    suppressions: tuple[Suppression, ...] = field(default=(), repr=False)
    #: Suppressions that already silenced one of ``findings``' would-be members.
    used_suppressions: frozenset[Suppression] = field(default=frozenset(), repr=False)


@dataclass(frozen=True)
class FileState:
    """What a loaded file was when read: the key of a per-file cache entry."""

    size: int
    mtime_ns: int
    digest: str  # blake2b of the bytes


#: ``reuse(rel_path, path, stat, is_test, outside_python_files)``: a cached stand-in for the file, else ``None``.
Reuse = Callable[[str, Path, os.stat_result, bool, bool], Any]


@dataclass
class Walk:
    """The files a scan visits, in pytest's order; with ``reuse``, unchanged files are not read or parsed."""

    config: AuditConfig
    settings: PytestSettings
    #: Parsed modules, or what ``reuse`` returned in their place.
    modules: list[Any] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seen_files: set[str] = field(default_factory=set)
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)
    reuse: Reuse | None = None
    #: With ``reuse``: files read afresh -> (state, findings their loading produced, is_test, outside_python_files).
    fresh: dict[str, tuple[FileState, list[Finding], bool, bool]] = field(default_factory=dict)
    #: Every file offered to ``_load`` (relative paths), read or reused.
    visited: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        root = str(self.config.root)
        self._prefix = root if root.endswith("/") else root + "/"

    def rel(self, path: Path) -> str:
        # String arithmetic: Path.relative_to costs more than everything else the walk does per file.
        text = str(path)
        if text.startswith(self._prefix):
            return text[len(self._prefix) :]
        return "." if text == str(self.config.root) else path.as_posix()

    def problem(self, rule: str, message: str, path: Path, line: int = 1) -> None:
        self.findings.append(finding(rule, message, path=self.rel(path), line=line, test_id=None, config=self.config))


def _excluded(walk: Walk, path: Path) -> bool:
    rel = PurePosixPath(walk.rel(path))
    return any(path.name == item or rel.match(item) for item in walk.config.exclude)


def _in_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def _count_test_files(walk: Walk, folder: Path, budget: int = 2000) -> int:
    """How many files under an ignored folder pytest would otherwise collect (bounded walk)."""
    count = 0
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [name for name in dirnames if not name.startswith(".") and name != "__pycache__"]
        count += sum(1 for name in filenames if walk.settings.file_matches(PurePosixPath(name)))
        budget -= 1
        if budget <= 0:
            break
    return count


def _walk_dir(walk: Walk, folder: Path, ancestors: frozenset[tuple[int, int]]) -> None:
    try:
        stat = folder.stat()
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        walk.problem("AUD907", f"cannot read folder: {exc.strerror}", folder)
        return
    key = (stat.st_dev, stat.st_ino)
    if key in ancestors:
        walk.problem("AUD904", f"symbolic link loop: {walk.rel(folder)} leads back to its own parent", folder)
        return
    if key in walk.seen_dirs:
        return
    walk.seen_dirs.add(key)
    ancestors = ancestors | {key}
    conftest = folder / "conftest.py"
    if conftest.is_file():
        _load(walk, conftest, is_test=False)
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if entry.name == "__pycache__" or _excluded(walk, path) or _in_venv(path):
                continue
            pattern = walk.settings.ignored_dir(PurePosixPath(walk.rel(path)))
            if pattern is not None:
                if pattern not in DEFAULT_NORECURSEDIRS:
                    count = _count_test_files(walk, path)
                    if count:
                        walk.findings.append(
                            finding(
                                "AUD126",
                                f"{count} test file(s) under {walk.rel(path)}/ are never collected "
                                f"(norecursedirs {pattern!r})",
                                path=walk.rel(path),
                                line=1,
                                test_id=None,
                                config=walk.config,
                            )
                        )
                continue
            _walk_dir(walk, path, ancestors)
        elif entry.name.endswith(".py") and entry.name not in ("conftest.py", "__init__.py"):
            if walk.settings.file_matches(PurePosixPath(entry.name)):
                _load(walk, path, is_test=True)
            elif _test_like_place(walk.rel(path)) and _mentions_tests(path):
                _load(walk, path, is_test=True, outside_python_files=True)


def _test_like_place(rel: str) -> bool:
    """Only files in a test folder (or named like tests) can be tests pytest misses; others are library code."""
    parts = rel.lower().split("/")
    return any(part in ("test", "tests", "testing") for part in parts[:-1]) or "test" in parts[-1]


def _mentions_tests(path: Path) -> bool:
    """Cheap pre-check before parsing a file outside ``python_files``: does it define test-like things?"""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return b"def test" in data or b"class Test" in data


def _decode(data: bytes) -> tuple[str, str | None]:
    """The text of a source file, and why Python cannot import it (``None`` when it can).

    A file that is not valid in its encoding is still read, with U+FFFD for the bad bytes, so its tests
    are counted; pytest fails on it at import, so they are uncollectable (AUD902).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown or contradictory coding line, or undecodable first lines
        why = f"its coding line cannot be used ({exc})"
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            why = _undecodable(bad, data)
        return data.decode("utf-8", errors="replace"), why
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as exc:
        return data.decode(encoding, errors="replace"), _undecodable(exc, data)


def _undecodable(exc: UnicodeDecodeError, data: bytes) -> str:
    declared = _CODING.search(b"\n".join(data.split(b"\n", 2)[:2])) is not None
    which = "the encoding its coding line declares" if declared else "Python's default, and no coding line declares another"
    return f"not valid {exc.encoding} ({which}): byte 0x{data[exc.start]:02x} at offset {exc.start}"


def _load(walk: Walk, path: Path, *, is_test: bool, outside_python_files: bool = False) -> None:
    resolved = os.path.realpath(path)
    if resolved in walk.seen_files:
        return
    walk.seen_files.add(resolved)
    rel = walk.rel(path)
    walk.visited.add(rel)
    try:
        stat = path.stat()
        if walk.reuse is not None:
            stand_in = walk.reuse(rel, path, stat, is_test, outside_python_files)
            if stand_in is not None:
                walk.findings.extend(stand_in.load_findings)
                if stand_in.parsed:
                    walk.modules.append(stand_in)
                return
        data = path.read_bytes()
    except OSError as exc:
        walk.problem("AUD907", f"cannot read file: {exc.strerror}", path)
        return
    if walk.reuse is None:
        _parse(walk, path, data, is_test=is_test, outside_python_files=outside_python_files)
        return
    before = len(walk.findings)
    _parse(walk, path, data, is_test=is_test, outside_python_files=outside_python_files)
    state = FileState(size=stat.st_size, mtime_ns=stat.st_mtime_ns, digest=content_digest(data))
    walk.fresh[rel] = (state, walk.findings[before:], is_test, outside_python_files)


def content_digest(data: bytes) -> str:
    """The hash a cache entry keeps of a file's bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def parse_module(path: Path, rel: str, *, is_test: bool, outside_python_files: bool) -> SourceModule | None:
    """Read and parse a file that parsed before (a cached one a rule now needs); ``None`` if it no longer does."""
    walk = Walk(config=AuditConfig(root=path.parent), settings=PytestSettings())
    try:
        data = path.read_bytes()
    except OSError:
        return None
    _parse(walk, path, data, is_test=is_test, outside_python_files=outside_python_files)
    if walk.findings or not walk.modules:
        return None
    return dataclasses.replace(walk.modules[0], path=rel)


def _parse(walk: Walk, path: Path, data: bytes, *, is_test: bool, outside_python_files: bool) -> None:
    text, unimportable = _decode(data)
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError, RecursionError) as exc:
        if unimportable is not None:
            walk.problem("AUD902", f"pytest cannot import this file: {unimportable}; its tests cannot run or be counted", path)
        elif isinstance(exc, SyntaxError):
            walk.problem("AUD901", f"syntax error: {exc.msg}; none of its tests can run", path, exc.lineno or 1)
        else:
            walk.problem("AUD901", f"cannot parse: {exc}", path)
        return
    walk.modules.append(
        SourceModule(
            path=walk.rel(path),
            tree=tree,
            lines=tuple(text.splitlines()),
            is_test=is_test,
            outside_python_files=outside_python_files,
            huge_bytes=len(data) if len(data) > HUGE_FILE_BYTES else 0,
            unimportable=unimportable,
        )
    )


def scan_targets(config: AuditConfig, settings: PytestSettings, paths: Sequence[str]) -> list[Path]:
    chosen = list(paths) or list(config.paths) or list(settings.testpaths) or ["."]
    targets = []
    for item in chosen:
        candidate = Path(item)
        if not candidate.is_absolute():
            # CLI paths are relative to the working directory; configured ones to the project root.
            from_cwd = Path.cwd() / candidate
            candidate = from_cwd if paths and from_cwd.exists() else config.root / candidate
        if not candidate.exists():
            if paths:
                raise CollectError(f"{item}: no such file or folder")
            continue  # pytest also ignores testpaths that do not exist
        targets.append(candidate.absolute())
    return targets


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building ASTs creates millions of objects and no cycles, and
    the collector's repeated passes over them cost about 40% of parse time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Whatever survived the pause is long-lived (parsed modules, results); freezing it spares the
            # collector a pass over millions of objects the moment it is back on. Refcounting still frees
            # them; only reference cycles created during the pause would outlive it.
            gc.freeze()
            gc.enable()


def collect(config: AuditConfig, paths: Sequence[str] = ()) -> Inventory:
    """Inventory the tests under ``paths`` (default: config paths, pytest ``testpaths``, else the root)."""
    with paused_gc():
        return _collect(config, paths)


def walk_tree(
    config: AuditConfig, paths: Sequence[str], reuse: Reuse | None = None, settings: PytestSettings | None = None
) -> Walk:
    """Visit the test paths as pytest would, loading (or, with ``reuse``, reusing) every test module and conftest."""
    settings = settings if settings is not None else read_pytest_settings(config.root)
    walk = Walk(config=config, settings=settings, reuse=reuse)
    for target in scan_targets(config, settings, paths):
        if target.is_dir():
            _load_parent_conftests(walk, target)
            _walk_dir(walk, target, frozenset())
        elif target.suffix == ".py":
            _load_parent_conftests(walk, target.parent, inclusive=True)
            # pytest collects a file named on the command line whatever its name.
            _load(walk, target, is_test=True)
    return walk


def _collect(config: AuditConfig, paths: Sequence[str]) -> Inventory:
    walk = walk_tree(config, paths)
    settings = walk.settings
    nodes: list[TestNode] = []
    suppressions: list[Suppression] = []
    outside = [m for m in walk.modules if m.outside_python_files]
    imports = imported_names(walk.modules, import_stems(outside)) if outside else {}
    for module in walk.modules:
        module_nodes, module_findings, module_suppressions = module_inventory(module, config, settings, imports)
        nodes.extend(module_nodes)
        walk.findings.extend(module_findings)
        suppressions.extend(module_suppressions)
    kept, used = apply(walk.findings, suppressions)
    return Inventory(
        cases=tuple(node.case for node in nodes),
        findings=tuple(kept),
        settings=settings,
        modules=tuple(walk.modules),
        nodes=tuple(nodes),
        suppressions=tuple(suppressions),
        used_suppressions=frozenset(used),
    )


def module_inventory(
    module: SourceModule, config: AuditConfig, settings: PytestSettings, imports: dict[str, dict[str, str]]
) -> tuple[list[TestNode], list[Finding], list[Suppression]]:
    """One module's tests, collect findings and suppressions (``imports``: from :func:`test_imports`)."""
    imported_by = imports.get(dotted_name(module.path), {}) if module.outside_python_files else None
    module_nodes, module_findings = module_tests(module, config, settings, imported_by)
    return module_nodes, module_findings, _bind_suppressions(module, module_nodes)


def _load_parent_conftests(walk: Walk, folder: Path, *, inclusive: bool = False) -> None:
    """conftest.py files between the root and ``folder`` provide fixtures to its tests."""
    root = walk.config.root
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        return
    current = root
    for part in ("", *parts):
        current = current / part if part else current
        if (inclusive or current != folder) and (current / "conftest.py").is_file():
            _load(walk, current / "conftest.py", is_test=False)


def _bind_suppressions(module: SourceModule, nodes: Sequence[TestNode]) -> list[Suppression]:
    """Parse a module's suppressions; one on a test's def line covers the whole test."""
    def_lines = {node.node.lineno: node.case.id for node in nodes}
    result = []
    for item in parse_suppressions(module.path, module.lines):
        test_id = def_lines.get(item.line)
        result.append(
            Suppression(path=item.path, line=item.line, rules=item.rules, reason=item.reason, test_id=test_id)
        )
    return result
