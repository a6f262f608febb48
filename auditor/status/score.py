"""Scoring: quality scores per category, realistic completion, and red flags.

The formulas are documented in ``docs/status.md``; every number here can be traced to a
count in the audit, and every point a score loses is a :class:`~auditor.model.Deduction`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from auditor.config import AuditConfig
from auditor.model import (
    Audit,
    Completion,
    Deduction,
    Deliverable,
    Dimension,
    Score,
    Tally,
)
from auditor.status.evidence import (
    SEVERITY_WEIGHT,
    TestEvidence,
    collect_evidence,
    marker_index,
    matches,
)

# Quality score: points each kind of evidence can cost (out of 10).
NEVER_RAN_POINTS = 4.0  # x share of created tests that never ran
NOT_PASSING_POINTS = 3.0  # x share of run tests that did not pass
WEAK_SHARE_POINTS = 3.0  # x severity-weighted share of created tests that are weak
HIGH_FINDING_POINTS = 2.0  # flat: one HIGH finding means a pass in this category cannot be trusted
INFRA_POINTS = {"no": 2.0, "partial": 1.0, "not observed": 0.5}
SURVIVED_POINTS = 2.0  # x share of sabotage probes the tests survived

#: A claim more than this many points above the evidence is a red flag.
CLAIM_TOLERANCE = 15.0
#: "Done N x faster than planned" is suspicious from this ratio on, when tests never ran.
SPEED_RATIO = 2.0
NEVER_RAN_SHARE = 0.10
#: Node ids a red flag names before it says "and N more".
FLAG_EXAMPLES = 5


def score_audit(audit: Audit, config: AuditConfig) -> Audit:
    """Return ``audit`` with :attr:`~Audit.scores` and :attr:`~Audit.completion` filled in.

    Pure: reads only the audit's tallies, outcomes, findings and cases, and ``config``'s
    ``real_infrastructure``, ``status_weights`` and ``sprint``.
    """
    evidence = collect_evidence(audit)
    scores = quality_scores(audit.tallies, evidence, config.real_infrastructure)
    completion = realistic_completion(audit, evidence, config)
    return dataclasses.replace(audit, scores=scores, completion=completion)


# --- quality ---------------------------------------------------------------------------------


def quality_scores(
    tallies: Sequence[Tally], evidence: Sequence[TestEvidence], real_infrastructure: Sequence[str]
) -> tuple[Score, ...]:
    """One :class:`Score` per tally (categories, then ``total``), in the tallies' order."""
    scores = []
    infra_by_category: dict[str, tuple[float, int]] = {}
    for tally in tallies:
        if tally.category == "total":
            continue
        items = [e for e in evidence if e.category == tally.category]
        infra = _infra_points(tally) if tally.category in real_infrastructure else 0.0
        infra_by_category[tally.category] = (infra, tally.created)
        scores.append(_score(tally, items, infra, f"real infrastructure: {tally.real_infrastructure}"))
    total = next((t for t in tallies if t.category == "total"), None)
    if total is not None:
        # The total's infrastructure deduction is the created-weighted mean over categories:
        # "partial" overall must not cost more than the categories it is made of.
        weighted = sum(points * created for points, created in infra_by_category.values())
        created = sum(created for points, created in infra_by_category.values() if points)
        infra = weighted / created if created and weighted else 0.0
        scores.append(_score(total, list(evidence), infra, "real infrastructure missing in some categories"))
    return tuple(scores)


def _infra_points(tally: Tally) -> float:
    if not tally.run:
        return 0.0  # never-run tests already cost their points; do not charge twice
    return INFRA_POINTS.get(tally.real_infrastructure, 0.0)


