"""The report page view-model shared by the Markdown and HTML templates.

Built once from the audit by :func:`build_page`; templates only loop over and print it.
"""

from __future__ import annotations

import linecache
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.collect.rules.registry import measured_right
from auditor.model import Audit, Finding, Score
from auditor.status.diagnose import Diagnosis, diagnose
from auditor.status.evidence import TestEvidence, collect_evidence
from auditor.status.summary import (
    FailureRow,
    MatrixRow,
    failures,
    location,
    matrix_rows,
    severity_counts,
    top_findings,
)

VERDICT_ICONS = {"confirmed": "🚨", "likely": "✅", "possible": "⚠️", "unlikely": "➖", "unknown": "❓"}
# Plain symbols, not emoji: they render with any system font (headless Chromium has no emoji font).
STATUS_ICONS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "↷", "xfailed": "–", "xpassed": "!", "crashed": "✗",
                "hung": "⧗", "interrupted": "■", "not_run": "○"}
#: Failures listed on the page (each with why); the rest are counted.
FAILURES_SHOWN = 25


@dataclass(frozen=True)
class FindingView:
    """A finding ready to print."""

    severity: str
    rule: str
    slug: str
    origin: str
    where: str
    message: str
    test_id: str
    evidence: tuple[str, ...]
    #: ``"16/29"``: the rule was right on 16 of the 29 labelled strangers' tests it reported ("" if unmeasured).
    right: str = ""


@dataclass(frozen=True)
class ScoreView:
    """A quality score with its deductions."""

    label: str
    value: str
    deductions: tuple[tuple[str, str], ...]  # (reason, "-1.25")


@dataclass(frozen=True)
class DimensionView:
    """One completion dimension."""

    name: str
    value: str
    interval: str
    weight: str
    evidence: str
    percent: float  # 0-100, for bars


@dataclass(frozen=True)
class SourceLine:
    """One line of a test's source, numbered."""

    number: int
    text: str
    flagged: bool


@dataclass(frozen=True)
class TestView:
    """One test instance in the drill-down."""

    __test__ = False

    node_id: str
    status: str
    icon: str
    reason: str
    statuses_seen: str
    mocks: str
    assertions: str
    probes: tuple[str, ...]
    findings: tuple[FindingView, ...]
    vacuous: str
    source: tuple[SourceLine, ...]
    #: The bounded traceback, output or stack excerpt behind ``reason`` ("" when none).
    details: str = ""
    #: Statuses of its re-runs ("" when not re-run), and whether one passed after a failure.
    reruns: str = ""
    flaky: bool = False


@dataclass(frozen=True)
class CategoryView:
    """A category in the drill-down: its matrix row, score and tests."""

    row: MatrixRow
    score: ScoreView
    tests: tuple[TestView, ...]


@dataclass(frozen=True)
class TrendPoint:
    """One past audit in the trend chart."""

    when: str
    created: int
    run: int
    passed: int
    completion: float


@dataclass(frozen=True)
class Page:
    """Everything a review-shaped report shows."""

    project: str
    created: str
    version: str
    summary: tuple[str, ...]
    completion: str
    interval: str
    claimed: str
    completion_value: float
    claimed_value: float | None
    gap_flag: bool
    rows: tuple[MatrixRow, ...]
    red_flags: tuple[str, ...]
    #: Tests that did not pass, with why (at most FAILURES_SHOWN), and how many there are in all.
    failures: tuple[FailureRow, ...]
    failures_total: int
    diagnosis: Diagnosis
    verdict_icons: dict[str, str]
    dimensions: tuple[DimensionView, ...]
    deliverables: tuple[tuple[str, bool, str], ...]
    scores: tuple[ScoreView, ...]
    findings: tuple[FindingView, ...]
    findings_total: int
    severity_counts: dict[str, int]
    categories: tuple[CategoryView, ...]
    trend: tuple[TrendPoint, ...]


