"""Quality scores, realistic completion and red flags, on the review audit and small hand-built ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from review_audit import ACCEPTS_501, review_audit, review_config

from auditor.config import AuditConfig, DeliverableConfig, SprintConfig
from auditor.model import Audit, Finding, Marker, Observation, Outcome, ProbeResult, SuiteResult, Tally, TestCase
from auditor.status.score import score_audit


def tiny_audit(outcomes: list[Outcome], *, category: str = "e2e", findings: tuple[Finding, ...] = (), infra: str = "yes", markers: tuple[Marker, ...] = ()) -> Audit:
    """One category of tests, one outcome each, with tallies computed by hand from ``outcomes``."""
    cases = tuple(TestCase(id=o.case_id, path="tests/test_x.py", name=o.case_id.split("::")[1], line=3, category=category, markers=markers) for o in outcomes)
    ran = [o for o in outcomes if o.status in ("passed", "failed", "error", "xfailed", "xpassed")]
    passed = sum(o.status == "passed" for o in outcomes)
    tallies = tuple(
        Tally(category=name, created=len(outcomes), collectable=len(outcomes), run=len(ran), passed=passed, not_run=len(outcomes) - len(ran), real_infrastructure=infra)
        for name in (category, "total")
    )
    suite = SuiteResult(name=category, category=category, paths=("tests",), status="completed", outcomes=tuple(outcomes))
    return Audit(root="/p", created="2026-01-01T00:00:00Z", version="0.1.0", cases=cases, findings=findings, suites=(suite,), tallies=tallies)


def passed(name: str, *, assertions: int = 2, statuses: tuple[int, ...] = (200,), probes: tuple[ProbeResult, ...] = (), observed: bool = True, files: int = 0) -> Outcome:
    from auditor.model import HttpExchange

    http = tuple(HttpExchange("GET", "loopback", "127.0.0.1:1", "/", s, 0.01, 10) for s in statuses)
    obs = Observation(http=http, assertions=assertions, files_written=files) if observed else None
    return Outcome(node_id=f"tests/test_x.py::{name}", case_id=f"tests/test_x.py::{name}", status="passed", observation=obs, probes=probes)


def not_run(name: str) -> Outcome:
    return Outcome(node_id=f"tests/test_x.py::{name}", case_id=f"tests/test_x.py::{name}", status="not_run", reason="not_in_suite")


CONFIG = AuditConfig(root=Path("/p"))


def test_review_scores_match_the_review_shape() -> None:
    audit = review_audit(with_scores=True)
    scores = {s.category: s for s in audit.scores}
    assert [s.category for s in audit.scores] == ["smoke", "e2e", "stress", "benchmarks", "total"]
    assert scores["smoke"].value == 7.1
    assert scores["e2e"].value is None and scores["stress"].value is None and scores["benchmarks"].value is None
    assert scores["total"].value == 4.1  # the review said 4/10
    assert [d.reason for d in scores["e2e"].deductions] == ["12 of 12 tests never ran"]
    assert sum(d.points for d in scores["smoke"].deductions) == pytest.approx(10 - 7.1, abs=0.05)


def test_review_completion_is_far_below_the_claim() -> None:
    completion = review_audit(with_scores=True).completion
    assert completion is not None
    assert completion.claimed == 78
    assert completion.value == 34.5
    assert (completion.low, completion.high) == (17.7, 34.5)
    dims = {d.name: d for d in completion.dimensions}
    assert dims["execution"].value == round(7 / 43, 4)
    assert dims["validation"].value == round(5 / 43, 4)  # the 501 test does not count as validated
    assert dims["performance"].value == 0.0
    assert dims["deliverables"].value == round(4 / 9, 4)
    done = {d.name: d.done for d in completion.deliverables}
    assert done["Health check"] is True
    assert done["Inference answers"] is False
    assert done["Performance documented"] is False


def test_review_red_flags_name_the_claim_the_speed_and_the_501_test() -> None:
    flags = review_audit(with_scores=True).completion.red_flags
    assert flags[0] == "Claimed 78% complete, but the evidence supports 34.5% (17.7-34.5%): 44 points above the evidence."
    assert flags[1] == "Done 8.3x faster than planned (0.42 of 3.5 days) while 84% of tests never ran."
    assert f"{ACCEPTS_501} passes while the server answers 501." in flags
    assert "benchmarks: none of its 12 tests ran (no performance was measured)." in flags
    assert "e2e: none of its 12 tests ran (the suite was never run)." in flags


def test_a_sound_fully_run_category_scores_ten() -> None:
    audit = score_audit(tiny_audit([passed("test_a"), passed("test_b")]), CONFIG)
    assert [(s.category, s.value, s.deductions) for s in audit.scores] == [("e2e", 10.0, ()), ("total", 10.0, ())]
    assert audit.completion.red_flags == ()


def test_vacuous_and_5xx_passes_cost_points_and_validation() -> None:
    audit = score_audit(tiny_audit([passed("test_ok"), passed("test_empty", assertions=0), passed("test_503", statuses=(503,))]), CONFIG)
    score = audit.scores[0]
    reasons = [d.reason for d in score.deductions]
    assert reasons == [
        "2 of 3 tests are weak (findings, 5xx passes, vacuous)",
        "2 test(s) with a HIGH finding or a pass on 5xx: a pass here cannot be trusted",
    ]
    assert score.value == 6.0
    validation = next(d for d in audit.completion.dimensions if d.name == "validation")
    assert validation.value == round(1 / 3, 4)


def test_kill_rate_comes_from_probes_and_all_survived_means_vacuous() -> None:
    probes = (ProbeResult("not-implemented", "survived"), ProbeResult("empty", "killed"))
    all_survived = (ProbeResult("not-implemented", "survived"), ProbeResult("empty", "survived"), ProbeResult("slow", "error"))
    audit = score_audit(tiny_audit([passed("test_a", probes=probes), passed("test_b", probes=all_survived)]), CONFIG)
    score = audit.scores[0]
    assert score.kill_rate == 0.25  # 1 killed of 4 judged; the probe error is not judged
    assert "tests survived 75% of sabotage probes" in [d.reason for d in score.deductions]


def test_unobserved_passes_widen_the_interval_downwards() -> None:
    audit = score_audit(tiny_audit([passed("test_a", observed=False), passed("test_b")]), CONFIG)
    validation = next(d for d in audit.completion.dimensions if d.name == "validation")
    assert (validation.low, validation.value, validation.high) == (0.5, 1.0, 1.0)
    assert audit.completion.low < audit.completion.value


def test_infrastructure_not_proven_for_tests_that_never_ran() -> None:
    audit = score_audit(tiny_audit([passed("test_a"), not_run("test_b"), not_run("test_c"), not_run("test_d")]), CONFIG)
    infra = next(d for d in audit.completion.dimensions if d.name == "infrastructure")
    assert (infra.low, infra.value) == (0.25, 1.0)
    assert audit.scores[0].deductions[0].reason == "3 of 4 tests never ran"
    assert audit.scores[0].deductions[0].points == 3.0


def test_missing_real_infrastructure_costs_points_only_where_required() -> None:
    required = dataclasses.replace(CONFIG, real_infrastructure=("e2e",))
    fake = score_audit(tiny_audit([passed("test_a")], infra="no"), required)
    assert fake.scores[0].value == 8.0
    unit = score_audit(tiny_audit([passed("test_a")], category="unit", infra="no"), required)
    assert unit.scores[0].value == 10.0


def test_benchmarks_that_wrote_nothing_are_flagged_and_not_measured() -> None:
    audit = score_audit(
        tiny_audit([passed("test_fast", files=1), passed("test_silent", files=0)], category="benchmarks", infra="n/a"),
        CONFIG,
    )
    perf = next(d for d in audit.completion.dimensions if d.name == "performance")
    assert (perf.low, perf.value, perf.high) == (0.5, 0.5, 1.0)
    assert "1 of 2 benchmarks ran but recorded nothing (no file written)." in audit.completion.red_flags


@pytest.mark.parametrize(
    ("proof", "done"),
    [
        ("tests/test_x.py::test_a", True),
        ("tests/test_x.py::test_b", False),
        ("tests/test_x.py", False),
        ("tests/*::test_a*", True),
        ("slow", True),
        ("nothing_matches", False),
    ],
)
def test_deliverable_proofs_by_id_path_glob_and_marker(proof: str, done: bool) -> None:
    sprint = SprintConfig(claimed_completion=50, deliverables=(DeliverableConfig(name="D", proof=(proof,)),))
    audit = tiny_audit([passed("test_a"), not_run("test_b")], markers=())
    audit = dataclasses.replace(audit, cases=(dataclasses.replace(audit.cases[0], markers=(Marker("slow"),)), audit.cases[1]))
    result = score_audit(audit, dataclasses.replace(CONFIG, sprint=sprint))
    assert result.completion.deliverables[0].done is done


def test_a_weak_finding_keeps_a_deliverable_open() -> None:
    finding = Finding("AUD101", "error-status-accepted", "high", "accepts 501", "tests/test_x.py", 4, test_id="tests/test_x.py::test_a")
    sprint = SprintConfig(deliverables=(DeliverableConfig(name="D", proof=("tests/test_x.py::test_a",)),))
    result = score_audit(tiny_audit([passed("test_a")], findings=(finding,)), dataclasses.replace(CONFIG, sprint=sprint))
    assert result.completion.deliverables[0].missing == ("tests/test_x.py::test_a: 1 passing test(s) are weak or vacuous (tests/test_x.py::test_a)",)


def test_weights_come_from_config() -> None:
    only_execution = {"infrastructure": 0.0, "execution": 1.0, "validation": 0.0, "performance": 0.0, "deliverables": 0.0}
    audit = score_audit(review_audit(), dataclasses.replace(review_config(), status_weights=only_execution))
    assert audit.completion.value == round(100 * 7 / 43, 1)


def test_an_audit_without_tests_supports_no_completion() -> None:
    audit = score_audit(Audit(root="/p", created="2026-01-01T00:00:00Z", version="0.1.0"), CONFIG)
    assert audit.scores == ()
    assert (audit.completion.value, audit.completion.low, audit.completion.high) == (0.0, 0.0, 0.0)
    assert audit.completion.red_flags == ("No tests were found: nothing supports any completion claim.",)
