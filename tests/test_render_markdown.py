"""Markdown report: the review's structure, checked against a gold file."""

from __future__ import annotations

from goldtest import compare
from review_audit import ACCEPTS_501, SMOKE_FILE, STREAMING_FAILURE, review_audit

from auditor.report.base import RenderContext
from auditor.report.markdown import MarkdownReporter

REVIEW = review_audit(with_scores=True)
FAILING = f"{SMOKE_FILE}::test_streaming_headers"


def test_markdown_matches_gold() -> None:
    compare(MarkdownReporter().render(REVIEW, RenderContext()), "review.md")


def test_markdown_has_the_review_sections_in_order() -> None:
    text = MarkdownReporter().render(REVIEW, RenderContext())
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Red flags",
        "## Failures (1 of 1)",
        "## Critical findings",
        "## Test quality assessment matrix",
        "## Root cause hypotheses",
        "## Realistic completion",
        "## Revised status",
        "## Action items",
        "## Top findings (3 of 3)",
    ]
    # created, static, collected, run, passing, flaky, deselected, platform skips, missing deps
    assert ("| **Total** | **43** | **43** | **7** | **7** | **6** | **0** | **0** | **0** | **0** | **Partial** | **4.1/10** "
            "| **—** | -36 never reached (suite not run, timed out, crashed, or in no suite) |") in text
    assert f"| `{FAILING}` | failed (re-runs: failed, failed) | {STREAMING_FAILURE} |" in text
    assert f"- 🚩 {ACCEPTS_501} passes while the server answers 501." in text


def test_markdown_is_not_html_escaped_but_table_pipes_are() -> None:
    from dataclasses import replace

    finding = replace(REVIEW.findings[0], message="accepts <501> | 400 & more")
    text = MarkdownReporter().render(replace(REVIEW, findings=(finding,)), RenderContext())
    assert "accepts <501> \\| 400 & more" in text
    assert "&lt;" not in text


def test_a_static_finding_says_how_often_its_rule_was_right_on_strangers_tests() -> None:
    from dataclasses import replace

    from auditor.collect.rules.registry import measured, measured_right

    counts = measured("AUD138")
    assert counts is not None and 0 < counts[0] <= counts[1]
    finding = replace(REVIEW.findings[0], rule="AUD138", slug="truthiness-only", origin="static")
    text = MarkdownReporter().render(replace(REVIEW, findings=(finding,)), RenderContext())
    assert measured_right("AUD138") == f"{counts[0]}/{counts[1]}"
    assert f"| AUD138 truthiness-only | {counts[0]}/{counts[1]} |" in text
    assert "*Right elsewhere*" in text
    # a runtime finding is the auditor's own observation of this suite: no stranger's count applies to it
    observed = replace(finding, rule="AUD201", slug="passed-on-5xx", origin="runtime")
    assert "Right elsewhere" not in MarkdownReporter().render(replace(REVIEW, findings=(observed,)), RenderContext())
