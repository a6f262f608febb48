"""SARIF 2.1.0 report for GitHub code scanning: one result per finding, rules from the registry."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from auditor.model import Audit, Finding
from auditor.report.base import RenderContext

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"high": "error", "medium": "warning", "low": "note"}
HELP_URI = "https://github.com/auditor/auditor/blob/main/docs/rules.md"


class SarifReporter:
    """Writes ``audit.sarif``."""

    name = "sarif"
    filename = "audit.sarif"

    def render(self, audit: Audit, context: RenderContext) -> str:
        """The SARIF log as indented JSON."""
        return json.dumps(sarif_log(audit), indent=2, ensure_ascii=False) + "\n"


def sarif_log(audit: Audit) -> dict[str, Any]:
    """The SARIF object: one run, its rules (those the findings use), and its results."""
    from auditor.collect.rules.catalogue import all_rules

    known = {info.id: info for info in all_rules()}
    used = sorted({f.rule for f in audit.findings})
    rules = []
    for rule_id in used:
        info = known.get(rule_id)
        example = next(f for f in audit.findings if f.rule == rule_id)
        rules.append(
            {
                "id": rule_id,
                "name": info.slug if info else example.slug,
                "shortDescription": {"text": info.rationale if info else example.slug},
                "fullDescription": {"text": f"{info.rationale} Bad: {info.bad} Good: {info.good}" if info else example.message},
                "helpUri": f"{HELP_URI}#{rule_id.lower()}",
                "defaultConfiguration": {"level": LEVELS.get(info.severity if info else example.severity, "warning")},
                "properties": {"origin": info.origin if info else example.origin},
            }
        )
    index = {rule_id: i for i, rule_id in enumerate(used)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "auditor", "version": audit.version, "informationUri": HELP_URI, "rules": rules}},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///" + audit.root.lstrip("/").rstrip("/") + "/"}},
                "results": [_result(f, index[f.rule]) for f in audit.findings],
            }
        ],
    }


def fingerprint(finding: Finding) -> str:
    """Stable across runs and line moves: rule, file, test and message (code scanning dedupes on it)."""
    text = "\0".join((finding.rule, finding.path, finding.test_id or "", finding.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    message = finding.message
    if finding.test_id:
        message += f" (test: {finding.test_id})"
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(1, finding.line)},
                }
            }
        ],
        "partialFingerprints": {"auditorFinding/v1": fingerprint(finding)},
        "properties": {"severity": finding.severity, "origin": finding.origin, "slug": finding.slug},
    }
