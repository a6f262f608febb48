"""Atomic file writes, shared by every stage that writes a record or a report.

A reader (a CI step, a browser, the next audit) must never see a half-written file, and a file the
auditor writes gets the same permissions as any other file the user creates.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` (temp file + rename), mode 0666 less the umask; no temp file is left on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
