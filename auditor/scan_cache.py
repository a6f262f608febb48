"""A cache of the last ``auditor scan`` result, valid while no scanned file or setting has changed.

The key is a hash of the auditor's version and source files, the configuration, the scanned paths
and the size and modification time of every Python file under them (plus config files and any
helper module the rules read). Any change means a full rescan, so a hit always equals what a fresh scan would say.
The cache lives in ``<root>/.auditor_cache/`` (with its own ``.gitignore``, like pytest's).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from auditor.config import AuditConfig
from auditor.model import Finding, Marker, TestCase

CACHE_DIR = ".auditor_cache"
_FILE = "scan-v1.json"
_CONFIG_FILES = ("pyproject.toml", "pytest.ini", ".pytest.ini", "setup.cfg", "tox.ini", "sprint.toml")


def _stat_line(path: Path, root: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path}:missing"
    try:
        name = path.relative_to(root).as_posix()
    except ValueError:
        name = path.as_posix()
    return f"{name}:{stat.st_size}:{stat.st_mtime_ns}"


def _python_files(targets: Iterable[Path], config: AuditConfig) -> list[Path]:
    files: list[Path] = []
    seen: set[str] = set()
    for target in targets:
        if target.is_file():
            files.append(target)
            continue
        for dirpath, dirnames, filenames in os.walk(target, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            dirnames[:] = sorted(
                d for d in dirnames if d != "__pycache__" and d != CACHE_DIR and d not in config.exclude
            )
            files.extend(Path(dirpath) / name for name in sorted(filenames) if name.endswith(".py"))
    return files


def fingerprint(config: AuditConfig, targets: Sequence[Path], extra: Iterable[Path] = ()) -> str:
    """Hash of everything a scan's result depends on (see the module docstring)."""
    from auditor import __version__

    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{__version__}\n{config!r}\n{sorted(map(str, targets))}\n".encode())
    root = config.root
    # The auditor's own code is part of the key: a changed rule must never be answered from the cache.
    package = Path(__file__).resolve().parent
    own = sorted(package.rglob("*.py"))
    for path in [*own, *(root / name for name in _CONFIG_FILES), *_python_files(targets, config), *extra]:
        digest.update(_stat_line(path, root).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _case(data: dict[str, Any]) -> TestCase:
    data = dict(data)
    data["markers"] = tuple(Marker(**m) for m in data["markers"])
    data["fixtures"] = tuple(data["fixtures"])
    return TestCase(**data)


def _finding(data: dict[str, Any]) -> Finding:
    data = dict(data)
    data["evidence"] = tuple(data["evidence"])
    return Finding(**data)


def load(config: AuditConfig, targets: Sequence[Path]) -> tuple[tuple[TestCase, ...], tuple[Finding, ...], str] | None:
    """The cached (cases, findings, settings source) when still valid, else ``None``."""
    path = config.root / CACHE_DIR / _FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        extra = [config.root / name for name in data["extra"]]
        if data["key"] != fingerprint(config, targets, extra):
            return None
        return (
            tuple(_case(c) for c in data["cases"]),
            tuple(_finding(f) for f in data["findings"]),
            data["settings_source"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no cache, or one from another version: scan afresh


def save(
    config: AuditConfig,
    targets: Sequence[Path],
    cases: Sequence[TestCase],
    findings: Sequence[Finding],
    *,
    extra: Sequence[str],
    settings_source: str,
) -> None:
    """Store a scan result; failing to write the cache never fails the scan."""
    from auditor.serialize import to_dict

    folder = config.root / CACHE_DIR
    try:
        folder.mkdir(exist_ok=True)
        (folder / ".gitignore").write_text("# created by auditor\n*\n", encoding="utf-8")
        payload = {
            "key": fingerprint(config, targets, [config.root / name for name in extra]),
            "extra": list(extra),
            "settings_source": settings_source,
            "cases": to_dict(list(cases)),
            "findings": to_dict(list(findings)),
        }
        temporary = folder / f"{_FILE}.tmp{os.getpid()}"
        temporary.write_text(json.dumps(payload), encoding="utf-8")
        temporary.replace(folder / _FILE)
    except OSError:
        return
