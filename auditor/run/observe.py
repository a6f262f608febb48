"""Observe: turn pytest's reports into Outcomes, account for every defined test, and count honestly."""

from __future__ import annotations

import ast
import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from auditor.config import AuditConfig
from auditor.model import CATEGORIES, Observation, Outcome, SuiteResult, Tally, TestCase
from auditor.serialize import from_dict

RAN = ("passed", "failed", "error", "xfailed", "xpassed", "crashed", "hung")
NOT_RUN_SUITE = "(not run)"


def case_id_of(node_id: str) -> str:
    """The test definition a node id belongs to: the node id without its parameters."""
    return node_id.split("[", 1)[0]


def outcomes_from_report(report: dict[str, Any], suite: str, cases: dict[str, TestCase]) -> tuple[Outcome, ...]:
    """Outcomes of one pytest-json-report file; runtime observations only where our plugin wrote them."""
    outcomes = []
    for test in report.get("tests", []):
        node_id = test["nodeid"]
        status = {"error": "error"}.get(test["outcome"], test["outcome"])
        reason, skip_kind = None, None
        if status == "skipped":
            reason = _skip_reason(test)
            case = cases.get(case_id_of(node_id))
            unconditional = case is not None and any(m.unconditional for m in case.markers)
            skip_kind = "unconditional" if unconditional else "conditional"
        elif status in ("xfailed", "xpassed"):
            reason = test.get("call", {}).get("xfail_reason") or None
        details = None
        if status in ("failed", "error"):
            reason, details = _failure(test)
        metadata = (test.get("metadata") or {}).get("auditor")
        observation = from_dict(Observation, metadata) if isinstance(metadata, dict) else None
        duration = sum(float(test.get(stage, {}).get("duration", 0.0)) for stage in ("setup", "call", "teardown"))
        outcomes.append(Outcome(node_id=node_id, case_id=case_id_of(node_id), status=status, suite=suite, reason=reason,
                                skip_kind=skip_kind, duration=duration, observation=observation, details=details))
    return tuple(outcomes)


def _failure(test: dict[str, Any]) -> tuple[str | None, str | None]:
    """(first line of what failed, traceback excerpt) of a failed or errored pytest-json-report test."""
    from auditor.run.excerpt import excerpt, failure_reason

    for stage in ("setup", "call", "teardown"):
        phase = test.get(stage)
        if isinstance(phase, dict) and phase.get("outcome") == "failed":
            text = phase.get("longrepr") if isinstance(phase.get("longrepr"), str) else ""
            crash = phase.get("crash") if isinstance(phase.get("crash"), dict) else {}
            reason = failure_reason(text, crash.get("message"))
            if stage != "call" and reason:
                reason = f"in {stage}: {reason}"
            return reason, excerpt(text)
    return None, None


def outcomes_from_stream(records: Sequence[dict[str, Any]], suite: str, cases: dict[str, TestCase]) -> tuple[Outcome, ...]:
    """Outcomes of the tests our plugin's ``--audit-stream`` lines show finished.

    A test that started and never finished is left to the runner, which knows why its process ended.
    """
    finished: dict[str, Outcome] = {}
    for record in records:
        event, node_id = record.get("event"), record.get("nodeid")
        if not isinstance(node_id, str):
            continue
        if event == "finished":
            status = record.get("outcome", "error")
            observation = record.get("observation")
            skip_kind = None
            if status == "skipped":
                case = cases.get(case_id_of(node_id))
                skip_kind = "unconditional" if case is not None and any(m.unconditional for m in case.markers) \
                    else "conditional"
            finished[node_id] = Outcome(
                node_id=node_id, case_id=case_id_of(node_id), status=status, suite=suite, reason=record.get("reason"),
                skip_kind=skip_kind, duration=float(record.get("duration", 0.0)), details=record.get("details"),
                observation=from_dict(Observation, observation) if isinstance(observation, dict) else None)
    return tuple(finished.values())


def merge_outcomes(report: Sequence[Outcome], stream: Sequence[Outcome]) -> tuple[Outcome, ...]:
    """One outcome per node id: the json report's status, the stream's (final) observation.

    Tests only in the stream (the json report is never written when pytest is killed) are kept; a reason
    or excerpt only the stream has is kept too.
    """
    by_stream = {outcome.node_id: outcome for outcome in stream}
    merged = []
    for outcome in report:
        streamed = by_stream.pop(outcome.node_id, None)
        if streamed is not None:
            outcome = dataclasses.replace(
                outcome, observation=streamed.observation or outcome.observation,
                reason=outcome.reason or (streamed.reason if streamed.status == outcome.status else None),
                details=outcome.details or (streamed.details if streamed.status == outcome.status else None))
        merged.append(outcome)
    merged.extend(by_stream.values())
    return tuple(merged)


