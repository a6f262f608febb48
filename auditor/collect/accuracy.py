"""Precision and recall of the static rules on a labelled corpus (``# expect: AUD101`` / ``# expect: strong``).

A label sits on the comment line directly above a test's ``def`` (above its decorators). Metrics are
per test: a weak test is found when one of its expected rules fires on it; a strong test with any
finding is a false positive.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from auditor.collect.scan import scan
from auditor.config import read_config
from auditor.model import Finding

_LABEL = re.compile(r"#\s*expect:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Labelled:
    """One labelled test and what the rules said about it."""

    test_id: str
    path: str
    line: int
    expected: tuple[str, ...]  # empty for a strong test
    found: tuple[str, ...]  # rule ids that fired on it

    @property
    def weak(self) -> bool:
        """True when the label says the test is weak."""
        return bool(self.expected)

    @property
    def detected(self) -> bool:
        """True when an expected rule fired (weak tests) or any rule fired (strong tests)."""
        return bool(set(self.expected) & set(self.found)) if self.weak else bool(self.found)


@dataclass(frozen=True)
class Accuracy:
    """Test-level precision and recall, with the tests behind every miss."""

    tests: tuple[Labelled, ...]
    unlabelled: tuple[str, ...]

    @property
    def true_positives(self) -> int:
        """Weak tests flagged by one of their expected rules."""
        return sum(1 for t in self.tests if t.weak and t.detected)

    @property
    def false_positives(self) -> tuple[Labelled, ...]:
        """Strong tests that some rule flagged."""
        return tuple(t for t in self.tests if not t.weak and t.detected)

    @property
    def misses(self) -> tuple[Labelled, ...]:
        """Weak tests none of whose expected rules fired."""
        return tuple(t for t in self.tests if t.weak and not t.detected)

    @property
    def precision(self) -> float:
        """Flagged tests that are really weak, over all flagged tests."""
        flagged = self.true_positives + len(self.false_positives)
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """Weak tests found, over all weak tests."""
        weak = sum(1 for t in self.tests if t.weak)
        return self.true_positives / weak if weak else 1.0


def _label_above(lines: tuple[str, ...], line: int) -> str | None:
    index = line - 2  # 0-based index of the line above the def
    while index >= 0 and lines[index].lstrip().startswith("@"):
        index -= 1
    if index >= 0:
        match = _LABEL.search(lines[index])
        if match:
            return match.group(1)
    return None


def measure(corpus: Path) -> Accuracy:
    """Scan ``corpus`` (with its own pyproject settings) and compare findings with the labels."""
    config = read_config(corpus)
    inventory, findings = scan(config, [str(corpus)])
    by_test: dict[str, list[Finding]] = defaultdict(list)
    for item in findings:
        if item.test_id:
            by_test[item.test_id].append(item)
    lines = {module.path: module.lines for module in inventory.modules}
    by_def: dict[tuple[str, int], list[str]] = defaultdict(list)
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for node in inventory.nodes:
        key = (node.case.path, node.node.lineno)
        by_def[key].append(node.case.id)
        first = min([node.node.lineno, *(d.lineno for d in node.node.decorator_list)])
        spans[key] = (first, node.node.end_lineno or node.node.lineno)
    tests, unlabelled = [], []
    for (path, line), ids in sorted(by_def.items()):
        label = _label_above(lines[path], line)
        if label is None:
            unlabelled.extend(ids)
            continue
        expected = () if label.strip() == "strong" else tuple(label.split())
        low, high = spans[(path, line)]
        # Two defs can share an id (a duplicate name): a finding belongs to the def whose lines hold it.
        found = sorted({f.rule for test_id in ids for f in by_test.get(test_id, ()) if low <= f.line <= high})
        tests.append(Labelled(test_id=ids[0], path=path, line=line, expected=expected, found=tuple(found)))
    return Accuracy(tests=tuple(tests), unlabelled=tuple(unlabelled))


def findings_by_rule(findings: list[Finding]) -> dict[str, int]:
    """How many findings each rule produced."""
    counts: dict[str, int] = defaultdict(int)
    for item in findings:
        counts[item.rule] += 1
    return dict(counts)
