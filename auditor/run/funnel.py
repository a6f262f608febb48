"""The funnel: created >= collectable >= collected >= run >= passed, per category and in total.

Every count is of distinct node ids across all suites (a test two suites both ran counts once, with the
outcome :data:`~auditor.model.STATUS_PRECEDENCE` picks), after :func:`~auditor.run.observe.reconcile` gave each
defined test its instances: for a test pytest collected, the instances pytest made of it (every parametrization,
fixture param and backend, selected or deselected); for the others, the static count. Beside it, the static
scan's own count and each reason the two differ, so that

    created   = static + extra_params + extra_unreadable + not_in_scan
    collected = created - uncollectable - import_errors - deselected - never_reached
    collected = run + skipped + interrupted      (run includes crashed and hung; flaky is counted within failed/errors)
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence

from auditor.config import AuditConfig
from auditor.model import (
    CATEGORIES,
    STATUS_PRECEDENCE,
    Outcome,
    SuiteResult,
    Tally,
    TestCase,
)

#: Statuses whose test body executed (``crashed`` and ``hung``: started and never finished). ``interrupted`` (in
#: flight when the audit was stopped) is collected but neither run nor skipped.
RAN = frozenset({"passed", "failed", "error", "xfailed", "xpassed", "crashed", "hung"})
_RANK = {status: index for index, status in enumerate(STATUS_PRECEDENCE)}
#: not_run reasons -> the funnel column that explains them; every other reason (suite not run, timed out, crashed,
#: interrupted, not reached, not collected, in no suite) is ``never_reached``.
_NOT_RUN_COLUMN = {"uncollectable": "uncollectable", "collection_error": "import_errors", "deselected": "deselected"}


def best_outcomes(suites: Sequence[SuiteResult]) -> dict[str, tuple[Outcome, SuiteResult]]:
    """One outcome per node id (with its suite), by :data:`~auditor.model.STATUS_PRECEDENCE`."""
    best: dict[str, tuple[Outcome, SuiteResult]] = {}
    for suite in suites:
        for outcome in suite.outcomes:
            kept = best.get(outcome.node_id)
            if kept is None or _RANK.get(outcome.status, 99) < _RANK.get(kept[0].status, 99):
                best[outcome.node_id] = (outcome, suite)
    return best


def tally(cases: Sequence[TestCase], suites: Sequence[SuiteResult], config: AuditConfig) -> tuple[Tally, ...]:
    """Counts per category present (in report order), then ``total``."""
    by_id = {case.id: case for case in cases}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    observed: dict[str, list[bool]] = defaultdict(list)
    instances: dict[str, int] = defaultdict(int)  # node ids per case, after reconcile
    pytest_saw: set[str] = set()  # cases with an outcome pytest gave (not a static stand-in)
    for outcome, suite in best_outcomes(suites).values():
        case = by_id.get(outcome.case_id)
        category = case.category if case else suite.category
        row = counts[category]
        row["created"] += 1
        if case is None:
            row["not_in_scan"] += 1
        else:
            instances[case.id] += 1
            if suite.name != "(not run)":
                pytest_saw.add(case.id)
        _count_outcome(row, outcome)
        if outcome.status in RAN and outcome.observation is not None:
            observed[category].append(_touched_live(outcome))
    for case in cases:
        row = counts[case.category]
        static = case.params if case.params is not None else 1
        row["static"] += static
        row["static_unreadable"] += case.params is None
        made = instances.get(case.id, 0)
        if made == 0:  # no outcome at all (an audit made without reconcile): counted as the scan counts it
            row["created"] += static
            row["not_run"] += static
            row["never_reached"] += static
            made = static
        if case.params is None:
            row["extra_unreadable"] += made - 1
            if case.id not in pytest_saw:
                row["created_lower_bound"] = 1
        else:
            row["extra_params"] += made - static
    for row in counts.values():
        row["collectable"] = row["created"] - row["uncollectable"]
    rows = []
    for category in [c for c in CATEGORIES if c in counts]:
        row = counts[category]
        rows.append(_make(category, row, _infra(category, row, observed.get(category, []), config)))
    total: dict[str, int] = defaultdict(int)
    for row in counts.values():
        for key, value in row.items():
            total[key] = max(total[key], value) if key == "created_lower_bound" else total[key] + value
    flags = [flag for values in observed.values() for flag in values]
    rows.append(_make("total", total, _overall([r.real_infrastructure for r in rows], flags)))
    return tuple(rows)


def _count_outcome(row: dict[str, int], outcome: Outcome) -> None:
    if outcome.status == "not_run":
        row["not_run"] += 1
        row[_NOT_RUN_COLUMN.get(outcome.reason or "", "never_reached")] += 1
        return
    row["collected"] += 1
    if outcome.status in RAN:
        row["run"] += 1
    row[{"error": "errors"}.get(outcome.status, outcome.status)] += 1
    row["flaky"] += outcome.flaky
    if outcome.status == "skipped":
        kind = outcome.skip_kind or "conditional"
        if kind in ("unconditional", "platform", "dependency"):
            row[f"skipped_{kind}"] += 1


def _make(category: str, row: dict[str, int], infra: str) -> Tally:
    fields = {f.name for f in dataclasses.fields(Tally)} - {"category", "real_infrastructure"}
    values = {k: v for k, v in row.items() if k in fields}
    values["created_lower_bound"] = bool(row.get("created_lower_bound"))
    return Tally(category=category, real_infrastructure=infra, **values)


def _touched_live(outcome: Outcome) -> bool:
    obs = outcome.observation
    assert obs is not None
    live_http = any(x.host_class != "in-process" and x.status is not None for x in obs.http)
    return (live_http or obs.sockets_loopback > 0 or obs.sockets_other > 0) and not obs.mocks


def _infra(category: str, row: dict[str, int], flags: Iterable[bool], config: AuditConfig) -> str:
    flags = list(flags)
    if not row.get("run"):
        return "n/a" if category not in config.real_infrastructure else "not observed"
    if not flags:
        return "not observed"
    if all(flags):
        return "yes"
    return "no" if not any(flags) else "partial"


def _overall(values: Sequence[str], flags: Sequence[bool]) -> str:
    judged = [v for v in values if v in ("yes", "no", "partial")]
    if not judged:
        return "not observed"
    if all(v == "yes" for v in judged):
        return "yes"
    return "no" if all(v == "no" for v in judged) else "partial"
