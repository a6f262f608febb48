"""Gold-file comparison for reports, after scrubbing what legitimately changes (times, versions, paths).

On a mismatch the actual output is written to tests/actual/ (gitignored) and the test fails with a
diff; see tests/gold/README.md for how to accept a change.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

GOLD_DIR = Path(__file__).parent / "gold"
ACTUAL_DIR = Path(__file__).parent / "actual"

SCRUBS = (
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"), "TIMESTAMP"),
    (re.compile(r"(auditor[ \"]+(?:version\"?: ?\"?)?)\d+\.\d+\.\d+\w*"), r"\g<1>VERSION"),
    (re.compile(r"\"version\": \"\d+\.\d+\.\d+\w*\""), '"version": "VERSION"'),
)


def scrub(text: str, *, paths: tuple[str, ...] = ()) -> str:
    """Replace timestamps, versions and the given absolute paths with fixed words."""
    for path in sorted(paths, key=len, reverse=True):
        text = text.replace(path, "ROOT")
    for pattern, replacement in SCRUBS:
        text = pattern.sub(replacement, text)
    return text


def compare(actual: str, gold_name: str, *, paths: tuple[str, ...] = ()) -> None:
    """Assert ``actual`` (scrubbed) equals ``tests/gold/<gold_name>``; ``AUDITOR_UPDATE_GOLD=1`` rewrites it."""
    actual = scrub(actual, paths=paths)
    gold = GOLD_DIR / gold_name
    if os.environ.get("AUDITOR_UPDATE_GOLD") == "1":
        gold.write_text(actual, encoding="utf-8")
        return
    expected = gold.read_text(encoding="utf-8") if gold.exists() else ""
    if actual != expected:
        ACTUAL_DIR.mkdir(exist_ok=True)
        (ACTUAL_DIR / gold_name).write_text(actual, encoding="utf-8")
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), f"gold/{gold_name}", f"actual/{gold_name}"))
        raise AssertionError(f"{gold_name} differs from its gold file (actual written to tests/actual/{gold_name}):\n{diff[:6000]}")