def _score(tally: Tally, items: Sequence[TestEvidence], infra: float, infra_reason: str) -> Score:
    deductions = []
    if tally.created and tally.created > tally.run:
        never = tally.created - tally.run
        deductions.append(
            Deduction(f"{never} of {tally.created} tests never ran", NEVER_RAN_POINTS * never / tally.created)
        )
    if tally.run and tally.run > tally.passed:
        bad = tally.run - tally.passed
        deductions.append(Deduction(f"{bad} of {tally.run} run tests did not pass", NOT_PASSING_POINTS * bad / tally.run))
    weights = [_weakness(e) for e in items]
    weak = [w for w in weights if w]
    if weak and tally.created:
        share = min(1.0, sum(weak) / tally.created)
        deductions.append(
            Deduction(f"{len(weak)} of {tally.created} tests are weak (findings, 5xx passes, vacuous)", WEAK_SHARE_POINTS * share)
        )
    highs = [e for e in items if _weakness(e) >= 1.0]
    if highs:
        deductions.append(
            Deduction(f"{len(highs)} test(s) with a HIGH finding or a pass on 5xx: a pass here cannot be trusted", HIGH_FINDING_POINTS)
        )
    if infra:
        deductions.append(Deduction(infra_reason, infra))
    kill_rate = _kill_rate(items)
    if kill_rate is not None and kill_rate < 1.0:
        deductions.append(Deduction(f"tests survived {1 - kill_rate:.0%} of sabotage probes", SURVIVED_POINTS * (1 - kill_rate)))
    deductions = [dataclasses.replace(d, points=round(d.points, 2)) for d in deductions if d.points > 0]
    value = None if not tally.run else round(max(0.0, 10.0 - sum(d.points for d in deductions)), 1)
    return Score(category=tally.category, value=value, deductions=tuple(deductions), kill_rate=kill_rate,
                 kill_rates=_kill_rates(items))


def _weakness(item: TestEvidence) -> float:
    """Severity weight of what is wrong with a test (0 when nothing is)."""
    if item.passed_on_5xx or item.vacuous:
        return 1.0
    return SEVERITY_WEIGHT.get(item.worst_severity or "", 0.0)


def _kill_rate(items: Sequence[TestEvidence]) -> float | None:
    judged = [p for e in items if e.outcome for p in e.outcome.probes if p.judged]
    if not judged:
        return None
    return sum(p.result == "killed" for p in judged) / len(judged)


def _kill_rates(items: Sequence[TestEvidence]) -> dict[str, float]:
    counts: dict[str, list[int]] = {}
    for item in items:
        for probe in item.outcome.probes if item.outcome else ():
            if probe.judged:
                cell = counts.setdefault(probe.mode, [0, 0])
                cell[0] += probe.result == "killed"
                cell[1] += 1
    return {mode: round(killed / judged, 4) for mode, (killed, judged) in counts.items()}


# --- completion ------------------------------------------------------------------------------


def realistic_completion(audit: Audit, evidence: Sequence[TestEvidence], config: AuditConfig) -> Completion:
    """Completion from evidence, as a weighted mean of dimensions, with an interval and red flags."""
    weights = config.status_weights
    sprint = config.sprint
    created = len(evidence)
    deliverables = _deliverables(audit, evidence, config)
    dimensions = (
        _infrastructure(evidence, weights.get("infrastructure", 0.0)),
        _ratio_dimension(
            "execution", sum(e.ran for e in evidence), 0, created, weights.get("execution", 0.0), "tests ran"
        ),
        _validation(evidence, weights.get("validation", 0.0)),
        _performance(evidence, weights.get("performance", 0.0)),
        _deliverable_dimension(deliverables, weights.get("deliverables", 0.0)),
    )
    total_weight = sum(d.weight for d in dimensions)

    def combine(attr: str) -> float:
        if not total_weight:
            return 0.0
        return round(100 * sum(getattr(d, attr) * d.weight for d in dimensions) / total_weight, 1)

    completion = Completion(
        value=combine("value"),
        low=combine("low"),
        high=combine("high"),
        claimed=sprint.claimed_completion if sprint else None,
        dimensions=dimensions,
        deliverables=deliverables,
    )
    return dataclasses.replace(completion, red_flags=red_flags(audit, evidence, completion, config))


