"""What every reporter shares: the Reporter protocol, its context, and the jinja environment of the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jinja2

from auditor.model import Audit

#: Top-level folder of the report templates (``report.md.j2``, ``report.html.j2``, partials).
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class RenderContext:
    """What a reporter may use besides the audit."""

    #: Past audit summaries, oldest first (see :mod:`auditor.status.history`).
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
