"""Diagnosis: critical issues, root-cause hypotheses, revised status and action items.

Everything here is derived from the audit's evidence by fixed rules (no free text invented),
so the review-shaped reports (Markdown, HTML) say the same thing every time for the same audit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model import Audit, Finding
from auditor.status.evidence import BROKEN, TestEvidence
from auditor.status.summary import category_label, location, top_findings

#: Hypothesis verdicts, strongest first.
VERDICTS = ("confirmed", "likely", "possible", "unlikely", "unknown")


@dataclass(frozen=True)
class Issue:
    """A critical finding as the review writes it: what, the evidence, the impact, the action."""

    title: str
    finding: str
    evidence: tuple[str, ...]
    impact: str
    action: str


@dataclass(frozen=True)
class Hypothesis:
    """A possible root cause with the evidence for and against it, and a verdict."""

    title: str
    verdict: str  # one of VERDICTS
    evidence_for: tuple[str, ...]
    evidence_against: tuple[str, ...]


@dataclass(frozen=True)
class ActionItem:
    """Something to do, generated from a finding or a gap."""

    priority: str  # immediate | medium | strategic
    title: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    """The review-shaped reading of one audit."""

    issues: tuple[Issue, ...]
    hypotheses: tuple[Hypothesis, ...]
    have: tuple[str, ...]
    todo: tuple[str, ...]
    actions: tuple[ActionItem, ...]


def diagnose(audit: Audit, evidence: Sequence[TestEvidence], *, examples: int = 5) -> Diagnosis:
    """Build the diagnosis; lists of tests are cut to ``examples`` entries with a count of the rest."""
    by_category: dict[str, list[TestEvidence]] = defaultdict(list)
    for item in evidence:
        by_category[item.category].append(item)
    never = [e for e in evidence if not e.ran]
    on_5xx = [e for e in evidence if e.passed_on_5xx]
    vacuous = [e for e in evidence if e.vacuous]
    failing = [e for e in evidence if e.status in BROKEN]
    weak = [e for e in evidence if e.status == "passed" and e.weak]
    valid = [e for e in evidence if e.valid_pass]
    highs = [f for f in audit.findings if f.severity == "high"]
    total = len(evidence)

    issues = []
    if never:
        per_cat = [f"{category_label(c)}: {sum(not e.ran for e in items)}/{len(items)} never ran" for c, items in by_category.items() if any(not e.ran for e in items)]
        issues.append(
            Issue(
                title="Tests that never ran",
                finding=f"{len(never)} of the tests created never ran ({_percent(len(never), total)}).",
                evidence=tuple(per_cat),
                impact="A test that never ran proves nothing; completion cannot count it.",
                action="Run every suite and record the results before claiming completion.",
            )
        )
    if on_5xx:
        issues.append(
            Issue(
                title="Tests pass on server errors",
                finding=f"{len(on_5xx)} test(s) passed while the server answered 5xx.",
                evidence=_cut([f"{e.node_id}: received {', '.join(map(str, e.passed_on_5xx))}" for e in on_5xx], examples),
                impact='These tests pass even if the feature returns "not implemented".',
                action="Assert the one status that means success, and check the response body.",
            )
        )
    if highs:
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for f in highs:
            by_rule[f"{f.rule} {f.slug}"].append(f)
        lines = []
        for rule, items in sorted(by_rule.items()):
            first = items[0]
            lines.append(f"{rule}: {len(items)} finding(s), e.g. {location(first)}: {first.message}")
            lines.extend(f"    {line}" for line in first.evidence[:2])
        issues.append(
            Issue(
                title="HIGH-severity weaknesses",
                finding=f"{len(highs)} HIGH finding(s) across {len({f.test_id or f.path for f in highs})} test(s) or file(s).",
                evidence=tuple(lines),
                impact="A passing result from these tests is not evidence that the code works.",
                action="Fix each finding (see Action items); the gate fails on HIGH findings.",
            )
        )
    if vacuous:
        issues.append(
            Issue(
                title="Vacuous tests",
                finding=f"{len(vacuous)} passing test(s) provably could not fail.",
                evidence=_cut([f"{e.node_id}: {e.vacuous}" for e in vacuous], examples),
                impact="They add to the pass count without checking anything.",
                action="Give each an assertion on the behaviour it claims to test.",
            )
        )
    if failing:
        issues.append(
            Issue(
                title="Failing tests",
                finding=f"{len(failing)} test(s) failed, errored, crashed or hung.",
                evidence=_cut([f"{e.node_id}: {'flaky, ' if e.flaky else ''}{e.status}"
                               + (f": {e.reason}" if e.reason else "") for e in failing], examples),
                impact="Known-broken behaviour (or broken tests) in what was delivered.",
                action="Fix the code or the test; do not mark it done.",
            )
        )

    hypotheses = _hypotheses(audit, evidence, by_category, never, weak, vacuous, valid)
    have, todo = _status(audit, by_category, weak, failing)
    actions = _actions(audit, by_category, on_5xx, failing, examples)
    return Diagnosis(tuple(issues), hypotheses, have, todo, actions)


def _cut(lines: Sequence[str], limit: int) -> tuple[str, ...]:
    if len(lines) <= limit:
        return tuple(lines)
    return (*lines[:limit], f"... and {len(lines) - limit} more")


def _verdict(strength_for: float, strength_against: float, known: bool = True) -> str:
    """Verdict from two 0-1 strengths: confirmed needs strong support and little against."""
    if not known:
        return "unknown"
    if strength_for >= 0.5 and strength_against < 0.2:
        return "confirmed"
    if strength_for > strength_against and strength_for >= 0.2:
        return "likely"
    if strength_for > 0:
        return "possible"
    return "unlikely"


def _hypotheses(
    audit: Audit,
    evidence: Sequence[TestEvidence],
    by_category: dict[str, list[TestEvidence]],
    never: list[TestEvidence],
    weak: list[TestEvidence],
    vacuous: list[TestEvidence],
    valid: list[TestEvidence],
) -> tuple[Hypothesis, ...]:
    ran = len(evidence) - len(never)
    total = len(evidence) or 1  # a divisor only
    result = []
    full = [category_label(c) for c, items in by_category.items() if items and all(e.ran for e in items)]
    result.append(
        Hypothesis(
            title="Tests have not actually run",
            verdict=_verdict(len(never) / total, ran / total if not never else 0.0, bool(evidence)),
            evidence_for=(f"{len(never)} of {len(evidence)} tests never ran",) if never else (),
            evidence_against=((f"fully run: {', '.join(full)}",) if full else ()) + ((f"{ran} of {len(evidence)} tests ran",) if ran else ()),
        )
    )
    run_items = [e for e in evidence if e.ran]
    shallow = len(weak) + len([e for e in vacuous if not e.weak])
    kills = [p for e in evidence if e.outcome for p in e.outcome.probes if p.judged]
    survived = sum(p.result == "survived" for p in kills)
    against = [f"{len(valid)} passing test(s) show no weakness"] if valid else []
    if kills:
        against.append(f"sabotage probes killed {len(kills) - survived} of {len(kills)} times")
    result.append(
        Hypothesis(
            title="Tests are too shallow",
            verdict=_verdict(shallow / max(1, len(run_items)), len(valid) / max(1, len(run_items)), bool(run_items)),
            evidence_for=tuple(
                x
                for x in (
                    f"{len(weak)} passing test(s) are weak (HIGH/MEDIUM findings or passes on 5xx)" if weak else "",
                    f"{len(vacuous)} passing test(s) are vacuous" if vacuous else "",
                    f"tests survived {survived} of {len(kills)} sabotage probes" if survived else "",
                )
                if x
            ),
            evidence_against=tuple(against),
        )
    )
    infra = [t for t in audit.tallies if t.category != "total"]
    fake = [f"{category_label(t.category)}: {t.real_infrastructure}" for t in infra if t.real_infrastructure in ("no", "partial")]
    real = [category_label(t.category) for t in infra if t.real_infrastructure == "yes"]
    unobserved = [category_label(t.category) for t in infra if t.real_infrastructure == "not observed"]
    result.append(
        Hypothesis(
            title="Tests do not use real infrastructure",
            verdict=_verdict(len(fake) / max(1, len(infra)), len(real) / max(1, len(infra)), bool(fake or real)),
            evidence_for=tuple(fake),
            evidence_against=(f"real processes/sockets seen in: {', '.join(real)}",) if real else (),
        )
        if not unobserved or fake or real
        else Hypothesis("Tests do not use real infrastructure", "unknown", (), (f"not observed: {', '.join(unobserved)}",))
    )
    benches = by_category.get("benchmarks", [])
    if benches:
        measured = [e for e in benches if e.status == "passed"]
        result.append(
            Hypothesis(
                title="Performance was never measured",
                verdict=_verdict(1 - len(measured) / len(benches), len(measured) / len(benches)),
                evidence_for=(f"{len(benches) - len(measured)} of {len(benches)} benchmarks did not run or pass",) if len(measured) < len(benches) else (),
                evidence_against=(f"{len(measured)} benchmarks passed",) if measured else (),
            )
        )
    completion = audit.completion
    if completion is not None and completion.claimed is not None:
        gap = completion.claimed - completion.value
        result.append(
            Hypothesis(
                title="The completion claim is inflated",
                verdict=_verdict(min(1.0, max(0.0, gap) / 30), 0.0 if gap > 15 else 0.5),
                evidence_for=(f"claimed {completion.claimed:g}%, evidence {completion.value:g}% ({completion.low:g}-{completion.high:g}%)",) if gap > 0 else (),
                evidence_against=(f"evidence {completion.value:g}% is within 15 points of the claim",) if gap <= 15 else (),
            )
        )
    return tuple(result)


def _status(
    audit: Audit,
    by_category: dict[str, list[TestEvidence]],
    weak: list[TestEvidence],
    failing: list[TestEvidence],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    have = []
    todo = []
    for category, items in by_category.items():
        good = [e for e in items if e.valid_pass]
        if good:
            have.append(f"{len(good)} {category_label(category)} test(s) passing with no weakness found")
    if audit.completion:
        have.extend(f"Deliverable proven: {d.name}" for d in audit.completion.deliverables if d.done)
    for category, items in by_category.items():
        idle = [e for e in items if not e.ran]
        if idle:
            todo.append(f"Run the {len(idle)} {category_label(category)} test(s) that never ran")
    if weak:
        todo.append(f"Fix the {len(weak)} passing test(s) whose pass is not evidence")
    if failing:
        todo.append(f"Fix the {len(failing)} failing test(s)")
    if audit.completion:
        todo.extend(f"Prove deliverable: {d.name} ({'; '.join(d.missing)})" for d in audit.completion.deliverables if not d.done)
    return tuple(have), tuple(todo)


def _actions(
    audit: Audit,
    by_category: dict[str, list[TestEvidence]],
    on_5xx: list[TestEvidence],
    failing: list[TestEvidence],
    examples: int,
) -> tuple[ActionItem, ...]:
    actions = []
    for category, items in by_category.items():
        idle = [e for e in items if not e.ran]
        if idle:
            reasons = sorted({e.reason or "unknown" for e in idle})
            actions.append(
                ActionItem(
                    "immediate",
                    f"Run the {category_label(category)} tests ({len(idle)} never ran)",
                    (f"reasons seen: {', '.join(reasons)}", *_cut([e.node_id for e in idle], examples)),
                )
            )
    if on_5xx:
        actions.append(ActionItem("immediate", "Stop accepting server errors as success", tuple(e.node_id for e in on_5xx[:examples])))
    if failing:
        actions.append(ActionItem("immediate", f"Fix {len(failing)} failing test(s)", _cut([e.node_id for e in failing], examples)))
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in top_findings(audit.findings, None):
        grouped[f"{finding.rule} {finding.slug}"].append(finding)
    for rule, items in grouped.items():
        priority = "immediate" if items[0].severity == "high" else "medium"
        actions.append(ActionItem(priority, f"Fix {rule} ({len(items)} x {items[0].severity})", _cut([f"{location(f)}: {f.message}" for f in items], examples)))
    completion = audit.completion
    if completion and completion.claimed is not None and completion.claimed - completion.value > 15:
        actions.append(ActionItem("strategic", f"Revise the completion claim from {completion.claimed:g}% to the evidence ({completion.value:g}%)"))
    if not by_category.get("benchmarks"):
        actions.append(ActionItem("strategic", "Add benchmarks that record numbers, if performance is part of the goal"))
    order = {"immediate": 0, "medium": 1, "strategic": 2}
    return tuple(sorted(actions, key=lambda a: order[a.priority]))


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"
