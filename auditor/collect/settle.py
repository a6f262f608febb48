"""Suppressions of runtime (AUD2xx) and probe (AUD3xx) findings, settled once the tests ran or were probed.

Those findings are put on their test's ``def`` line, so ``# auditor: ignore[AUD202] <reason>`` there silences
them on every instance of the test. The scan cannot know whether such a rule would fire, so it never calls a
suppression of one on a ``def`` line unused (:func:`awaits_run`); elsewhere it could silence nothing of theirs,
and is judged by the scan as any other. Once an audit ran the tests (``audit``, ``run``, ``status`` from results,
``probe``), :func:`settle` silences what the run and the probes found, keeps what it silenced apart (the gate's
verdicts that say the same, a pass on 5xx and a vacuous test, follow it), and reports a suppression that silenced
nothing (AUD905) only when every rule it names judged every instance of its test in this audit: an unobserved,
unrun, failed or unprobed instance says nothing, so a partial run (``--suite``) never calls one stale. A
suppression that names static rules too is the scan's to judge, and the scan cannot: it is never called unused.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from auditor.collect.rules.catalogue import get_rule, is_known
from auditor.collect.rules.probe import probe_findings
from auditor.collect.rules.registry import finding, is_enabled, lookup
from auditor.collect.rules.runtime import judged
from auditor.collect.suppress import Suppression, apply
from auditor.config import AuditConfig
from auditor.model import Finding, Outcome, SuiteResult, TestCase

#: Origins of the findings only a run of the tests can make.
RUN_ORIGINS = ("runtime", "probe")


def awaits_run(suppression: Suppression) -> bool:
    """On a test's ``def`` line and naming a runtime or probe rule: only a run can say whether it is used."""
    return suppression.test_id is not None and any(
        is_known(rule) and get_rule(rule).origin in RUN_ORIGINS for rule in suppression.rules)


def settle(config: AuditConfig, findings: Sequence[Finding], suppressed: Sequence[Finding],
           suppressions: Sequence[Suppression], cases: Sequence[TestCase],
           suites: Sequence[SuiteResult]) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(findings, suppressed findings) of an audit once its run and probe findings met its suppressions.

    ``suppressed`` are the runtime findings an earlier settle silenced (``auditor probe`` settles again after
    redoing every probe finding); AUD905 findings of an earlier settle are redone too.
    """
    pending = {(s.path, s.line) for s in suppressions if awaits_run(s)}
    static = [f for f in findings if f.origin not in RUN_ORIGINS
              and not (f.rule == "AUD905" and (f.path, f.line) in pending)]
    late = [f for f in findings if f.origin in RUN_ORIGINS] + [f for f in suppressed if f.origin == "runtime"]
    kept, used = apply(late, suppressions)
    remaining = set(kept)
    silenced = tuple(f for f in late if f not in remaining)
    stale = _unused(config, [s for s in suppressions if awaits_run(s) and s not in used], cases, suites)
    return (*static, *kept, *stale), silenced


def _unused(config: AuditConfig, candidates: list[Suppression], cases: Sequence[TestCase],
            suites: Sequence[SuiteResult]) -> list[Finding]:
    """AUD905 for each suppression whose rules are all run rules that judged every instance of its test."""
    info = lookup("AUD905")
    if not candidates or not is_enabled(info, config):
        return []
    by_case: dict[str, list[Outcome]] = defaultdict(list)
    for suite in suites:
        for outcome in suite.outcomes:
            by_case[outcome.case_id].append(outcome)
    probed = _probe_judged(cases, suites, config)
    found = []
    for item in candidates:
        outcomes = by_case.get(item.test_id or "", [])
        if not item.reason or not outcomes or not all(is_known(rule) for rule in item.rules):
            continue  # AUD906 says what is wrong with it; a test that never reported is not judged
        if all(_judged(get_rule(rule).id, outcomes, probed, config) for rule in item.rules):
            found.append(finding("AUD905", f"suppression of {', '.join(item.rules)} silences nothing",
                                 path=item.path, line=item.line, test_id=item.test_id, config=config))
    return found


def _judged(rule_id: str, outcomes: list[Outcome], probed: set[tuple[str, str]], config: AuditConfig) -> bool:
    origin = get_rule(rule_id).origin
    if origin == "runtime":
        return all(judged(rule_id, outcome, config) for outcome in outcomes)
    if origin == "probe":
        return all((rule_id, outcome.node_id) in probed for outcome in outcomes)
    return False  # a static rule: the scan's to judge, and the scan cannot tell its share of the suppression


def _probe_judged(cases: Sequence[TestCase], suites: Sequence[SuiteResult],
                  config: AuditConfig) -> set[tuple[str, str]]:
    """(rule, node id) of every probe finding the audit would have made had each probe a test met survived.

    A probe rule judged an instance when a mode it reads was run on it and gave a verdict: asking the probe rules
    themselves keeps this in step with whatever makes a survival a finding.
    """
    flipped = []
    for suite in suites:
        outcomes = tuple(
            dataclasses.replace(outcome, probes=tuple(
                dataclasses.replace(p, result="survived") for p in outcome.probes if p.result in ("killed", "survived")))
            for outcome in suite.outcomes)
        flipped.append(dataclasses.replace(suite, outcomes=outcomes))
    return {(f.rule, f.test_id or "") for f in probe_findings(cases, flipped, config)}
