"""View-models: small, already-formatted records that every report renders from the audit.

Templates and terminal tables receive these, never the raw :class:`~auditor.model.Audit`,
so no template computes anything and every format shows the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model import CATEGORIES, SEVERITIES, Audit, Finding, Score, Tally
from auditor.status.evidence import BROKEN, TestEvidence

CATEGORY_LABELS = {
    "smoke": "Smoke",
    "e2e": "E2E",
    "stress": "Stress",
    "benchmarks": "Benchmarks",
    "unit": "Unit",
    "other": "Other",
    "total": "Total",
}

INFRA_LABELS = {"yes": "Yes", "no": "No", "partial": "Partial", "not observed": "Not observed", "n/a": "n/a"}


@dataclass(frozen=True)
class MatrixRow:
    """One row of the test quality assessment matrix."""

    category: str
    label: str
    created: int
    run: int
    passed: int
    #: Of the tests that did not pass, those that passed on a re-run.
    flaky: int
    infrastructure: str
    quality: str
    kill_rate: str
    #: "ok" | "warn" | "bad" | "unknown": how the row should be coloured.
    tone: str
    is_total: bool = False
    #: The static scan's count, beside what pytest collected; "≥" marks a lower bound.
    static: str = ""
    collected: int = 0
    #: ``created`` as shown: "≥N" when it counts tests pytest never collected whose params the scan cannot read.
    created_label: str = ""
    deselected: int = 0
    skipped_platform: int = 0
    skipped_dependency: int = 0
    #: Why static and collected differ, one phrase per reason ("" when they are equal).
    gap: str = ""


def category_label(category: str) -> str:
    """Display name of a category."""
    return CATEGORY_LABELS.get(category, category.title())


def format_score(score: Score | None) -> str:
    """``"6.2/10"``, or ``"unknown"`` when nothing ran to judge."""
    if score is None or score.value is None:
        return "unknown"
    return f"{score.value:g}/10"


def format_rate(rate: float | None) -> str:
    """A 0-1 rate as a whole percentage, or an em dash when not measured."""
    return "—" if rate is None else f"{rate:.0%}"


def tone(score: Score | None, tally: Tally) -> str:
    """Colour class of a row: bad when tests never ran or the score is low."""
    if score is None or score.value is None:
        return "unknown" if tally.created else "ok"
    if tally.run < tally.created or score.value < 5:
        return "bad" if score.value < 5 else "warn"
    return "ok" if score.value >= 8 else "warn"


def matrix_rows(audit: Audit) -> tuple[MatrixRow, ...]:
    """Rows in canonical category order, total last."""
    scores = {s.category: s for s in audit.scores}
    order = {name: index for index, name in enumerate((*CATEGORIES, "total"))}
    rows = []
    for tally in sorted(audit.tallies, key=lambda t: order.get(t.category, len(order) - 1)):
        score = scores.get(tally.category)
        rows.append(
            MatrixRow(
                category=tally.category,
                label=category_label(tally.category),
                created=tally.created,
                run=tally.run,
                passed=tally.passed,
                flaky=tally.flaky,
                infrastructure=INFRA_LABELS.get(tally.real_infrastructure, tally.real_infrastructure),
                quality=format_score(score),
                kill_rate=format_rate(score.kill_rate if score else None),
                tone=tone(score, tally),
                is_total=tally.category == "total",
                static=f"≥{tally.static}" if tally.static_unreadable else str(tally.static),
                collected=tally.collected,
                created_label=f"≥{tally.created}" if tally.created_lower_bound else str(tally.created),
                deselected=tally.deselected,
                skipped_platform=tally.skipped_platform,
                skipped_dependency=tally.skipped_dependency,
                gap=funnel_gap(tally),
            )
        )
    return tuple(rows)


def funnel_gap(tally: Tally) -> str:
    """Why the static count and the collected count of a row differ, or "" when they are equal."""
    parts = []
    if tally.extra_params > 0:
        parts.append(f"+{tally.extra_params} from fixture params, backends or generated parametrization")
    elif tally.extra_params < 0:
        parts.append(f"{tally.extra_params} instances fewer than the scan's parametrize count")
    if tally.extra_unreadable:
        parts.append(f"{tally.extra_unreadable:+d} from params the scan cannot read "
                     f"({tally.static_unreadable} test{'s' if tally.static_unreadable != 1 else ''})")
    if tally.created_lower_bound:
        parts.append("params the scan cannot read, of tests pytest never collected: created is a lower bound")
    if tally.not_in_scan:
        parts.append(f"+{tally.not_in_scan} collected by pytest, not found by the scan")
    for count, what in ((tally.uncollectable, "that pytest never collects (names, __test__, __init__)"),
                        (tally.import_errors, "in files pytest cannot import"),
                        (tally.deselected, "deselected (-m/-k, suite markers)"),
                        (tally.never_reached, "never reached (suite not run, timed out, crashed, or in no suite)")):
        if count:
            parts.append(f"-{count} {what}")
    return "; ".join(parts)


def top_findings(findings: Sequence[Finding], limit: int | None = 10) -> tuple[Finding, ...]:
    """Findings most worth reading first: by severity, runtime/probe evidence before static."""
    origin_rank = {"probe": 0, "runtime": 1, "static": 2, "scan": 3}
    ranked = sorted(
        findings,
        key=lambda f: (SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 9, origin_rank.get(f.origin, 9), f.path, f.line, f.rule),
    )
    return tuple(ranked if limit is None else ranked[:limit])


def severity_counts(findings: Sequence[Finding]) -> dict[str, int]:
    """Findings per severity, every severity present (zero when none)."""
    return {level: sum(f.severity == level for f in findings) for level in SEVERITIES}


def location(finding: Finding) -> str:
    """``path:line`` of a finding."""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


#: How each kind of failure is labelled next to its test, most serious first.
FAILURE_LABELS = {"crashed": "CRASHED", "hung": "HUNG", "error": "ERROR", "failed": "FAILED", "interrupted": "INTERRUPTED"}


@dataclass(frozen=True)
class FailureRow:
    """A test that did not pass, and why, ready to print next to it."""

    node_id: str
    status: str
    #: "CRASHED", "HUNG", "ERROR", "FAILED", "FLAKY" (failed, then passed on a re-run) or "INTERRUPTED"
    label: str
    why: str
    #: The bounded traceback, output or stack excerpt ("" when none was recorded).
    details: str
    #: The re-runs' statuses, e.g. "failed, passed" ("" when not re-run).
    reruns: str


def failures(evidence: Sequence[TestEvidence], limit: int | None = None) -> tuple[FailureRow, ...]:
    """Tests that failed, errored, crashed, hung or were interrupted, each with why: most serious first, then by id."""
    order = list(FAILURE_LABELS)
    items = sorted((e for e in evidence if e.status in BROKEN or e.status == "interrupted"),
                   key=lambda e: (order.index(e.status), e.node_id))
    rows = tuple(
        FailureRow(
            node_id=e.node_id, status=e.status, label="FLAKY" if e.flaky else FAILURE_LABELS[e.status],
            why=e.reason or "no reason recorded", details=e.details or "",
            reruns=", ".join(e.outcome.reruns) if e.outcome is not None else "",
        )
        for e in items
    )
    return rows if limit is None else rows[:limit]


def never_ran(evidence: Sequence[TestEvidence]) -> tuple[TestEvidence, ...]:
    """Tests that did not execute, in id order."""
    return tuple(sorted((e for e in evidence if not e.ran), key=lambda e: e.node_id))
