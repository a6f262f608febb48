"""Per-test evidence read from an audit: what each test did, and what is wrong with it.

Scoring, the gate and every renderer ask the same questions of an :class:`~auditor.model.Audit`
("did it run?", "did it pass while the server said 501?", "is it weak?"); they are answered
once here so that the numbers in the matrix, the red flags and the gate always agree.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.collect.packages import own_clients
from auditor.collect.rules.runtime import unasked_5xx
from auditor.model import STATUS_PRECEDENCE, Audit, Finding, Outcome, TestCase

#: Statuses that mean the test's body executed (``crashed`` and ``hung``: it started and never finished).
RAN = frozenset({"passed", "failed", "error", "xfailed", "xpassed", "crashed", "hung"})

#: Statuses of a test that ran and did not pass (an xpass is judged apart: it passed against expectations).
BROKEN = frozenset({"failed", "error", "crashed", "hung"})

#: Points a finding of each severity weighs when counting weak tests.
SEVERITY_WEIGHT = {"high": 1.0, "medium": 0.5, "low": 0.2}


def base_id(node_id: str) -> str:
    """The test-case id of a node id: ``path::name[param]`` -> ``path::name``."""
    return node_id.split("[", 1)[0]


@dataclass(frozen=True)
class TestEvidence:
    """Everything the audit knows about one test instance (one node id)."""

    __test__ = False  # keep pytest from collecting this class

    node_id: str
    case_id: str
    category: str
    status: str
    reason: str | None
    findings: tuple[Finding, ...]
    #: HTTP statuses the test received, in order (empty when unobserved or no HTTP).
    statuses_seen: tuple[int, ...]
    observed: bool
    #: Why the test is vacuous (could not fail), or ``None``.
    vacuous: str | None
    outcome: Outcome | None
    #: Rules whose finding on this instance a suppression silenced: the verdicts saying the same are excused.
    excused: frozenset[str] = field(default=frozenset())
    #: The 5xx statuses it received that it did not ask for (see ``unasked_5xx`` in the runtime rules).
    server_errors: tuple[int, ...] = ()

    @property
    def ran(self) -> bool:
        """True when the test body executed."""
        return self.status in RAN

    @property
    def passed_on_5xx(self) -> tuple[int, ...]:
        """The 5xx statuses a *passing* test received (a pass that proves nothing)."""
        if self.status != "passed" or "AUD201" in self.excused:  # AUD201 says it, and was suppressed with a reason
            return ()
        return self.server_errors

    @property
    def flaky(self) -> bool:
        """Failed or errored first, then passed on a re-run (its status stays the first attempt's)."""
        return self.outcome is not None and self.outcome.flaky and self.status in BROKEN

    @property
    def details(self) -> str | None:
        """The bounded traceback, output or stack excerpt behind :attr:`reason`, if any."""
        return self.outcome.details if self.outcome is not None else None

    @property
    def worst_severity(self) -> str | None:
        """The most severe finding on this test, or ``None``."""
        for level in ("high", "medium", "low"):
            if any(f.severity == level for f in self.findings):
                return level
        return None

    @property
    def weak(self) -> bool:
        """A HIGH or MEDIUM finding, or a pass on a 5xx: a pass here is not evidence."""
        return self.worst_severity in ("high", "medium") or bool(self.passed_on_5xx)

    @property
    def valid_pass(self) -> bool:
        """Passed, and neither weak nor vacuous (the only kind of pass that counts as done)."""
        return self.status == "passed" and not self.weak and self.vacuous is None


def vacuous_reason(outcome: Outcome, has_checks: bool = True) -> str | None:
    """Why a passing test provably could not have failed, or ``None``.

    Proof is either the plugin's count of zero executed assertions (and no ``pytest.raises``),
    or sabotage probes that all survived. An unobserved test is never called vacuous.
    """
    if outcome.status != "passed":
        return None
    judged = [p for p in outcome.probes if p.judged]
    killed = any(p.result == "killed" for p in outcome.probes)
    if judged and not killed and all(p.result == "survived" for p in judged):
        return f"survived every applicable sabotage probe ({', '.join(p.mode for p in judged)})"
    obs = outcome.observation
    # Zero checks reached proves nothing could fail only where the body has checks that were skipped (a loop
    # over nothing, a branch never taken); a body without any is a smoke test that fails by raising (AUD107).
    if obs is not None and obs.assertions == 0 and obs.raises_blocks == 0 and has_checks:
        return "executed no assertions"
    return None


def all_outcomes(audit: Audit) -> tuple[Outcome, ...]:
    """One outcome per node id across every suite, chosen by :data:`STATUS_PRECEDENCE`."""
    rank = {status: index for index, status in enumerate(STATUS_PRECEDENCE)}
    best: dict[str, Outcome] = {}
    for suite in audit.suites:
        for outcome in suite.outcomes:
            kept = best.get(outcome.node_id)
            if kept is None or rank.get(outcome.status, 99) < rank.get(kept.status, 99):
                best[outcome.node_id] = outcome
    return tuple(best.values())


def findings_by_case(findings: Iterable[Finding]) -> dict[str, tuple[Finding, ...]]:
    """Findings grouped by the test case they are about (findings without a test are left out)."""
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.test_id:
            grouped[base_id(finding.test_id)].append(finding)
    return {key: tuple(value) for key, value in grouped.items()}


def collect_evidence(audit: Audit) -> tuple[TestEvidence, ...]:
    """Evidence for every test instance: every outcome, plus defined tests with no outcome at all.

    A defined test that no suite reported is "not_run" with reason ``no_outcome``: an audit
    whose run stage was skipped must not make tests look as if they ran.
    """
    cases = {case.id: case for case in audit.cases}
    suite_category = {}
    for suite in audit.suites:
        for outcome in suite.outcomes:
            suite_category[outcome.node_id] = suite.category
    by_case = findings_by_case(audit.findings)
    # an audit written before own clients were recorded: what the root holds now
    own = frozenset(audit.own_clients) if audit.own_clients is not None else own_clients(audit.root)
    excused: dict[str, set[str]] = defaultdict(set)
    for silenced in audit.suppressed:
        excused[silenced.test_id or ""].add(silenced.rule)
    evidence = []
    seen_cases: set[str] = set()
    for outcome in all_outcomes(audit):
        case_id = outcome.case_id or base_id(outcome.node_id)
        seen_cases.add(case_id)
        case = cases.get(case_id)
        category = case.category if case else suite_category.get(outcome.node_id, "other")
        statuses = tuple(x.status for x in outcome.observation.http if x.status is not None) if outcome.observation else ()
        evidence.append(
            TestEvidence(
                node_id=outcome.node_id,
                case_id=case_id,
                category=category,
                status=outcome.status,
                reason=outcome.reason,
                findings=_node_findings(by_case.get(case_id, ()), outcome.node_id),
                statuses_seen=statuses,
                observed=outcome.observation is not None,
                vacuous=_vacuous(outcome, excused.get(outcome.node_id, set()), case.has_checks if case else True),
                outcome=outcome,
                excused=frozenset(excused.get(outcome.node_id, ())),
                server_errors=unasked_5xx(outcome, case.claims if case else (), own),
            )
        )
    for case in audit.cases:
        if case.id not in seen_cases:
            evidence.append(_unreported(case, by_case.get(case.id, ())))
    return tuple(evidence)


def _vacuous(outcome: Outcome, excused: set[str], has_checks: bool = True) -> str | None:
    """:func:`vacuous_reason`, without the proof whose finding a suppression silenced (AUD301 probes, AUD202 count)."""
    if "AUD301" in excused:
        outcome = dataclasses.replace(outcome, probes=())
    if "AUD202" in excused:
        outcome = dataclasses.replace(outcome, observation=None)
    return vacuous_reason(outcome, has_checks)


def _node_findings(findings: tuple[Finding, ...], node_id: str) -> tuple[Finding, ...]:
    # A finding on one parametrized instance (runtime) applies to that instance only;
    # a finding on the definition (static) applies to every instance.
    return tuple(f for f in findings if f.test_id in (None, node_id) or "[" not in (f.test_id or ""))


def _unreported(case: TestCase, findings: tuple[Finding, ...]) -> TestEvidence:
    return TestEvidence(
        node_id=case.id,
        case_id=case.id,
        category=case.category,
        status="not_run",
        reason=case.not_collectable_reason or "no_outcome",
        findings=findings,
        statuses_seen=(),
        observed=False,
        vacuous=None,
        outcome=None,
    )


def matches(pattern: str, item: TestEvidence, markers: dict[str, frozenset[str]]) -> bool:
    """Whether a deliverable proof ``pattern`` (test id, glob or marker name) selects ``item``.

    Globs (``*?[``) match node ids and paths; anything with ``::`` or ``/`` or ending in ``.py``
    is a node-id prefix; a bare word is a marker name, else a category name.
    """
    path = item.node_id.split("::", 1)[0]
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatch(item.node_id, pattern) or fnmatch.fnmatch(path, pattern)
    if "::" in pattern:
        return item.case_id == pattern or item.node_id == pattern or item.node_id.startswith((pattern + "::", pattern + "["))
    if "/" in pattern or pattern.endswith(".py"):
        return path == pattern or path.startswith(pattern.rstrip("/") + "/")
    return pattern in markers.get(item.case_id, frozenset()) or item.category == pattern


def marker_index(audit: Audit) -> dict[str, frozenset[str]]:
    """Marker names of every defined test case, by case id."""
    return {case.id: frozenset(m.name for m in case.markers) for case in audit.cases}
