"""HTML report, read as text: self-contained, escaped, with the review's content."""

from __future__ import annotations

import dataclasses
import re

from review_audit import ACCEPTS_501, review_audit

from auditor.model import Outcome
from auditor.report.base import RenderContext
from auditor.report.html import CONTENT_SECURITY_POLICY, HtmlReporter

HOSTILE = 'tests/smoke/test_basic_inference.py::test_health[<script>alert("x")</script>]'


def hostile_audit():
    """The review audit plus a passing test whose node id carries a script tag."""
    audit = review_audit(with_scores=True)
    smoke = audit.suites[0]
    extra = Outcome(node_id=HOSTILE, case_id="tests/smoke/test_basic_inference.py::test_health", status="passed", suite="smoke", observation=smoke.outcomes[1].observation)
    return dataclasses.replace(audit, suites=(dataclasses.replace(smoke, outcomes=(*smoke.outcomes, extra)), *audit.suites[1:]))


HISTORY = (
    {"created": "2026-01-20T10:00:00Z", "created_tests": 30, "run": 7, "passed": 6, "completion": 20.0},
    {"created": "2026-01-25T12:00:00Z", "created_tests": 43, "run": 7, "passed": 6, "completion": 29.2},
)


def render(audit=None) -> str:
    return HtmlReporter().render(audit or hostile_audit(), RenderContext(history=HISTORY))


def test_self_contained_with_a_content_security_policy() -> None:
    html = render()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY.replace(chr(39), "&#39;")}">' in html
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html) == []
    assert "@import" not in html and "url(" not in html


def test_hostile_test_names_are_escaped() -> None:
    html = render()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_headline_matrix_and_drill_down() -> None:
    html = render()
    assert '<span class="number">34.5%</span>' in html and '<span class="number">78%</span>' in html
    assert re.search(r'<th scope="row">Total</th>\s*<td class="num" data-label="Created">43</td>\s*<td class="num" data-label="Static scan">43</td>\s*<td class="num" data-label="Collected">7</td>\s*<td class="num short" data-label="Run">7</td>\s*<td class="num" data-label="Passing">6</td>', html)
    assert f"<code>{ACCEPTS_501}</code>" in html
    assert "<dt>HTTP statuses seen</dt><dd>501</dd>" in html
    assert "<dt>Assertions executed</dt><dd>1</dd>" in html


def test_trend_chart_drawn_from_history() -> None:
    html = render()
    assert html.count('<polyline class="trend') == 4
    assert "Fewer than two audits" not in html
    assert "Fewer than two audits" in HtmlReporter().render(hostile_audit(), RenderContext())
