"""GitHub Actions output: workflow-command annotations plus a Markdown step summary.

GitHub shows at most 10 annotations per level per step (and drops the rest silently,
actions/toolkit#734), so we emit the 10 most important of each level and list the others
in the step summary, which also carries the full Markdown report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from auditor.model import Audit, Finding
from auditor.report.base import RenderContext
from auditor.report.markdown import MarkdownReporter
from auditor.status.summary import top_findings

ANNOTATION_CAP = 10
LEVELS = {"high": "error", "medium": "warning", "low": "notice"}
#: GitHub truncates step summaries above 1 MiB; stay well below.
SUMMARY_LIMIT = 900_000


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    """The workflow command for one finding."""
    level = LEVELS.get(finding.severity, "warning")
    title = _escape_property(f"{finding.rule} {finding.slug}")
    return f"::{level} file={_escape_property(finding.path)},line={max(1, finding.line)},title={title}::{_escape_data(finding.message)}"


def split(findings: Sequence[Finding], cap: int = ANNOTATION_CAP) -> tuple[list[Finding], list[Finding]]:
    """(annotated, left for the summary): the top ``cap`` findings of each level, by importance."""
    annotated, rest = [], []
    used: dict[str, int] = {}
    for finding in top_findings(findings, None):
        level = LEVELS.get(finding.severity, "warning")
        if used.get(level, 0) < cap:
            used[level] = used.get(level, 0) + 1
            annotated.append(finding)
        else:
            rest.append(finding)
    return annotated, rest


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def step_summary(audit: Audit, rest: Sequence[Finding], context: RenderContext) -> str:
    """The Markdown report plus a table of the findings that did not get an annotation."""
    text = MarkdownReporter().render(audit, context)
    if rest:
        lines = [f"\n## Findings not shown as annotations ({len(rest)})\n", "| Severity | Rule | Where | Message |", "|---|---|---|---|"]
        lines += [f"| {f.severity} | {f.rule} {f.slug} | `{f.path}:{f.line}` | {_cell(f.message)} |" for f in rest]
        text += "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > SUMMARY_LIMIT:
        text = text.encode("utf-8")[:SUMMARY_LIMIT].decode("utf-8", "ignore") + "\n\n(truncated: see the report.md artifact)\n"
    return text


def emit(audit: Audit, out: TextIO, context: RenderContext | None = None, summary_path: str | None = None) -> int:
    """Print annotations to ``out`` and append the summary to ``summary_path``
    (default ``$GITHUB_STEP_SUMMARY``); return the number of annotations printed."""
    context = context or RenderContext()
    annotated, rest = split(audit.findings)
    for finding in annotated:
        print(annotation(finding), file=out)
    target = summary_path or os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(step_summary(audit, rest, context))
    return len(annotated)
