"""What every reporter shares: the Reporter protocol, its context, and the jinja environment of the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import jinja2

from auditor.model import Audit

#: The report templates (``report.md.j2``, ``report.html.j2``, partials) live at the top of the repository;
#: a wheel carries them inside this package as ``auditor/report/templates/`` (copied there by setup.py).
PACKAGE = "auditor.report"
PACKAGED_TEMPLATES = "templates"
REPOSITORY_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


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



def template_loader() -> jinja2.BaseLoader:
    """Where the templates are read: the installed package (a wheel), else the repository's top-level folder
    (a checkout or an editable install). Neither is an installation error, said before anything renders."""
    if resources.files(PACKAGE).joinpath(PACKAGED_TEMPLATES).is_dir():
        return jinja2.PackageLoader(PACKAGE, PACKAGED_TEMPLATES)
    if REPOSITORY_TEMPLATES.is_dir():
        return jinja2.FileSystemLoader(REPOSITORY_TEMPLATES)
    raise RuntimeError(f"the report templates are missing (neither {PACKAGE}/{PACKAGED_TEMPLATES} in the installed "
                       f"package nor {REPOSITORY_TEMPLATES}); reinstall the auditor")


def environment(*, html: bool) -> jinja2.Environment:
    """The jinja environment: strict undefined; HTML autoescaped, Markdown not."""
    env = jinja2.Environment(
        loader=template_loader(),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "html.j2"]) if html else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda value: f"{value:g}%"
    env.filters["mdcell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
    return env
