"""Markdown report in the sprint review's structure, short enough for a PR comment."""

from __future__ import annotations

from auditor.model import Audit
from auditor.report.base import RenderContext, environment
from auditor.report.view import build_page


class MarkdownReporter:
    """Writes ``report.md``: summary, critical findings, matrix, hypotheses, status, actions."""

    name = "markdown"
    filename = "report.md"

    def render(self, audit: Audit, context: RenderContext) -> str:
        """The Markdown text; ``context.options["findings"]`` caps the findings table (default 10)."""
        page = build_page(audit, history=context.history, findings_limit=int(context.options.get("findings", 10)))
        return environment(html=False).get_template("report.md.j2").render(page=page)
