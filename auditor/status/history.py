"""Audit history (``history.jsonl``), gate baselines, and merging audits from CI shards."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.config import AuditConfig
from auditor.exceptions import DataError
from auditor.files import write_atomic
from auditor.model import STATUS_PRECEDENCE, Audit, Outcome, ProbeResult, SuiteResult
from auditor.status.gate import Baseline, Violation

HISTORY_FILE = "history.jsonl"
#: Version of one history line; bump with a note when a key changes meaning.
HISTORY_FORMAT = 1
BASELINE_FORMAT = 1


def summary(audit: Audit) -> dict[str, Any]:
    """The one-line summary of an audit kept in the history."""
    total = next((t for t in audit.tallies if t.category == "total"), None)
    quality = next((s.value for s in audit.scores if s.category == "total"), None)
    completion = audit.completion
    return {
        "format": HISTORY_FORMAT,
        "created": audit.created,
        "project": audit.project,
        "version": audit.version,
        "created_tests": total.created if total else len(audit.cases),
        "run": total.run if total else 0,
        "passed": total.passed if total else 0,
        "not_run": total.not_run if total else 0,
        "findings": {level: sum(f.severity == level for f in audit.findings) for level in ("high", "medium", "low")},
        "completion": completion.value if completion else None,
        "completion_low": completion.low if completion else None,
        "completion_high": completion.high if completion else None,
        "claimed": completion.claimed if completion else None,
        "quality": quality,
    }


def append(audit: Audit, report_dir: Path | str) -> Path:
    """Append the audit's summary to ``report_dir/history.jsonl`` and return that path."""
    path = Path(report_dir) / HISTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(summary(audit), sort_keys=True) + "\n")
    return path


def read_history(path: Path | str) -> tuple[dict[str, Any], ...]:
    """Summaries from a history file, oldest first; a missing file is an empty history."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY_FILE
    if not path.exists():
        return ()
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
        if not isinstance(entry, dict):
            raise DataError(f"{path}:{number}: expected an object")
        entries.append(entry)
    return tuple(entries)


# --- baselines -------------------------------------------------------------------------------


def write_baseline(path: Path | str, violations: Sequence[Violation], audit: Audit) -> Path:
    """Record today's violations (and completion/quality) so only new problems fail later."""
    quality = next((s.value for s in audit.scores if s.category == "total"), None)
    data = {
        "format": BASELINE_FORMAT,
        "created": audit.created,
        "completion": audit.completion.value if audit.completion else None,
        "quality": quality,
        "violations": sorted({v.key for v in violations}),
    }
    return write_atomic(Path(path), json.dumps(data, indent=2) + "\n")


def read_baseline(path: Path | str) -> Baseline:
    """Load a baseline file written by :func:`write_baseline`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable baseline ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT or not isinstance(data.get("violations"), list):
        raise DataError(f"{path}: not a baseline file (format {BASELINE_FORMAT} with a violations list)")
    return Baseline(keys=frozenset(map(str, data["violations"])), completion=data.get("completion"), quality=data.get("quality"))


# --- merge -----------------------------------------------------------------------------------


def merge(audits: Sequence[Audit], config: AuditConfig) -> Audit:
    """Combine audits of one project from several CI shards into one audit.

    Rule: a node id seen in several shards is counted once. Its outcome is the first by
    :data:`~auditor.model.STATUS_PRECEDENCE` (crashed, hung, error, failed, xpassed, passed,
    xfailed, skipped, interrupted, not_run): any shard that ran a test beats shards that only report it "not run"
    (each shard reports the others' tests as not run), and a failure anywhere beats a pass.
    Ties keep the earliest audit given. Probe results from every copy are kept (one per mode).
    Tallies are recomputed from the merged outcomes, then the audit is re-scored.
    """
    if not audits:
        raise DataError("merge: no audits given")
    from auditor.run import funnel
    from auditor.status.score import score_audit

    rank = {status: index for index, status in enumerate(STATUS_PRECEDENCE)}
    winner: dict[str, tuple[int, int, Outcome]] = {}
    probes: dict[str, dict[str, ProbeResult]] = {}
    for a_index, audit in enumerate(audits):
        for s_index, suite in enumerate(audit.suites):
            for outcome in suite.outcomes:
                for probe in outcome.probes:
                    kept = probes.setdefault(outcome.node_id, {}).get(probe.mode)
                    if kept is None or kept.result == "error":
                        probes[outcome.node_id][probe.mode] = probe
                current = winner.get(outcome.node_id)
                if current is None or rank.get(outcome.status, 99) < rank.get(current[2].status, 99):
                    winner[outcome.node_id] = (a_index, s_index, outcome)
    suites: list[SuiteResult] = []
    names: set[str] = set()
    for a_index, audit in enumerate(audits):
        for s_index, suite in enumerate(audit.suites):
            kept = tuple(
                dataclasses.replace(o, probes=tuple(probes.get(o.node_id, {}).values()))
                for o in suite.outcomes
                if winner[o.node_id][:2] == (a_index, s_index)
            )
            if not kept and suite.status == "not_run":
                continue
            name = suite.name
            if name in names:
                name = f"{suite.name} (shard {a_index + 1})"
            names.add(name)
            suites.append(dataclasses.replace(suite, name=name, outcomes=kept))
    cases = {}
    for audit in audits:
        for case in audit.cases:
            cases.setdefault(case.id, case)
    findings = {}
    for audit in audits:
        for finding in audit.findings:
            findings.setdefault((finding.rule, finding.path, finding.line, finding.test_id, finding.message), finding)
    first = audits[0]
    merged = dataclasses.replace(
        first,
        created=max(a.created for a in audits),
        cases=tuple(cases.values()),
        findings=tuple(findings.values()),
        suppressed=tuple(dict.fromkeys(f for a in audits for f in a.suppressed)),
        suites=tuple(suites),
        probe_modes=tuple(dict.fromkeys(m for a in audits for m in a.probe_modes)),
        environment={**first.environment, "merged_from": str(len(audits))},
        interrupted=next((a.interrupted for a in audits if a.interrupted), None),
    )
    tallies = funnel.tally(merged.cases, merged.suites, config)
    return score_audit(dataclasses.replace(merged, tallies=tuple(tallies)), config)
