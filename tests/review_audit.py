"""A hand-built Audit mirroring the sprint review: 43 tests, 7 smoke run, 6 passed, one on 501.

Used by the status engineer's unit tests (score, render, gate, history) so they do not depend on
running the pipeline; tests/test_status_integration.py checks the same numbers on the real
pipeline over tests/fixtures/review.
"""

from __future__ import annotations

from pathlib import Path

from auditor.config import AuditConfig, DeliverableConfig, SprintConfig
from auditor.model import (
    Audit,
    Finding,
    HttpExchange,
    Marker,
    Observation,
    Outcome,
    SuiteResult,
    Tally,
    TestCase,
)

SMOKE_FILE = "tests/smoke/test_basic_inference.py"
#: The review's weak smoke test, as its fixture project has it (the one place that weak line is written).
REVIEW_SMOKE_SOURCE = Path(__file__).resolve().parent / "fixtures" / "review" / SMOKE_FILE
ACCEPTS_501 = f"{SMOKE_FILE}::test_messages_endpoint"
#: Why the review's one failing smoke test fails (its server answers JSON where a stream was asked for).
STREAMING_FAILURE = "AssertionError: assert 'application/json' == 'text/event-stream'"

SMOKE_NAMES = (
    "test_server_starts",
    "test_health",
    "test_models_listed",
    "test_messages_endpoint",
    "test_cors_headers",
    "test_graceful_shutdown",
    "test_streaming_headers",
)


def _cases(category: str, path: str, count: int, prefix: str) -> list[TestCase]:
    return [
        TestCase(
            id=f"{path}::{prefix}_{i:02d}",
            path=path,
            name=f"{prefix}_{i:02d}",
            line=10 + 8 * i,
            category=category,
            markers=(Marker(name="benchmark"),) if category == "benchmarks" else (),
            fixtures=("live_server",),
        )
        for i in range(1, count + 1)
    ]


def _accepting_assertion() -> str:
    """The fixture's assertion that lets 501 pass, quoted as the finding's evidence."""
    lines = REVIEW_SMOKE_SOURCE.read_text(encoding="utf-8").splitlines()
    return next(line.strip() for line in lines if "501" in line and line.strip().startswith("assert "))


def _http(status: int) -> HttpExchange:
    return HttpExchange(method="POST", host_class="loopback", host="127.0.0.1:8080", path="/v1/messages", status=status, duration=0.01, bytes=120)


def review_cases() -> tuple[TestCase, ...]:
    """The 43 defined tests."""
    smoke = [
        TestCase(id=f"{SMOKE_FILE}::{name}", path=SMOKE_FILE, name=name, line=12 + 10 * i, category="smoke", fixtures=("live_server",))
        for i, name in enumerate(SMOKE_NAMES)
    ]
    return tuple(
        smoke
        + _cases("e2e", "tests/e2e/test_flows.py", 12, "test_flow")
        + _cases("stress", "tests/stress/test_load.py", 12, "test_load")
        + _cases("benchmarks", "tests/benchmarks/test_perf.py", 12, "test_bench")
    )