def _skip_reason(test: dict[str, Any]) -> str | None:
    longrepr = test.get("setup", {}).get("longrepr") or test.get("call", {}).get("longrepr")
    if not isinstance(longrepr, str):
        return None
    try:  # pytest-json-report writes skips as the repr of a (file, line, reason) tuple
        value = ast.literal_eval(longrepr)
    except (ValueError, SyntaxError):
        return longrepr
    reason = value[2] if isinstance(value, tuple) and len(value) == 3 else str(value)
    return reason.removeprefix("Skipped: ")


def reconcile(inventory: Any, suites: Sequence[SuiteResult]) -> tuple[SuiteResult, ...]:
    """Add a ``not_run`` outcome, with its reason, for every defined test instance that has no outcome.

    ``inventory`` is a :class:`~auditor.collect.inventory.Inventory` or a sequence of test cases.
    """
    cases: Sequence[TestCase] = getattr(inventory, "cases", inventory)
    seen: dict[str, int] = defaultdict(int)
    for suite in suites:
        for outcome in suite.outcomes:
            seen[outcome.case_id] += 1
    deselected = {s.name: {case_id_of(node) for node in s.deselected_ids} for s in suites if s.deselected_ids}
    missing = []
    for case in cases:
        expected = case.params if case.params is not None else 1
        have = seen.get(case.id, 0)
        if have >= max(expected, 1) or (have and case.params is None):
            continue
        reason = _not_run_reason(case, suites, deselected)
        for index in range(have, max(expected, 1)):
            node_id = case.id if expected <= 1 else f"{case.id}[{index}]"
            missing.append(Outcome(node_id=node_id, case_id=case.id, status="not_run", suite=None, reason=reason))
    if not missing:
        return tuple(suites)
    return (*suites, SuiteResult(name=NOT_RUN_SUITE, category="other", paths=(), status="not_run", outcomes=tuple(missing)))


def _not_run_reason(case: TestCase, suites: Sequence[SuiteResult], deselected: dict[str, set[str]]) -> str:
    if not case.collectable:
        return "uncollectable"
    covering = [s for s in suites if any(case.path == p or case.path.startswith(p.rstrip("/") + "/") for p in s.paths)]
    if covering and all(suite.status == "not_run" for suite in covering):
        return "suite_not_run"
    for suite in covering:
        if suite.status in ("interrupted", "timed_out", "crashed"):
            return suite.status
        if suite.status == "error":
            return "collection_error"
    if any(case.id in deselected.get(suite.name, ()) for suite in covering):
        return "deselected"
    if covering:
        return "not_collected"  # its suite ran to the end: pytest neither collected nor deselected it
    if suites and all(s.source == "results" for s in suites):
        return "suite_not_run"  # results were imported: we cannot know which suite would have run it
    return "not_in_suite"


def tally(cases: Sequence[TestCase], suites: Sequence[SuiteResult], config: AuditConfig) -> tuple[Tally, ...]:
    """Counts per category present (in report order), then ``total``."""
    category_of = {case.id: case.category for case in cases}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    observed: dict[str, list[bool]] = defaultdict(list)
    # Parametrize lists that cannot be read statically are counted by what actually ran.
    seen: dict[str, int] = defaultdict(int)
    for suite in suites:
        for outcome in suite.outcomes:
            seen[outcome.case_id] += 1
    for case in cases:
        instances = case.params if case.params is not None else max(1, seen.get(case.id, 0))
        counts[case.category]["created"] += instances
        if case.collectable:
            counts[case.category]["collectable"] += instances
    for suite in suites:
        for outcome in suite.outcomes:
            category = category_of.get(outcome.case_id, suite.category)
            row = counts[category]
            if outcome.status == "not_run":
                row["not_run"] += 1
                row["deselected"] += outcome.reason == "deselected"
                continue
            row["collected"] += 1
            if outcome.status in RAN:
                row["run"] += 1
                if outcome.observation is not None:
                    observed[category].append(_touched_live(outcome))
            key = {"error": "errors"}.get(outcome.status, outcome.status)
            row[key] += 1
            row["flaky"] += outcome.flaky
            if outcome.status == "skipped" and outcome.skip_kind == "unconditional":
                row["skipped_unconditional"] += 1
    rows = []
    for category in [c for c in CATEGORIES if c in counts]:
        row = counts[category]
        rows.append(_make(category, row, _infra(category, row, observed.get(category, []), config)))
    total: dict[str, int] = defaultdict(int)
    for row in counts.values():
        for key, value in row.items():
            total[key] += value
    flags = [flag for values in observed.values() for flag in values]
    rows.append(_make("total", total, _overall([r.real_infrastructure for r in rows], flags)))
    return tuple(rows)


def _make(category: str, row: dict[str, int], infra: str) -> Tally:
    fields = {f.name for f in dataclasses.fields(Tally)} - {"category", "real_infrastructure"}
    return Tally(category=category, real_infrastructure=infra, **{k: v for k, v in row.items() if k in fields})


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
