"""HTML report: one self-contained file (inline CSS and SVG, no scripts, no external requests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model import Audit
from auditor.report.base import RenderContext, environment
from auditor.report.view import Page, TrendPoint, build_page

#: Nothing may be fetched or executed: inline styles and inline SVG only.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CHART_WIDTH = 600


@dataclass(frozen=True)
class Bar:
    """One horizontal bar of a chart, geometry precomputed for the template."""

    label: str
    parts: tuple[tuple[str, float, float], ...]  # (css class, x, width)
    text: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars on a 0..``scale`` axis."""

    title: str
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...]  # (css class, label)


@dataclass(frozen=True)
class LineChart:
    """The trend: polylines over past audits."""

    title: str
    view_box: str
    axis_y: float
    lines: tuple[tuple[str, str, str], ...]  # (css class, label, "x,y x,y ...")
    labels: tuple[tuple[float, float, str, str], ...]  # x axis labels: (x, y, text-anchor, text)
    empty: bool


class HtmlReporter:
    """Writes ``report.html``: headline, matrix, charts, drill-down, trend."""

    name = "html"
    filename = "report.html"

    def render(self, audit: Audit, context: RenderContext) -> str:
        """The HTML text (escaped by jinja's autoescape; see ``templates/report.html.j2``)."""
        page = build_page(
            audit,
            history=context.history,
            findings_limit=int(context.options.get("findings", 50)),
            source_root=context.source_root,
            drill_down=True,
        )
        # The charts are drawing geometry for this format only; the page is the view model HTML shares with Markdown.
        return environment(html=True).get_template("report.html.j2").render(
            page=page,
            csp=CONTENT_SECURITY_POLICY,
            matrix_chart=matrix_chart(page),
            completion_chart=completion_chart(page),
            trend_chart=trend_chart(page.trend),
        )


def matrix_chart(page: Page) -> BarChart:
    """Per category: passed, run-but-not-passed and never-run shares of the created tests."""
    bars = []
    rows = [r for r in page.rows if not r.is_total]
    for row in rows:
        scale = CHART_WIDTH / row.created if row.created else 0.0
        passed, ran, created = row.passed * scale, row.run * scale, row.created * scale
        parts = (("c-passed", 0.0, passed), ("c-ran", passed, ran - passed), ("c-never", ran, created - ran))
        bars.append(Bar(row.label, tuple(p for p in parts if p[2] > 0), f"{row.run}/{row.created} ran, {row.passed} passed"))
    legend = (("c-passed", "passed"), ("c-ran", "ran, did not pass"), ("c-never", "never ran"))
    return BarChart("Created, run, passed per category", tuple(bars), legend)


def completion_chart(page: Page) -> BarChart:
    """Completion (with its interval) beside the claim, then each dimension."""
    scale = CHART_WIDTH / 100
    bars = []
    if page.claimed_value is not None:
        bars.append(Bar("Claimed", (("c-claim", 0.0, page.claimed_value * scale),), page.claimed))
    bars.append(Bar("Evidence", (("c-evidence", 0.0, page.completion_value * scale),), f"{page.completion} ({page.interval})"))
    for dim in page.dimensions:
        # A dimension without evidence has weight 0: an empty bar reading "0%" would look like a measured zero.
        if dim.weight == "0":
            bars.append(Bar(dim.name, (), "not counted"))
        else:
            bars.append(Bar(dim.name, (("c-dimension", 0.0, dim.percent * scale),), dim.value))
    if page.claimed_value is None:
        return BarChart("Completion from the evidence", tuple(bars), (("c-evidence", "evidence"), ("c-dimension", "dimension")))
    return BarChart("Completion: claim vs evidence", tuple(bars), (("c-claim", "claimed"), ("c-evidence", "evidence"), ("c-dimension", "dimension")))


def trend_chart(points: Sequence[TrendPoint], height: int = 160) -> LineChart:
    """Created / run / passed counts and completion (as % of the tallest count) over audits."""
    if len(points) < 2:
        return LineChart("Trend over past audits", "", 0.0, (), (), True)
    top = max(max(p.created for p in points), 1)
    last = points[-1]
    step = CHART_WIDTH / (len(points) - 1)

    def line(values: Sequence[float], maximum: float) -> str:
        return " ".join(f"{i * step:.1f},{height - (v / maximum) * (height - 10):.1f}" for i, v in enumerate(values))

    lines = (
        ("t-created", f"created (now {last.created})", line([p.created for p in points], top)),
        ("t-run", f"run (now {last.run})", line([p.run for p in points], top)),
        ("t-passed", f"passed (now {last.passed})", line([p.passed for p in points], top)),
        ("t-completion", f"completion, % scale (now {last.completion:g}%)", line([p.completion for p in points], 100.0)),
    )
    labels = ((0.0, height + 20, "start", points[0].when[:10]), (CHART_WIDTH, height + 20, "end", points[-1].when[:10]))
    return LineChart("Trend over past audits", f"-10 -10 {CHART_WIDTH + 40} {height + 40}", height, lines, labels, False)
