"""Why a test was skipped: the kind of skip, from its reason and the marks the scan read.

- ``dependency``: an optional package is missing (``pytest.importorskip``, "No module named ...");
- ``platform``: the condition is another operating system or interpreter (``skipif(sys.platform ...)``,
  ``os.name``, ``platform.system()``, ``sys.implementation``, or a reason such as "only on Windows");
- ``unconditional``: ``skip``, ``skipif(True)``;
- ``conditional``: any other condition (a missing server, a flag, a Python version).

The gate treats platform skips as the user's choice and dependency skips as failures unless the missing
module is allowed (``docs/status.md``).
"""

from __future__ import annotations

import re

from auditor.model import Marker, TestCase

_IMPORT = re.compile(r"could not import '([\w.]+)'|No module named '([\w.]+)'|could not import ([\w.]+)\b")
#: Source text of a condition about the platform.
_PLATFORM_CONDITION = re.compile(
    r"sys\.platform|os\.name|platform\.(system|machine|python_implementation|mac_ver|win32_ver|uname|architecture)"
    r"|sys\.implementation|getwindowsversion|windows|win32|darwin|macos|linux|posix|pypy", re.IGNORECASE,
)
#: A reason that names a platform.
_PLATFORM_REASON = re.compile(
    r"\b(windows|win32|win64|macos|mac os|os ?x|darwin|linux|posix|unix|bsd|freebsd|openbsd|solaris|aix|cygwin"
    r"|emscripten|wasi|pypy|graalpy|jython|ironpython)\b", re.IGNORECASE,
)


def missing_module(reason: str | None) -> str | None:
    """The module a dependency skip says is missing (``trio`` for "could not import 'trio': ..."), else None."""
    if not reason:
        return None
    found = _IMPORT.search(reason)
    if found is None:
        return None
    return next(group for group in found.groups() if group)


def skip_kind(reason: str | None, case: TestCase | None) -> str:
    """One of :data:`auditor.model.SKIP_KINDS` for a skip with ``reason`` of a test defined as ``case``."""
    if missing_module(reason):
        return "dependency"
    markers = [m for m in (case.markers if case else ()) if m.name in ("skipif", "skip")]
    matching = [m for m in markers if _same_reason(m, reason)] or markers
    if any(m.name == "skipif" and m.condition and _PLATFORM_CONDITION.search(m.condition) for m in matching):
        return "platform"
    if reason and _PLATFORM_REASON.search(reason) and not _unconditional_only(matching, reason):
        return "platform"
    if case is not None and any(m.unconditional for m in matching):
        return "unconditional"
    return "conditional"


def _same_reason(marker: Marker, reason: str | None) -> bool:
    if not reason:
        return False
    if marker.reason and marker.reason == reason:
        return True
    return bool(marker.condition) and reason == f"condition: {marker.condition}"


def _unconditional_only(markers: list[Marker], reason: str) -> bool:
    """An unconditional ``skip`` whose reason merely mentions a platform is still unconditional."""
    return any(m.unconditional and _same_reason(m, reason) for m in markers)
