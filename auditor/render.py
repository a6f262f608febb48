"""Report foundation: the Reporter protocol, the registry of formats, one atomic writer, the jinja env.

Adding a format means one new ``render_<format>.py`` module and one line in :data:`REPORTERS`.
Every reporter renders from the one audit (plus history, for trends) to text; only
:func:`write_report` touches the disk, so a failed render never leaves a half-written file.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jinja2

from auditor.exceptions import ConfigError
from auditor.model import Audit

#: Top-level folder of the report templates (``report.md.j2``, ``report.html.j2``, partials).
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderContext:
    """What a reporter may use besides the audit."""

    #: Past audit summaries, oldest first (see :mod:`auditor.history`).
    history: tuple[dict[str, Any], ...] = ()
    #: Where test sources are read from for drill-downs (``None``: the audit's root).
    source_root: Path | None = None
    #: Extra, format-specific knobs (kept small; documented by each reporter).
    options: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    """A report format: a name, a default file name, and a pure render function."""

    name: str
    filename: str

    def render(self, audit: Audit, context: RenderContext) -> str:
        """Return the whole report as text."""
        ...


#: Format name -> "module:class" of its reporter, in the order ``--format all`` writes them.
REPORTERS = {
    "json": "auditor.render_json:JsonReporter",
    "markdown": "auditor.render_markdown:MarkdownReporter",
    "html": "auditor.render_html:HtmlReporter",
    "sarif": "auditor.render_sarif:SarifReporter",
}


def get_reporter(name: str) -> Reporter:
    """The reporter for format ``name``; a :class:`ConfigError` names the known formats."""
    if name not in REPORTERS:
        raise ConfigError(f"unknown report format {name!r} (known: {', '.join(REPORTERS)})")
    module_name, class_name = REPORTERS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()


def write_report(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + rename); remove the temp file on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def render_to(audit: Audit, formats: Sequence[str], output: Path, context: RenderContext | None = None) -> tuple[Path, ...]:
    """Render each format in ``formats`` and write it under ``output``; return the paths written."""
    context = context or RenderContext()
    written = []
    for name in formats:
        reporter = get_reporter(name)
        written.append(write_report(Path(output) / reporter.filename, reporter.render(audit, context)))
    return tuple(written)


def environment(*, html: bool) -> jinja2.Environment:
    """The jinja environment: strict undefined; HTML autoescaped, Markdown not."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "html.j2"]) if html else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda value: f"{value:g}%"
    env.filters["mdcell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
    return env


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
        from auditor.render_terminal import print_audit

        print_audit(audit, console)
    if "github" in wanted:
        import sys

        from auditor.render_github import emit

        emit(audit, sys.stdout, context)
    return written
