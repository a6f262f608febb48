"""When a vacuous line makes a test weak: only when it holds every check the test makes.

An always-true assert (AUD108), an always-truthy response (AUD105), a forgotten ``assert`` (AUD127), a check
after ``return`` (AUD131), a check whose failure an ``except`` swallows (AUD111) or a time bound nothing breaks
(AUD109) is a defect of its lines;
whether the test is weak depends on the rest. On strangers' tests (the tuning halves of bench/blind and both
wild samples), such lines in a test with no other check made a weak test 22 times in 22, and beside other
checks 7 times in 21: mostly the other lines checked the claim. So those HIGH rules report a test whose checks
are all vacuous, and AUD154 (:mod:`.stray`) reports the lines, at LOW, while other checks remain. AUD105 joined
them after the fifth wild sample: its 3 findings there were `assert res` or `loaded is not None` lines beside
exact checks of the body, all in strong tests.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator

from auditor.collect.rules.base import Hit
from auditor.collect.rules.facts import TestFacts

#: A vacuous line: the node, the message, and the lines it leaves unchecked (first, last).
Detection = tuple[ast.AST, str, tuple[int, int]]
Detector = Callable[[TestFacts], Iterable[Detection]]

#: Claims for which the vacuous line is the claim's only check, whatever else the test asserts: a time bound
#: nothing breaks leaves a timing claim unchecked however exactly the status is compared.
_CLAIMED_BY = {"AUD109": "timing"}


def span(node: ast.AST) -> tuple[int, int]:
    """The lines of ``node``."""
    first = getattr(node, "lineno", 0)
    return first, getattr(node, "end_lineno", None) or first


def detections(facts: TestFacts, rule_id: str, detect: Detector) -> list[Detection]:
    """What ``detect`` finds in the test, found once for the rule and for AUD154."""
    key = f"vacuous:{rule_id}"
    if key not in facts.memo:
        facts.memo[key] = list(detect(facts))
    return facts.memo[key]  # type: ignore[return-value]


def _sole(facts: TestFacts, rule_id: str, found: list[Detection]) -> bool:
    claim = _CLAIMED_BY.get(rule_id)
    return (claim is not None and claim in facts.claims) or not facts.checks_outside([s for *_, s in found])


def sole_hits(facts: TestFacts, rule_id: str, detect: Detector) -> Iterator[Hit]:
    """The vacuous lines of a test that checks nothing else: the test is weak."""
    found = detections(facts, rule_id, detect)
    if found and _sole(facts, rule_id, found):
        for node, message, _ in found:
            yield node, message


def stray_hits(facts: TestFacts, rule_id: str, detect: Detector) -> Iterator[Hit]:
    """The vacuous lines of a test whose other checks still run: the line is dead, the test may not be weak."""
    found = detections(facts, rule_id, detect)
    if found and not _sole(facts, rule_id, found):
        for node, message, _ in found:
            yield node, f"{message} ({rule_id}; the test's other checks still run)"
