"""GitHub Actions output: escaped workflow commands, the 10-per-level cap, and the step summary."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from review_audit import review_audit

from auditor.model import Finding
from auditor.report.github import annotation, emit

REVIEW = review_audit(with_scores=True)


def test_annotation_escapes_properties_and_data() -> None:
    finding = Finding("AUD101", "error-status-accepted", "high", "50% wrong\nsecond line", "tests/a,b:c.py", 7)
    assert annotation(finding) == "::error file=tests/a%2Cb%3Ac.py,line=7,title=AUD101 error-status-accepted::50%25 wrong%0Asecond line"


def test_cap_of_ten_per_level_and_the_rest_in_the_summary(tmp_path: Path) -> None:
    many = tuple(Finding("AUD105", "sleep-wait", "medium", f"sleep number {i}", "tests/t.py", i + 1) for i in range(13))
    audit = dataclasses.replace(REVIEW, findings=(*REVIEW.findings, *many))
    out = io.StringIO()
    summary = tmp_path / "summary.md"
    assert emit(audit, out, summary_path=str(summary)) == 12
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 2
    assert sum(line.startswith("::warning ") for line in lines) == 10
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Test audit: review")
    assert "## Findings not shown as annotations (4)" in text
    assert "| medium | AUD105 sleep-wait | `tests/t.py:13` | sleep number 12 |" in text