def review_audit(*, with_scores: bool = False) -> Audit:
    """The review as an Audit, before scoring (``score.score_audit`` fills scores/completion)."""
    cases = review_cases()
    smoke_outcomes = []
    for case in cases[:7]:
        if case.name == "test_messages_endpoint":
            obs = Observation(http=(_http(501),), assertions=1, sockets_loopback=1)
            status = "passed"
        elif case.name == "test_streaming_headers":
            obs = Observation(http=(_http(200),), assertions=1, sockets_loopback=1)
            status = "failed"
        else:
            obs = Observation(http=(_http(200),), assertions=2, sockets_loopback=1)
            status = "passed"
        why = {}
        if status == "failed":  # as the real run of tests/fixtures/review records it: the assertion, and two re-runs
            why = {"reason": STREAMING_FAILURE, "reruns": ("failed", "failed"),
                   "details": f"E       {STREAMING_FAILURE}\n\n{SMOKE_FILE}:32: AssertionError"}
        smoke_outcomes.append(Outcome(node_id=case.id, case_id=case.id, status=status, suite="smoke", duration=1.5,
                                      observation=obs, **why))
    not_run = [
        Outcome(node_id=case.id, case_id=case.id, status="not_run", suite="(not run)", reason="not_in_suite")
        for case in cases[7:]
    ]
    suites = (
        SuiteResult(name="smoke", category="smoke", paths=("tests/smoke",), status="failed", exit_code=1, duration=12.0, collected=7, outcomes=tuple(smoke_outcomes)),
        SuiteResult(name="(not run)", category="other", paths=(), status="not_run", outcomes=tuple(not_run)),
    )
    findings = (
        Finding(
            rule="AUD101",
            slug="error-status-accepted",
            severity="high",
            message="assertion accepts 501 (an error status) as success",
            path=SMOKE_FILE,
            line=42,
            test_id=ACCEPTS_501,
            evidence=(_accepting_assertion(),),
        ),
        Finding(
            rule="AUD201",
            slug="passed-on-5xx",
            severity="high",
            message="passed while the server answered 501",
            path=SMOKE_FILE,
            line=42,
            test_id=ACCEPTS_501,
            origin="runtime",
            evidence=("POST /v1/messages -> 501",),
        ),
        Finding(
            rule="AUD105",
            slug="sleep-wait",
            severity="medium",
            message="waits with time.sleep instead of polling with a deadline",
            path="tests/stress/test_load.py",
            line=18,
            test_id="tests/stress/test_load.py::test_load_01",
        ),
    )
    tallies = (
        Tally(category="smoke", created=7, collectable=7, collected=7, run=7, passed=6, failed=1, static=7, real_infrastructure="yes"),
        Tally(category="e2e", created=12, collectable=12, not_run=12, static=12, never_reached=12),
        Tally(category="stress", created=12, collectable=12, not_run=12, static=12, never_reached=12),
        Tally(category="benchmarks", created=12, collectable=12, not_run=12, static=12, never_reached=12),
        Tally(category="total", created=43, collectable=43, collected=7, run=7, passed=6, failed=1, not_run=36, static=43, never_reached=36, real_infrastructure="partial"),
    )
    audit = Audit(
        root="/project",
        created="2026-01-25T12:00:00Z",
        version="0.1.0",
        project="review",
        cases=cases,
        findings=findings,
        suites=suites,
        tallies=tallies,
        environment={"python": "3.11"},
    )
    if with_scores:
        from auditor.status.score import score_audit

        audit = score_audit(audit, review_config())
    return audit


def review_config(root: str = "/project") -> AuditConfig:
    """The configuration the review project would have: a sprint claiming 78% after 10 of 28 hours."""
    from pathlib import Path

    sprint = SprintConfig(
        planned_days=3.5,
        days_spent=0.42,
        claimed_completion=78,
        deliverables=(
            DeliverableConfig(name="Server starts with the real model", proof=(f"{SMOKE_FILE}::test_server_starts",)),
            DeliverableConfig(name="Health check", proof=(f"{SMOKE_FILE}::test_health",)),
            DeliverableConfig(name="CORS", proof=(f"{SMOKE_FILE}::test_cors_headers",)),
            DeliverableConfig(name="Graceful shutdown", proof=(f"{SMOKE_FILE}::test_graceful_shutdown",)),
            DeliverableConfig(name="Inference answers", proof=(ACCEPTS_501,)),
            DeliverableConfig(name="OpenAI streaming", proof=(f"{SMOKE_FILE}::test_streaming_headers",)),
            DeliverableConfig(name="End-to-end validation", proof=("tests/e2e",)),
            DeliverableConfig(name="Stress tested", proof=("tests/stress",)),
            DeliverableConfig(name="Performance documented", proof=("benchmark",)),
        ),
    )
    return AuditConfig(root=Path(root), real_infrastructure=("e2e", "stress", "smoke"), sprint=sprint)
