"""The CI gate: a pure function from an audit and ``[tool.auditor.gate]`` to violations.

Kept apart from rendering and from the CLI; ``auditor gate`` turns an empty list into exit 0
and anything else into exit 1, printing one line per violation.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.config import GateConfig
from auditor.exceptions import ConfigError
from auditor.model import SEVERITIES, Audit
from auditor.run.skips import missing_module
from auditor.status.evidence import BROKEN, TestEvidence, collect_evidence


@dataclass(frozen=True)
class Violation:
    """One reason the gate fails."""

    check: str  # interrupted | no-tests | not-run | failed | flaky | finding | passed-on-5xx | vacuous | min-completion | min-quality
    message: str
    #: Stable identity for baselines: no line numbers, so editing a file does not renew old problems.
    key: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(frozen=True)
class Baseline:
    """Problems a legacy project already had; only new ones fail the gate."""

    keys: frozenset[str] = frozenset()
    #: Completion and quality when the baseline was written: thresholds may not get worse.
    completion: float | None = None
    quality: float | None = None


def evaluate(audit: Audit, gate: GateConfig, baseline: Baseline | None = None) -> list[Violation]:
    """Every violation of ``gate`` in ``audit`` that ``baseline`` does not excuse, in a stable order.

    Edge cases, on purpose:
    - thresholds compare the values as reported (completion to 0.1 point, quality to 0.1), so
      a report showing "40%" never fails ``min_completion = 40``;
    - an unscored audit (no completion, or nothing ran so quality is unknown) fails any threshold:
      absence of evidence does not pass;
    - ``min_completion`` above 100 or ``min_quality`` above 10 can never pass: a ConfigError;
    - a baselined threshold still fails if the value got worse than when the baseline was written;
    - an interrupted audit always fails (no key switches it off, no baseline excuses it): its results are partial;
    - so does an audit in which no test ran (``no-tests``): nothing cannot pass;
    - a flaky test (failed, then passed on a re-run) is judged by ``fail_on_flaky`` alone, not ``fail_on_failed``.
    """
    _check_thresholds(gate)
    baseline = baseline or Baseline()
    violations: list[Violation] = []
    evidence = collect_evidence(audit)
    if audit.interrupted:
        unfinished = sum(e.status == "interrupted" or e.reason == "interrupted" for e in evidence)
        violations.append(Violation("interrupted", f"the audit was stopped ({audit.interrupted}) before it finished; "
                                    f"{unfinished} test(s) did not finish or never started: the results are partial",
                                    "interrupted"))
    if not any(item.ran for item in evidence):  # an audit of nothing never passes, whatever the keys say
        violations.append(Violation("no-tests", f"no test ran ({len(evidence)} defined): there is nothing to pass", "no-tests"))
    if gate.fail_on_not_run:
        wanted = set(gate.not_run_categories)
        for item in sorted(evidence, key=lambda e: e.node_id):
            if item.ran or (wanted and item.category not in wanted) or chosen_not_to_run(item, gate):
                continue
            reason = item.reason or "no reason recorded"
            if any(allowed in reason for allowed in gate.allowed_skip_reasons):
                continue
            violations.append(Violation("not-run", f"{item.node_id} never ran ({item.category}; {item.status}: {reason})", f"not-run:{item.node_id}"))
    threshold = SEVERITIES.index(gate.fail_on_severity) if gate.fail_on_severity in SEVERITIES else -1
    chosen = set(gate.fail_on_rules)
    for finding in sorted(audit.findings, key=lambda f: (f.path, f.line, f.rule)):
        by_rule = finding.rule in chosen or finding.slug in chosen
        by_severity = finding.severity in SEVERITIES and SEVERITIES.index(finding.severity) <= threshold
        if by_rule or by_severity:
            where = finding.test_id or finding.path
            violations.append(
                Violation("finding", f"{finding.path}:{finding.line}: {finding.rule} {finding.slug} ({finding.severity}): {finding.message}", f"finding:{finding.rule}:{where}")
            )
    for item in sorted(evidence, key=lambda e: e.node_id):
        if item.flaky:
            if gate.fail_on_flaky:
                violations.append(Violation("flaky", f"{item.node_id} is flaky: {item.status} first"
                                            + (f" ({item.reason})" if item.reason else "")
                                            + f", then re-runs {', '.join(item.outcome.reruns)}", f"flaky:{item.node_id}"))
        elif gate.fail_on_failed and (item.status in BROKEN or item.status == "xpassed"):
            why = f": {item.reason}" if item.reason and item.status != "xpassed" else ""
            violations.append(Violation("failed", f"{item.node_id} {item.status}{why}", f"failed:{item.node_id}"))
        if gate.fail_on_5xx_pass and item.passed_on_5xx:
            codes = ", ".join(str(c) for c in sorted(set(item.passed_on_5xx)))
            violations.append(Violation("passed-on-5xx", f"{item.node_id} passed while the server answered {codes}", f"passed-on-5xx:{item.node_id}"))
        if gate.fail_on_vacuous and item.vacuous:
            violations.append(Violation("vacuous", f"{item.node_id} is vacuous: {item.vacuous}", f"vacuous:{item.node_id}"))
    completion = audit.completion.value if audit.completion else None
    if gate.min_completion is not None:
        if completion is None or completion < gate.min_completion:
            shown = "not scored" if completion is None else f"{completion:g}%"
            violation = Violation("min-completion", f"completion {shown} is below the minimum {gate.min_completion:g}%", "min-completion")
            if not _excused(violation, completion, baseline.completion, baseline):
                violations.append(violation)
    quality = _total_quality(audit)
    if gate.min_quality is not None:
        if quality is None or quality < gate.min_quality:
            shown = "unknown" if quality is None else f"{quality:g}/10"
            violation = Violation("min-quality", f"quality {shown} is below the minimum {gate.min_quality:g}/10", "min-quality")
            if not _excused(violation, quality, baseline.quality, baseline):
                violations.append(violation)
    # Deduplicate (a static and a runtime finding on one test share a key only if same rule).
    seen: set[str] = set()
    result = []
    for violation in violations:
        if violation.key in seen:
            continue
        seen.add(violation.key)
        if violation.check in ("min-completion", "min-quality", "interrupted", "no-tests") or violation.key not in baseline.keys:
            result.append(violation)
    return result


def chosen_not_to_run(item: TestEvidence, gate: GateConfig) -> bool:
    """A test the user chose not to run here: deselected, a platform skip, or an allowed missing dependency."""
    if item.status == "not_run":
        return item.reason == "deselected" and not gate.fail_on_deselected
    kind = item.outcome.skip_kind if item.outcome is not None and item.status == "skipped" else None
    if kind == "platform":
        return not gate.fail_on_platform_skips
    if kind == "dependency":
        module = missing_module(item.reason) or ""
        return any(allowed == "*" or module == allowed or module.startswith(allowed + ".")
                   for allowed in gate.allowed_missing_dependencies)
    return False


def _check_thresholds(gate: GateConfig) -> None:
    if gate.min_completion is not None and gate.min_completion > 100:
        raise ConfigError(f"[tool.auditor.gate] min_completion = {gate.min_completion:g}: completion is a percentage (0-100)")
    if gate.min_quality is not None and gate.min_quality > 10:
        raise ConfigError(f"[tool.auditor.gate] min_quality = {gate.min_quality:g}: quality is scored 0-10")
    if gate.fail_on_severity is not None and gate.fail_on_severity not in SEVERITIES:
        raise ConfigError(f"[tool.auditor.gate] fail_on_severity: {gate.fail_on_severity!r} is not one of {', '.join(SEVERITIES)}")


def _excused(violation: Violation, value: float | None, recorded: float | None, baseline: Baseline) -> bool:
    """A baselined threshold is excused only while the value is no worse than when baselined."""
    if violation.key not in baseline.keys or value is None:
        return False
    return recorded is None or value >= recorded


def _total_quality(audit: Audit) -> float | None:
    total = next((s for s in audit.scores if s.category == "total"), None)
    return total.value if total else None
