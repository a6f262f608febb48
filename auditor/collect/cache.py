"""The per-file store behind ``auditor scan``'s incremental cache (``<root>/.auditor_cache/``).

One entry per test module or conftest: its size, modification time and content hash, and everything
its analysis produced (cases, collect findings, suppressions, rule findings before suppression) plus
what that analysis depended on outside the file: the helper and fixture names it looked up in the
project index (``consulted``), what the file itself defines under each name (``defs``, hashed), the
helper modules its tests import from (``loads``) and, for modules outside ``python_files``, which test
modules import them. :mod:`auditor.collect.incremental` decides from these what must be analysed again.

The whole store is keyed by the auditor's version and source files, the configuration, pytest's
settings and the scanned paths: a change there discards it. It has its own ``.gitignore``, like pytest's.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.collect.inventory import FileState
from auditor.collect.pytest_settings import PytestSettings
from auditor.collect.suppress import Suppression
from auditor.config import AuditConfig
from auditor.model import Finding, Marker, TestCase

CACHE_DIR = ".auditor_cache"
_FILE = "scan-v2.jsonl"
_OLD_FILES = ("scan-v1.json",)
#: A file modified this close to the moment the cache was written may have changed again within the
#: file system's timestamp granularity, so its content hash is checked instead of trusting its stat.
RACY_NS = 2_000_000_000


def global_key(config: AuditConfig, settings: PytestSettings, targets: Sequence[Path]) -> str:
    """Hash of what every entry depends on: auditor version and code, Python, configuration, pytest settings, paths."""
    from auditor import __version__

    digest = hashlib.blake2b(digest_size=20)
    # The interpreter too: another Python version parses (and so may classify) the same source differently.
    text = f"{__version__}\n{sys.version}\n{config!r}\n{settings!r}\n{sorted(map(str, targets))}\n"
    digest.update(text.encode())
    # The project's metadata files too: AUD147 reads the Python versions they support (requires-python).
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        try:
            stat = (Path(config.root) / name).stat()
        except OSError:
            continue
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    # The auditor's own code is part of the key: a changed rule must never be answered from the cache.
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dataclass
class FileEntry:
    """What the cache knows about one file; also the stand-in for an unchanged file during the walk."""

    path: str  # relative to the root, posix
    state: FileState
    is_test: bool
    outside_python_files: bool
    parsed: bool
    load_findings: tuple[Finding, ...] = ()
    cases: tuple[TestCase, ...] = ()
    findings: tuple[Finding, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    rules: tuple[Finding, ...] = ()
    defs: dict[str, str] = field(default_factory=dict)
    consulted: frozenset[str] = frozenset()
    loads: tuple[str, ...] = ()
    imports: tuple[tuple[str, str, str], ...] = ()
    imported_by: dict[str, str] | None = None
    #: Absolute path, set when the walk reuses the entry (not stored).
    location: Path | None = None
    #: The entry's stored line while it is unchanged: written back as is (encoding 300 entries costs more).
    raw: str | None = None


@dataclass
class HelperEntry:
    """A helper module parsed because tests import from it (not itself a scanned file)."""

    state: FileState
    defs: dict[str, str]


@dataclass
class Store:
    """The whole cache: entries by relative path, helper modules, and when it was written."""

    files: dict[str, FileEntry] = field(default_factory=dict)
    helpers: dict[str, HelperEntry] = field(default_factory=dict)
    stems: frozenset[str] = frozenset()
    saved_ns: int = 0


def _finding_out(item: Finding) -> list[Any]:
    return [item.rule, item.slug, item.severity, item.message, item.path, item.line, item.test_id, item.origin,
            list(item.evidence)]  # fmt: skip


def _finding_in(data: list[Any]) -> Finding:
    return Finding(*data[:8], evidence=tuple(data[8]))


def _case_out(case: TestCase) -> list[Any]:
    markers = [[m.name, m.reason, m.condition, m.unconditional, m.strict] for m in case.markers]
    return [case.id, case.path, case.name, case.line, case.category, case.cls, markers, case.params,
            list(case.fixtures), case.collectable, case.not_collectable_reason, case.is_async,
            list(case.claims), case.has_checks]  # fmt: skip


def _case_in(data: list[Any]) -> TestCase:
    markers = tuple(Marker(*m) for m in data[6])
    return TestCase(*data[:6], markers, data[7], tuple(data[8]), *data[9:12], tuple(data[12]), data[13])  # type: ignore[misc]


def _state_out(state: FileState) -> list[Any]:
    return [state.size, state.mtime_ns, state.digest]


def _entry_out(entry: FileEntry) -> dict[str, Any]:
    return {
        "state": _state_out(entry.state),
        "is_test": entry.is_test,
        "outside": entry.outside_python_files,
        "parsed": entry.parsed,
        "load_findings": [_finding_out(f) for f in entry.load_findings],
        "cases": [_case_out(c) for c in entry.cases],
        "findings": [_finding_out(f) for f in entry.findings],
        "suppressions": [[s.path, s.line, list(s.rules), s.reason, s.test_id] for s in entry.suppressions],
        "rules": [_finding_out(f) for f in entry.rules],
        "defs": entry.defs,
        "consulted": sorted(entry.consulted),
        "loads": list(entry.loads),
        "imports": [list(r) for r in entry.imports],
        "imported_by": entry.imported_by,
    }


def _entry_in(path: str, data: dict[str, Any]) -> FileEntry:
    return FileEntry(
        path=path,
        state=FileState(*data["state"]),
        is_test=data["is_test"],
        outside_python_files=data["outside"],
        parsed=data["parsed"],
        load_findings=tuple(_finding_in(f) for f in data["load_findings"]),
        cases=tuple(_case_in(c) for c in data["cases"]),
        findings=tuple(_finding_in(f) for f in data["findings"]),
        suppressions=tuple(Suppression(s[0], s[1], tuple(s[2]), s[3], s[4]) for s in data["suppressions"]),
        rules=tuple(_finding_in(f) for f in data["rules"]),
        defs=data["defs"],
        consulted=frozenset(data["consulted"]),
        loads=tuple(data["loads"]),
        imports=tuple(tuple(r) for r in data["imports"]),  # type: ignore[misc]
        imported_by=data["imported_by"],
    )


def load(root: Path, key: str) -> Store:
    """The stored entries when the store was written under ``key``, else an empty store (scan afresh).

    The store is JSON lines: a header, then one ``[path, entry]`` line per file.
    """
    try:
        with (root / CACHE_DIR / _FILE).open(encoding="utf-8") as stream:
            header = json.loads(stream.readline())
            if header["key"] != key:
                return Store()
            files = {}
            for line in stream:
                path, data = json.loads(line)
                files[path] = entry = _entry_in(path, data)
                entry.raw = line if line.endswith("\n") else line + "\n"
        return Store(
            files=files,
            helpers={
                path: HelperEntry(state=FileState(*item["state"]), defs=item["defs"])
                for path, item in header["helpers"].items()
            },
            stems=frozenset(header["stems"]),
            saved_ns=header["saved_ns"],
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return Store()  # no cache, or one from another version


def save(root: Path, key: str, store: Store) -> None:
    """Write the store; failing to write the cache never fails the scan."""
    folder = root / CACHE_DIR
    header = {
        "key": key,
        "saved_ns": time.time_ns(),
        "stems": sorted(store.stems),
        "helpers": {
            path: {"state": _state_out(item.state), "defs": item.defs} for path, item in store.helpers.items()
        },
    }
    lines = [json.dumps(header, separators=(",", ":")) + "\n"]
    for path, entry in store.files.items():
        lines.append(entry.raw or json.dumps([path, _entry_out(entry)], separators=(",", ":")) + "\n")
    try:
        folder.mkdir(exist_ok=True)
        (folder / ".gitignore").write_text("# created by auditor\n*\n", encoding="utf-8")
        temporary = folder / f"{_FILE}.tmp{os.getpid()}"
        temporary.write_text("".join(lines), encoding="utf-8")
        temporary.replace(folder / _FILE)
        for name in _OLD_FILES:
            (folder / name).unlink(missing_ok=True)
    except OSError:
        return


def unchanged(state: FileState, stat: os.stat_result, saved_ns: int, read: Any) -> FileState | None:
    """The file's current state when its content is what ``state`` recorded, else ``None``.

    Same size and modification time (older than the cache itself by more than :data:`RACY_NS`) is
    trusted without reading; otherwise the content hash decides, so a touched but unchanged file is
    still a hit. ``read`` returns the file's bytes.
    """
    if stat.st_size != state.size:
        return None
    if stat.st_mtime_ns == state.mtime_ns and stat.st_mtime_ns < saved_ns - RACY_NS:
        return state
    from auditor.collect.inventory import content_digest

    try:
        digest = content_digest(read())
    except OSError:
        return None
    return FileState(size=stat.st_size, mtime_ns=stat.st_mtime_ns, digest=digest) if digest == state.digest else None
