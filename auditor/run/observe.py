"""Observe: turn pytest's reports into Outcomes, account for every defined test, and count honestly."""

from __future__ import annotations

import ast
import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from auditor.model import Observation, Outcome, SuiteResult, TestCase
from auditor.run.skips import skip_kind
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
        reason, kind = None, None
        if status == "skipped":
            reason = _skip_reason(test)
            kind = skip_kind(reason, cases.get(case_id_of(node_id)))
        elif status in ("xfailed", "xpassed"):
            reason = test.get("call", {}).get("xfail_reason") or None
        details = None
        if status in ("failed", "error"):
            reason, details = _failure(test)
        metadata = (test.get("metadata") or {}).get("auditor")
        observation = from_dict(Observation, metadata) if isinstance(metadata, dict) else None
        duration = sum(float(test.get(stage, {}).get("duration", 0.0)) for stage in ("setup", "call", "teardown"))
        outcomes.append(Outcome(node_id=node_id, case_id=case_id_of(node_id), status=status, suite=suite, reason=reason,
                                skip_kind=kind, duration=duration, observation=observation, details=details))
    return (*outcomes, *_collection_outcomes(report, suite, cases, {o.node_id for o in outcomes}))


def _collection_outcomes(report: dict[str, Any], suite: str, cases: dict[str, TestCase],
                         seen: set[str]) -> list[Outcome]:
    """What pytest decided at collection: deselected items, and the tests of files skipped as a whole.

    A module that calls ``pytest.importorskip`` or ``pytest.skip(allow_module_level=True)`` yields no items:
    its tests (counted as the scan counts them) are skipped with the collector's reason.
    """
    found = []
    for collector in report.get("collectors", []):
        for child in collector.get("result", []):
            node_id = child.get("nodeid", "")
            if child.get("deselected") and node_id not in seen:
                seen.add(node_id)
                found.append(Outcome(node_id=node_id, case_id=case_id_of(node_id), status="not_run", suite=suite,
                                     reason="deselected"))
        if collector.get("outcome") != "skipped" or not collector.get("nodeid"):
            continue
        reason = _longrepr_reason(collector.get("longrepr"))
        prefix = collector["nodeid"]
        for case in cases.values():
            if not in_collector(case, prefix):
                continue
            for node_id in static_node_ids(case):
                if node_id not in seen:
                    seen.add(node_id)
                    found.append(Outcome(node_id=node_id, case_id=case.id, status="skipped", suite=suite,
                                         reason=reason, skip_kind=skip_kind(reason, case)))
    return found


def in_collector(case: TestCase, prefix: str) -> bool:
    """Whether ``case`` is inside the collector (file, folder, class) whose node id is ``prefix``."""
    return case.id.startswith(prefix + "::") or case.path == prefix or case.path.startswith(prefix + "/")


def static_node_ids(case: TestCase) -> list[str]:
    """Node ids of a test pytest never collected, as the scan counts its instances (``name[0]``, ``name[1]``...)."""
    count = case.params if case.params is not None else 1
    return [case.id if count <= 1 else f"{case.id}[{index}]" for index in range(max(count, 1))]


def collection_errors(report: dict[str, Any]) -> tuple[str, ...]:
    """Collector node ids (files, folders) pytest could not import, from a pytest-json-report report."""
    return tuple(c["nodeid"] for c in report.get("collectors", []) if c.get("outcome") == "failed" and c.get("nodeid"))


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
            kind = skip_kind(record.get("reason"), cases.get(case_id_of(node_id))) if status == "skipped" else None
            finished[node_id] = Outcome(
                node_id=node_id, case_id=case_id_of(node_id), status=status, suite=suite, reason=record.get("reason"),
                skip_kind=kind, duration=float(record.get("duration", 0.0)), details=record.get("details"),
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
    return _longrepr_reason(test.get("setup", {}).get("longrepr") or test.get("call", {}).get("longrepr"))


def _longrepr_reason(longrepr: Any) -> str | None:
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

    A test pytest collected in a suite that ran to its end, or whose collection the runner saw finish (it gives
    every collected test an outcome, ``not_run`` with a reason included, however the suite ended), has exactly
    the instances pytest made of it (selected or deselected). Any other test counts as the scan counts it (1 where
    its params cannot be read), less the instances some suite did report. ``inventory`` is an
    :class:`~auditor.collect.inventory.Inventory` or a sequence of test cases.
    """
    cases: Sequence[TestCase] = getattr(inventory, "cases", inventory)
    seen: dict[str, set[str]] = defaultdict(set)
    complete: set[str] = set()
    missing = []
    for suite in suites:
        finished = suite.source == "run" and (suite.status in ("completed", "failed", "no_tests") or suite.collected > 0)
        for outcome in suite.outcomes:
            seen[outcome.case_id].add(outcome.node_id)
            if finished:
                complete.add(outcome.case_id)
    reported = {node for ids in seen.values() for node in ids}
    for suite in suites:  # what pytest deselected, or an option such as --lf dropped, that no report holds: exactly
        for node in suite.deselected_ids:
            if "::" in node and node not in reported:
                reported.add(node)
                seen[case_id_of(node)].add(node)
                if suite.source == "run" and suite.collected > 0:
                    complete.add(case_id_of(node))
                missing.append(Outcome(node_id=node, case_id=case_id_of(node), status="not_run", suite=None,
                                       reason="deselected"))
    deselected = {s.name: s.deselected_ids for s in suites if s.deselected_ids}
    for case in cases:
        expected = case.params if case.params is not None else 1
        have = len(seen.get(case.id, ()))
        if case.id in complete or have >= max(expected, 1) or (have and case.params is None):
            continue
        reason = _not_run_reason(case, suites, deselected)
        for index in range(have, max(expected, 1)):
            node_id = case.id if expected <= 1 else f"{case.id}[{index}]"
            missing.append(Outcome(node_id=node_id, case_id=case.id, status="not_run", suite=None, reason=reason))
    if not missing:
        return tuple(suites)
    return (*suites, SuiteResult(name=NOT_RUN_SUITE, category="other", paths=(), status="not_run", outcomes=tuple(missing)))


def _not_run_reason(case: TestCase, suites: Sequence[SuiteResult], deselected: dict[str, tuple[str, ...]]) -> str:
    if not case.collectable:
        return "uncollectable"
    covering = [s for s in suites if any(case.path == p or case.path.startswith(p.rstrip("/") + "/") for p in s.paths)]
    if covering and all(suite.status == "not_run" for suite in covering):
        return "suite_not_run"
    for suite in covering:
        if any(case.path == f or case.path.startswith(f.rstrip("/") + "/") for f in suite.collection_errors):
            return "collection_error"
    for suite in covering:
        if suite.status in ("interrupted", "timed_out", "crashed"):
            return suite.status
        if suite.status == "error":  # pytest stopped on another file's import error, or never collected
            return "not_reached" if suite.collection_errors else "collection_error"
    if any(case.id == case_id_of(node) or in_collector(case, node) for suite in covering
           for node in deselected.get(suite.name, ())):
        return "deselected"  # a whole file --lf skipped, or instances the scan counts beyond those pytest deselected
    if covering:
        return "not_collected"  # its suite ran to the end: pytest neither collected nor deselected it
    if suites and all(s.source == "results" for s in suites):
        return "suite_not_run"  # results were imported: we cannot know which suite would have run it
    return "not_in_suite"
