"""auditor.run.observe: outcomes from reports and streams, reconciliation with the inventory, honest tallies."""

from __future__ import annotations

from pathlib import Path

from auditor.config import AuditConfig
from auditor.model import (
    HttpExchange,
    Marker,
    Observation,
    Outcome,
    SuiteResult,
    TestCase,
)
from auditor.run.observe import (
    NOT_RUN_SUITE,
    merge_outcomes,
    outcomes_from_report,
    outcomes_from_stream,
    reconcile,
)
from auditor.run.funnel import tally

CONFIG = AuditConfig(root=Path("."))
LIVE = Observation(http=(HttpExchange("GET", "loopback", "127.0.0.1", "/ok", 200, 0.01, 10),), assertions=1)
IN_PROCESS = Observation(http=(HttpExchange("GET", "in-process", "testserver", "/ok", 200, 0.01, 10),),
                         mocks=("in-process transport",), assertions=1)


def _case(path: str, name: str, category: str, **kwargs) -> TestCase:
    return TestCase(id=f"{path}::{name}", path=path, name=name, line=1, category=category, **kwargs)


CASES = (
    _case("tests/smoke/test_s.py", "test_a", "smoke"),
    _case("tests/smoke/test_s.py", "test_b", "smoke", params=3),
    _case("tests/smoke/test_s.py", "test_skip", "smoke", markers=(Marker("skip", reason="later", unconditional=True),)),
    _case("tests/e2e/test_e.py", "test_flow", "e2e"),
    _case("tests/e2e/test_e.py", "test_other", "e2e"),
    _case("tests/e2e/test_bad.py", "test_broken", "e2e", collectable=False, not_collectable_reason="not a test file"),
    _case("tests/stress/test_l.py", "test_load", "stress", params=2),
)


def _outcome(node_id: str, status: str, observation: Observation | None = LIVE, **kwargs) -> Outcome:
    return Outcome(node_id=node_id, case_id=node_id.split("[")[0], status=status, observation=observation, **kwargs)


SMOKE = SuiteResult(name="smoke", category="smoke", paths=("tests/smoke",), status="failed", outcomes=(
    _outcome("tests/smoke/test_s.py::test_a", "passed"),
    _outcome("tests/smoke/test_s.py::test_b[1]", "passed"),
    _outcome("tests/smoke/test_s.py::test_b[2]", "failed"),
    _outcome("tests/smoke/test_s.py::test_b[3]", "passed"),
    _outcome("tests/smoke/test_s.py::test_skip", "skipped", skip_kind="unconditional"),
))
E2E = SuiteResult(name="e2e", category="e2e", paths=("tests/e2e",), status="timed_out", outcomes=(
    _outcome("tests/e2e/test_e.py::test_flow", "passed", IN_PROCESS),
))


def test_reconcile_gives_every_missing_instance_a_reason() -> None:
    suites = reconcile(CASES, (SMOKE, E2E))
    assert suites[:2] == (SMOKE, E2E)
    assert suites[2].name == NOT_RUN_SUITE
    assert {(o.node_id, o.reason) for o in suites[2].outcomes} == {
        ("tests/e2e/test_e.py::test_other", "timed_out"),
        ("tests/e2e/test_bad.py::test_broken", "uncollectable"),
        ("tests/stress/test_l.py::test_load[0]", "not_in_suite"),
        ("tests/stress/test_l.py::test_load[1]", "not_in_suite"),
    }


def test_tally_counts_by_hand() -> None:
    rows = {t.category: t for t in tally(CASES, reconcile(CASES, (SMOKE, E2E)), CONFIG)}
    assert list(rows) == ["smoke", "e2e", "stress", "total"]
    smoke, e2e, stress, total = rows["smoke"], rows["e2e"], rows["stress"], rows["total"]
    # smoke: 1 + 3 params + 1 skipped = 5 created; 4 ran (3 passed, 1 failed); 1 unconditional skip
    assert (smoke.created, smoke.run, smoke.passed, smoke.failed, smoke.skipped, smoke.skipped_unconditional) == (
        5, 4, 3, 1, 1, 1)
    assert smoke.real_infrastructure == "yes"
    # e2e: 3 created (one uncollectable), 1 ran in-process, 2 not run
    assert (e2e.created, e2e.collectable, e2e.run, e2e.passed, e2e.not_run) == (3, 2, 1, 1, 2)
    assert e2e.real_infrastructure == "no"
    assert (stress.created, stress.run, stress.not_run, stress.real_infrastructure) == (2, 0, 2, "not observed")
    assert (total.created, total.run, total.passed, total.not_run) == (10, 5, 4, 4)
    assert total.real_infrastructure == "partial"


def test_outcomes_without_observation_are_not_observed() -> None:
    suite = SuiteResult(name="s", category="smoke", paths=("tests/smoke",), status="completed", source="results",
                        outcomes=(_outcome("tests/smoke/test_s.py::test_a", "passed", None),))
    rows = {t.category: t for t in tally(CASES[:1], (suite,), CONFIG)}
    assert rows["smoke"].real_infrastructure == "not observed"


def test_report_outcomes_read_skip_reasons_and_kinds() -> None:
    report = {"tests": [
        {"nodeid": "tests/smoke/test_s.py::test_skip", "outcome": "skipped",
         "setup": {"duration": 0.001, "longrepr": "('tests/smoke/test_s.py', 3, 'Skipped: later')"}},
        {"nodeid": "tests/smoke/test_s.py::test_a", "outcome": "passed", "setup": {"duration": 0.5},
         "call": {"duration": 1.0}, "teardown": {"duration": 0.25}, "metadata": {"auditor": {"assertions": 4}}},
    ]}
    skip, passed = outcomes_from_report(report, "smoke", {c.id: c for c in CASES})
    assert (skip.status, skip.reason, skip.skip_kind, skip.observation) == ("skipped", "later", "unconditional", None)
    assert (passed.duration, passed.observation.assertions) == (1.75, 4)


def test_stream_outcomes_leave_the_unfinished_test_to_the_runner_and_merge_prefers_the_report_status() -> None:
    records = [
        {"event": "collected", "count": 3},
        {"event": "start", "nodeid": "t.py::test_a"},
        {"event": "finished", "nodeid": "t.py::test_a", "outcome": "passed", "duration": 0.5,
         "observation": {"assertions": 2}},
        {"event": "start", "nodeid": "t.py::test_c"},
        {"event": "finished", "nodeid": "t.py::test_c", "outcome": "failed", "reason": "AssertionError: assert 1 == 2",
         "details": "E   assert 1 == 2"},
        {"event": "start", "nodeid": "t.py::test_b"},
    ]
    streamed = outcomes_from_stream(records, "s", {})
    assert [(o.node_id, o.status, o.reason) for o in streamed] == [
        ("t.py::test_a", "passed", None), ("t.py::test_c", "failed", "AssertionError: assert 1 == 2")]
    reported = (_outcome("t.py::test_a", "failed", None), _outcome("t.py::test_c", "failed", None))
    merged = merge_outcomes(reported, streamed)
    assert [(o.node_id, o.status, o.reason) for o in merged] == [
        ("t.py::test_a", "failed", None), ("t.py::test_c", "failed", "AssertionError: assert 1 == 2")]
    assert merged[0].observation.assertions == 2
    assert merged[1].details == "E   assert 1 == 2"