def _ratio_dimension(name: str, good: int, unknown: int, total: int, weight: float, what: str) -> Dimension:
    """A share of ``total``: unknown items count in the value and the high end, not the low end."""
    if not total:
        return Dimension(name, 0.0, 0.0, 0.0, 0.0, f"nothing to measure: no tests defined ({what})")
    value = (good + unknown) / total
    text = f"{good + unknown} of {total} {what}"
    if unknown:
        text += f" ({unknown} not observed)"
    return Dimension(name, round(value, 4), weight, round(good / total, 4), round(value, 4), text)


def _infrastructure(evidence: Sequence[TestEvidence], weight: float) -> Dimension:
    # Test code that pytest can collect exists (the value); only a test that ran without an
    # error proves that its fixtures work (the low end).
    total = len(evidence)
    collectable = [e for e in evidence if e.reason not in ("uncollectable", "collection_error")]
    proven = sum(e.ran and e.status not in ("error", "crashed", "hung") for e in collectable)
    dim = _ratio_dimension("infrastructure", proven, len(collectable) - proven, total, weight, "tests collectable")
    if total:
        dim = dataclasses.replace(dim, evidence=f"{len(collectable)} of {total} tests collectable; {proven} proved their fixtures work by running")
    return dim


def _validation(evidence: Sequence[TestEvidence], weight: float) -> Dimension:
    proven = sum(e.valid_pass and e.observed for e in evidence)
    unobserved = sum(e.valid_pass and not e.observed for e in evidence)
    dim = _ratio_dimension("validation", proven, unobserved, len(evidence), weight, "tests passed and are neither weak nor vacuous")
    return dim


def _performance(evidence: Sequence[TestEvidence], weight: float) -> Dimension:
    benches = [e for e in evidence if e.category == "benchmarks"]
    if not benches:
        return Dimension("performance", 0.0, 0.0, 0.0, 0.0, "no benchmark tests defined: not counted")
    recorded = sum(e.status == "passed" and e.observed and _files_written(e) > 0 for e in benches)
    unobserved = sum(e.status == "passed" and not e.observed for e in benches)
    silent = sum(e.status == "passed" and e.observed and _files_written(e) == 0 for e in benches)
    value = (recorded + unobserved) / len(benches)
    text = f"{recorded} of {len(benches)} benchmarks ran and recorded numbers"
    if unobserved:
        text += f"; {unobserved} passed unobserved"
    if silent:
        text += f"; {silent} ran but wrote no file"
    # A benchmark that ran but wrote nothing may have printed its numbers: upside only.
    return Dimension("performance", round(value, 4), weight, round(recorded / len(benches), 4), round((recorded + unobserved + silent) / len(benches), 4), text)


def _files_written(item: TestEvidence) -> int:
    obs = item.outcome.observation if item.outcome else None
    return obs.files_written if obs else 0


def _deliverables(audit: Audit, evidence: Sequence[TestEvidence], config: AuditConfig) -> tuple[Deliverable, ...]:
    if config.sprint is None:
        return ()
    markers = marker_index(audit)
    result = []
    for spec in config.sprint.deliverables:
        missing = []
        for proof in spec.proof:
            selected = [e for e in evidence if matches(proof, e, markers)]
            if not selected:
                missing.append(f"{proof}: matches no test")
                continue
            never = sum(not e.ran for e in selected)
            failed = sum(e.ran and e.status != "passed" for e in selected)
            weak = [e for e in selected if e.status == "passed" and not e.valid_pass]
            if never:
                missing.append(f"{proof}: {never} of {len(selected)} tests never ran")
            if failed:
                missing.append(f"{proof}: {failed} of {len(selected)} tests did not pass")
            if weak:
                missing.append(f"{proof}: {len(weak)} passing test(s) are weak or vacuous ({weak[0].node_id})")
        if not spec.proof:
            missing.append("no proof given")
        result.append(Deliverable(name=spec.name, done=not missing, proofs=spec.proof, missing=tuple(missing)))
    return tuple(result)


