"""Judging one probe verdict against the test's claim: does this kill prove it, is this survival a weakness?

The probe session reports, for each mode run, what the mode changed among the parts of the answers the test
read (``touched``: status, shape, content, streaming, connection, time). A mode that changed nothing the test
read is not applicable (``n/a``, decided in the session). Otherwise the verdict is *claimed* when ``touched``
meets what the test's claim is about (:data:`auditor.collect.claims.CLAIM_SUBJECTS`): only a claimed kill
proves the claim, only a claimed survival is a weakness; an unclaimed survival is a note ("checks shape,
not content").
"""

from __future__ import annotations

import dataclasses

from auditor.collect.claims import subjects
from auditor.config import AuditConfig
from auditor.model import ProbeResult, TestCase

#: What each built-in mode changes, for a kill whose cause the session could not trace to a read (a client
#: the interceptor does not track, or a failure before anything was read).
MODE_SUBJECTS: dict[str, frozenset[str]] = {
    "not-implemented": frozenset({"status", "shape", "content", "streaming"}),
    "server-error": frozenset({"status", "shape", "content", "streaming"}),
    "empty": frozenset({"shape", "content", "streaming"}),
    "echo": frozenset({"content"}),
    "garbage": frozenset({"content"}),
    "truncated-stream": frozenset({"streaming"}),
    "unfinished-stream": frozenset({"completion"}),
    "slow": frozenset({"time"}),
    "late": frozenset({"time"}),
    "down": frozenset({"connection"}),
    "reset": frozenset({"connection"}),
    "status-flip": frozenset({"status"}),
}


def judged_claims(case: TestCase | None, category: str) -> tuple[str, ...]:
    """The claims a probe judges ``case`` by: its own, and timing for any benchmark."""
    claims = tuple(case.claims) if case is not None and case.claims else ("content",)
    return (*claims, "timing") if category == "benchmarks" and "timing" not in claims else claims


def base_mode(mode: str, config: AuditConfig) -> str | None:
    """The built-in mode behind ``mode`` (``None``: a fault switched on through the environment)."""
    for probe in config.probes:
        if probe.name == mode:
            return probe.base
    return mode


def judge(result: ProbeResult, case: TestCase | None, category: str, config: AuditConfig) -> ProbeResult:
    """``result`` with ``claimed`` set from the test's claims (``n/a`` and errors are returned as they are)."""
    if result.result not in ("killed", "survived"):
        return result
    base = base_mode(result.mode, config)
    if base is None:  # a configured fault: it is chosen for what the test claims
        return dataclasses.replace(result, claimed=True)
    claimed_subjects = subjects(judged_claims(case, category))
    touched = set(result.touched) or set(MODE_SUBJECTS.get(base, ()))
    if base == "unfinished-stream":  # only the last event is missing: a question for claims of completion alone
        touched = {"completion" if subject == "streaming" else subject for subject in touched}
    return dataclasses.replace(result, claimed=bool(touched & claimed_subjects))
