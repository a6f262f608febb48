"""Which category (unit, e2e, stress...) a test belongs to: configured, named by a folder, or by a marker."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Sequence
from pathlib import PurePosixPath

from auditor.config import DEFAULT_CATEGORY_NAMES, AuditConfig
from auditor.model import Marker


def category_of(config: AuditConfig, path: str, markers: Sequence[Marker]) -> str:
    """The category of a test at ``path`` with ``markers``: configured, else its folder's name, else a marker's."""
    names = {marker.name for marker in markers}
    for key, category in config.categories.items():
        if key in names or fnmatch.fnmatch(path, key) or path.startswith(key.rstrip("/") + "/"):
            return category
    category = _folder_category(path)
    if category:
        return category
    for marker in markers:
        category = DEFAULT_CATEGORY_NAMES.get(marker.name.lower())
        if category:
            return category
    return "unit"


@functools.lru_cache(maxsize=4096)
def _folder_category(path: str) -> str | None:
    """The category named by the innermost folder of ``path`` that has one (asked once per test)."""
    for part in reversed(PurePosixPath(path).parent.parts):
        category = DEFAULT_CATEGORY_NAMES.get(part.lower())
        if category:
            return category
    return None