def _deliverable_dimension(deliverables: Sequence[Deliverable], weight: float) -> Dimension:
    if not deliverables:
        return Dimension("deliverables", 0.0, 0.0, 0.0, 0.0, "no deliverables in [tool.auditor.sprint]: not counted")
    done = sum(d.done for d in deliverables)
    share = done / len(deliverables)
    return Dimension("deliverables", round(share, 4), weight, round(share, 4), round(share, 4), f"{done} of {len(deliverables)} deliverables proven done")


# --- red flags -------------------------------------------------------------------------------


def red_flags(audit: Audit, evidence: Sequence[TestEvidence], completion: Completion, config: AuditConfig) -> tuple[str, ...]:
    """Plain sentences for what a reviewer must not miss, most serious first."""
    flags = []
    total = len(evidence)
    never = sum(not e.ran for e in evidence)
    if audit.interrupted:
        flags.append(f"The audit was stopped ({audit.interrupted}) before it finished: "
                     f"{sum(not e.ran for e in evidence)} of {total} tests did not run to the end; the results are partial.")
    if not total:
        flags.append("No tests were found: nothing supports any completion claim.")
    if completion.claimed is not None and completion.claimed - completion.value > CLAIM_TOLERANCE:
        flags.append(
            f"Claimed {completion.claimed:g}% complete, but the evidence supports {completion.value:g}% "
            f"({completion.low:g}-{completion.high:g}%): {completion.claimed - completion.value:.0f} points above the evidence."
        )
    sprint = config.sprint
    if sprint and sprint.planned_days and sprint.days_spent and total:
        ratio = sprint.planned_days / sprint.days_spent
        if ratio >= SPEED_RATIO and never / total >= NEVER_RAN_SHARE:
            flags.append(
                f"Done {ratio:.1f}x faster than planned ({sprint.days_spent:g} of {sprint.planned_days:g} days) "
                f"while {never / total:.0%} of tests never ran."
            )
    for item in evidence:
        if item.passed_on_5xx:
            codes = ", ".join(str(code) for code in sorted(set(item.passed_on_5xx)))
            flags.append(f"{item.node_id} passes while the server answers {codes}.")
    for what, items in (
        ("flaky (failed, then passed on a re-run)", [e for e in evidence if e.flaky]),
        ("crashed the pytest process running them", [e for e in evidence if e.status == "crashed"]),
        ("hung past the test_timeout and were killed", [e for e in evidence if e.status == "hung"]),
    ):
        if items:
            names = ", ".join(e.node_id for e in items[:FLAG_EXAMPLES])
            more = f" and {len(items) - FLAG_EXAMPLES} more" if len(items) > FLAG_EXAMPLES else ""
            flags.append(f"{len(items)} test(s) {what}: {names}{more}.")
    by_category: dict[str, list[TestEvidence]] = {}
    for item in evidence:
        by_category.setdefault(item.category, []).append(item)
    benches = by_category.get("benchmarks", [])
    silent = [e for e in benches if e.ran and e.observed and _files_written(e) == 0]
    if silent:
        flags.append(f"{len(silent)} of {len(benches)} benchmarks ran but recorded nothing (no file written).")
    for category, items in by_category.items():
        if items and not any(e.ran for e in items):
            what = "no performance was measured" if category == "benchmarks" else "the suite was never run"
            flags.append(f"{category}: none of its {len(items)} tests ran ({what}).")
    for suite in audit.suites:
        if suite.status == "not_run" and suite.name != "(not run)":
            flags.append(f"Suite {suite.name!r} was never run.")
    return tuple(flags)
