"""Which of the parts a test read a sabotage changed, as the subjects a claim is about.

:mod:`auditor.run.reads` notes what a test read; :mod:`auditor.run.sabotage_http` notes what a mode changed
(``changed_paths`` of a rewritten JSON body, ``status``, ``body``, ``stream-end``, ``connection``, ``time``);
:func:`subjects_touched` intersects the two.
"""

from __future__ import annotations

from typing import Any

from auditor.run.reads import BODY, CONNECTION, STATUS, STREAM_END, TIME, child_path
from auditor.run.wire import STRUCTURAL_KEYS

__all__ = ["changed_paths", "describe", "subjects_touched"]


def changed_paths(before: Any, after: Any, path: str = "$") -> set[str]:
    """The JSON paths (as :mod:`reads` writes them) whose values differ between ``before`` and ``after``."""
    if type(before) is not type(after):
        return {path}
    if isinstance(before, dict):
        found = set() if before.keys() == after.keys() else {f"{path}.#keys"}
        for key in before.keys() & after.keys():
            found |= changed_paths(before[key], after[key], child_path(path, key))
        return found
    if isinstance(before, list):
        found = set() if len(before) == len(after) else {f"{path}.#len"}
        for index, (one, other) in enumerate(zip(before, after, strict=False)):
            found |= changed_paths(one, other, child_path(path, index))
        return found
    return set() if before == after else {path}


def _related(read: str, changed: str) -> bool:
    """A read sees a change when one path lies within the other (a whole comparison sees all inside it)."""
    if read == changed:
        return True
    for outer, inner in ((read, changed), (changed, read)):
        if inner.startswith(outer) and inner[len(outer)] in ".[" and not inner[len(outer):].startswith(".#"):
            return True
    return False


def _subject_of_path(path: str) -> str:
    last = path.rsplit(".", 1)[-1]
    if last in ("#len", "#keys") or last.split("[")[0] in STRUCTURAL_KEYS:
        return "shape"
    return "content"


def subjects_touched(reads: set[str], changed: set[str]) -> set[str]:
    """What a sabotage changed among the parts a test read, as subjects: ``status``, ``shape``, ``content``,
    ``streaming``, ``connection``, ``time`` (see ``docs/probes.md``)."""
    touched: set[str] = set()
    if CONNECTION in changed:
        touched.add("connection")
    if TIME in changed and TIME in reads:  # the test measured time (see reads.watch_clock)
        touched.add("time")
    if STATUS in changed and STATUS in reads:
        touched.add("status")
    if STREAM_END in changed and STREAM_END in reads and BODY in reads:
        touched.add("streaming")
    whole_body = BODY in changed
    json_changes = {part for part in changed if part.startswith("$") or part.startswith("event$")}
    if BODY in reads and (whole_body or json_changes):
        touched.add("content")
        if whole_body:
            touched.add("shape")
    for read in reads:
        if not (read.startswith("$") or read.startswith("event$")):
            continue
        if whole_body or any(_related(read, change) for change in json_changes):
            touched.add(_subject_of_path(read))
    return touched


def describe(reads: set[str] | tuple[str, ...], limit: int = 6) -> str:
    """A short human reading of a read set: ``status, $.content[0].text`` (``nothing`` when empty)."""
    parts = sorted(reads, key=lambda part: (part.startswith("$"), part))
    if not parts:
        return "nothing"
    shown = ", ".join(parts[:limit])
    return shown + (f" and {len(parts) - limit} more" if len(parts) > limit else "")
