"""Which report formats exist, and producing the ones a user asked for.

Adding a format means one new module in this package and one line in :data:`REPORTERS`. Every reporter
renders from the one audit (plus history, for trends) to text; only :func:`auditor.files.write_atomic`
touches the disk, so a failed render never leaves a half-written file.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.exceptions import ConfigError
from auditor.files import write_atomic
from auditor.model import Audit
from auditor.report.base import RenderContext, Reporter
from auditor.report.github import emit
from auditor.report.html import HtmlReporter
from auditor.report.jsonreport import JsonReporter
from auditor.report.markdown import MarkdownReporter
from auditor.report.sarif import SarifReporter
from auditor.report.terminal import print_audit

#: Format name -> its reporter, in the order ``--format all`` writes them.
REPORTERS: dict[str, type[Reporter]] = {
    "json": JsonReporter,
    "markdown": MarkdownReporter,
    "html": HtmlReporter,
    "sarif": SarifReporter,
}


def get_reporter(name: str) -> Reporter:
    """The reporter for format ``name``; a :class:`ConfigError` names the known formats."""
    if name not in REPORTERS:
        raise ConfigError(f"unknown report format {name!r} (known: {', '.join(REPORTERS)})")
    return REPORTERS[name]()


def render_to(audit: Audit, formats: Sequence[str], output: Path, context: RenderContext | None = None) -> tuple[Path, ...]:
    """Render each format in ``formats`` and write it under ``output``; return the paths written."""
    context = context or RenderContext()
    written = []
    for name in formats:
        reporter = get_reporter(name)
        written.append(write_atomic(Path(output) / reporter.filename, reporter.render(audit, context)))
    return tuple(written)


#: Formats ``--format all`` produces (terminal is printed, github only under GitHub Actions).
ALL_FORMATS = ("terminal", *REPORTERS)
CLI_FORMATS = (*ALL_FORMATS, "github", "all")


def produce_reports(audit: Audit, formats: Sequence[str], output: Path, *, console: Any, history: Sequence[dict[str, Any]] = (), github: bool = False) -> tuple[Path, ...]:
    """Produce the reports a user asked for: print terminal/github ones, write the rest.

    ``"all"`` means every file format plus the terminal; ``github`` is added when
    ``github`` is true (``GITHUB_ACTIONS=true``). Returns the files written.
    """
    unknown = [name for name in formats if name not in CLI_FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format(s): {', '.join(unknown)} (known: {', '.join(CLI_FORMATS)})")
    wanted = list(dict.fromkeys(name for f in formats for name in (ALL_FORMATS if f == "all" else (f,))))
    if github and "github" not in wanted:
        wanted.append("github")
    context = RenderContext(history=tuple(history), source_root=Path(audit.root))
    written = render_to(audit, [name for name in wanted if name in REPORTERS], output, context)
    if "terminal" in wanted:
        print_audit(audit, console)
    if "github" in wanted:
        emit(audit, sys.stdout, context)
    return written
