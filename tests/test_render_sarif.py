"""SARIF 2.1.0: the fields GitHub code scanning reads, and stable fingerprints."""

from __future__ import annotations

import dataclasses
import json

from review_audit import review_audit

from auditor.report.base import RenderContext
from auditor.report.sarif import SarifReporter, fingerprint

REVIEW = review_audit(with_scores=True)


def test_sarif_log_shape() -> None:
    log = json.loads(SarifReporter().render(REVIEW, RenderContext()))
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["AUD101", "AUD105", "AUD201"]
    first = run["results"][0]
    assert first["ruleId"] == "AUD101"
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "tests/smoke/test_basic_inference.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 42},
    }
    assert [r["level"] for r in run["results"]] == ["error", "error", "warning"]
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "AUD101"


def test_fingerprint_ignores_line_moves_but_not_the_message() -> None:
    finding = REVIEW.findings[0]
    assert fingerprint(finding) == fingerprint(dataclasses.replace(finding, line=99))
    assert fingerprint(finding) != fingerprint(dataclasses.replace(finding, message="other"))