def build_page(audit: Audit, *, history: Sequence[dict[str, Any]] = (), findings_limit: int = 10, source_root: Path | None = None, drill_down: bool = False) -> Page:
    """The page for ``audit``; ``drill_down`` adds per-test details with source lines (HTML)."""
    evidence = collect_evidence(audit)
    completion = audit.completion
    rows = matrix_rows(audit)
    total = next((r for r in rows if r.is_total), None)
    summary = []
    if total is not None:
        valid = sum(e.valid_pass for e in evidence)
        # The counts themselves are the matrix's Total row: the one total, shown once.
        summary.append(
            f"{_share(total.run, total.created)} of the tests created ran and {_share(total.passed, total.created)} "
            f"passed; {_share(valid, total.created)} passed with no weakness found."
        )
    if completion is not None:
        claim = f" against a claim of {completion.claimed:g}%" if completion.claimed is not None else ""
        summary.append(f"Realistic completion: {completion.value:g}% (interval {completion.low:g}-{completion.high:g}%){claim}.")
    counts = severity_counts(audit.findings)
    summary.append(f"Findings: {counts['high']} high, {counts['medium']} medium, {counts['low']} low.")
    scores = {s.category: s for s in audit.scores}
    score_views = tuple(_score_view(scores[r.category], r.label) for r in rows if r.category in scores)
    categories: tuple[CategoryView, ...] = ()
    if drill_down:
        root = source_root or Path(audit.root)
        categories = tuple(
            CategoryView(row=r, score=_score_view(scores[r.category], r.label) if r.category in scores else ScoreView(r.label, r.quality, ()), tests=tuple(_test_view(e, audit, root) for e in sorted(evidence, key=_problems_first) if e.category == r.category))
            for r in rows
            if not r.is_total
        )
    return Page(
        project=audit.project or Path(audit.root).name,
        created=audit.created,
        version=audit.version,
        summary=tuple(summary),
        completion=f"{completion.value:g}%" if completion else "not scored",
        interval=f"{completion.low:g}-{completion.high:g}%" if completion else "",
        claimed=f"{completion.claimed:g}%" if completion and completion.claimed is not None else "not claimed",
        completion_value=completion.value if completion else 0.0,
        claimed_value=completion.claimed if completion else None,
        gap_flag=bool(completion and completion.claimed is not None and completion.claimed - completion.value > 15),
        rows=rows,
        red_flags=completion.red_flags if completion else (),
        failures=failures(evidence, FAILURES_SHOWN),
        failures_total=len(failures(evidence)),
        diagnosis=diagnose(audit, evidence),
        verdict_icons=VERDICT_ICONS,
        dimensions=tuple(
            DimensionView(d.name, f"{d.value:.0%}", f"{d.low:.0%}-{d.high:.0%}", f"{d.weight:g}", d.evidence, round(100 * d.value, 1))
            for d in (completion.dimensions if completion else ())
        ),
        deliverables=tuple((d.name, d.done, "; ".join(d.missing)) for d in (completion.deliverables if completion else ())),
        scores=score_views,
        findings=tuple(_finding_view(f) for f in top_findings(audit.findings, findings_limit)),
        findings_total=len(audit.findings),
        severity_counts=counts,
        categories=categories,
        trend=tuple(_trend_point(h) for h in history),
    )


def _problems_first(item: TestEvidence) -> tuple[int, str]:
    """Drill-down order: weak, failing or vacuous tests, then never-run ones, then sound passes."""
    if item.findings or item.status in ("failed", "error", "crashed", "hung", "xpassed") or item.weak or item.vacuous:
        return (0, item.node_id)
    return (1 if not item.ran else 2, item.node_id)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def _score_view(score: Score, label: str) -> ScoreView:
    value = "unknown (nothing ran)" if score.value is None else f"{score.value:g}/10"
    return ScoreView(label, value, tuple((d.reason, f"-{d.points:g}") for d in score.deductions))


def _finding_view(f: Finding) -> FindingView:
    return FindingView(f.severity, f.rule, f.slug, f.origin, location(f), f.message, f.test_id or "", f.evidence,
                       measured_right(f.rule))


def _test_view(item: TestEvidence, audit: Audit, root: Path) -> TestView:
    obs = item.outcome.observation if item.outcome else None
    probes = tuple(f"{p.mode}: {p.result}" + (f" ({p.note})" if p.note else f" ({p.detail})" if p.result == "n/a" else "")
                   for p in item.outcome.probes) if item.outcome else ()
    case = next((c for c in audit.cases if c.id == item.case_id), None)
    flagged = {f.line for f in item.findings}
    return TestView(
        node_id=item.node_id,
        status=item.status,
        icon=STATUS_ICONS.get(item.status, "?"),
        reason=item.reason or "",
        statuses_seen=", ".join(map(str, item.statuses_seen)) if obs else "not observed",
        mocks=(", ".join(obs.mocks) or "none") if obs else "not observed",
        assertions=("not counted" if obs.assertions < 0 else str(obs.assertions)) if obs else "not observed",
        probes=probes,
        findings=tuple(_finding_view(f) for f in item.findings),
        vacuous=item.vacuous or "",
        source=_source(root, case.path, case.line, flagged) if case else (),
        details=item.details or "",
        reruns=", ".join(item.outcome.reruns) if item.outcome else "",
        flaky=item.flaky,
    )


def _source(root: Path, path: str, line: int, flagged: set[int], context: int = 12) -> tuple[SourceLine, ...]:
    """The test's first lines (or nothing when the file is not on this machine)."""
    file = str(root / path)
    lines = []
    for number in range(max(1, line), line + context):
        text = linecache.getline(file, number)
        if not text:
            break
        lines.append(SourceLine(number, text.rstrip("\n"), number in flagged))
    return tuple(lines)


def _trend_point(entry: dict[str, Any]) -> TrendPoint:
    return TrendPoint(
        when=str(entry.get("created", "")),
        created=int(entry.get("created_tests", 0)),
        run=int(entry.get("run", 0)),
        passed=int(entry.get("passed", 0)),
        completion=float(entry.get("completion") or 0.0),
    )

