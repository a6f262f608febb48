"""AUD154: a vacuous line in a test whose other checks still run (see :mod:`.vacuity` for why it is apart)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.facts import TestFacts
from auditor.collect.rules.http import truthy_responses
from auditor.collect.rules.oracle import swallowed_checks, tautologies, unfailable_bounds
from auditor.collect.rules.statements import bare_comparisons, dead_checks, dead_raises_checks, message_claimed
from auditor.collect.rules.vacuity import Detection, Detector, stray_hits

#: The HIGH rules about one vacuous line, and how each finds it.
_VACUOUS_LINES: tuple[tuple[str, Detector], ...] = (
    ("AUD105", truthy_responses),
    ("AUD108", tautologies),
    ("AUD109", unfailable_bounds),
    ("AUD111", swallowed_checks),
    ("AUD127", bare_comparisons),
    ("AUD131", dead_checks),
)


def _unclaimed_dead_raises_checks(facts: TestFacts) -> Iterable[Detection]:
    """AUD155's lines in a test that does not claim the message: pytest.raises still checks the error."""
    found = list(dead_raises_checks(facts))
    return found if found and not message_claimed(facts) else ()


@rule(
    "AUD154",
    "stray-vacuous-check",
    "low",
    "One line can never fail (always true, no assert, unreachable, swallowed) while the test's other checks still run: the "
    "line is dead, and what it meant to check is not checked.",
    bad="def test_total():\n    assert total([1, 2]) == 3\n    total([]) == 0\n",
    good="def test_total():\n    assert total([1, 2]) == 3\n    assert total([]) == 0\n",
)
def stray_vacuous_check(facts: TestFacts) -> Iterator[Hit]:
    for rule_id, detect in _VACUOUS_LINES:
        yield from stray_hits(facts, rule_id, detect)
    yield from stray_hits(facts, "AUD155", _unclaimed_dead_raises_checks)
