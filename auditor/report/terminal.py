"""Terminal report (rich): the matrix, completion beside the claim, red flags, top findings."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.collect.rules.registry import measured_right
from auditor.model import Audit
from auditor.status.evidence import collect_evidence
from auditor.status.summary import (
    category_label,
    failures,
    location,
    matrix_rows,
    severity_counts,
    top_findings,
)

TONE_STYLES = {"ok": "green", "warn": "yellow", "bad": "bold red", "unknown": "red"}
SEVERITY_STYLES = {"high": "bold red", "medium": "yellow", "low": "cyan"}


#: Width when output goes to a file or CI log: rich's default of 80 columns truncates the matrix headers.
PIPE_WIDTH = 120


def make_console() -> Console:
    """A console for the CLI: the terminal's own width, or PIPE_WIDTH when not a terminal and COLUMNS is unset."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        return Console(width=PIPE_WIDTH)
    return console


FAILURE_STYLES = {"CRASHED": "bold red", "HUNG": "bold red", "ERROR": "red", "FAILED": "red", "FLAKY": "bold magenta",
                  "INTERRUPTED": "yellow"}


def print_audit(audit: Audit, console: Console, *, findings: int = 10, failed: int = 20) -> None:
    """Print the matrix with totals, the completion headline, red flags, the first ``failed`` failures with
    why each failed, and the top ``findings``."""
    console.print(matrix_table(audit))
    for row in matrix_rows(audit):
        if row.gap:
            console.print(Text(f"  {row.label}: static {row.static} -> collected {row.collected}: {row.gap}", style="dim"))
    completion = audit.completion
    if completion is not None:
        line = Text("Completion: ")
        line.append(f"{completion.value:g}%", style="bold")
        line.append(f" (interval {completion.low:g}-{completion.high:g}%)")
        if completion.claimed is not None:
            line.append(" vs claimed ")
            style = "bold red" if completion.claimed - completion.value > 15 else "bold"
            line.append(f"{completion.claimed:g}%", style=style)
        console.print(line)
        if completion.red_flags:
            console.print(Text("Red flags", style="bold red"))
            for flag in completion.red_flags:
                console.print(Text("  ! ", style="bold red") + Text(flag))
    print_failures(audit, console, limit=failed)
    shown = top_findings(audit.findings, findings)
    if shown:
        counts = severity_counts(audit.findings)
        summary = ", ".join(f"{n} {level}" for level, n in counts.items() if n)
        console.print(Text(f"Top findings ({len(shown)} of {len(audit.findings)}: {summary})", style="bold"))
        for finding in shown:
            row = Text("  ")
            row.append(f"{finding.severity.upper():<6}", style=SEVERITY_STYLES.get(finding.severity, ""))
            row.append(f" {finding.rule} ", style="bold")
            row.append(f"{location(finding)}  ", style="dim")
            row.append(finding.message)
            right = measured_right(finding.rule)
            if right:
                row.append(f"  (rule right {right} on strangers' tests)", style="dim")
            console.print(row)


def print_failures(audit: Audit, console: Console, *, limit: int = 20) -> None:
    """Each test that failed, errored, crashed, hung or was interrupted, with the first line of why."""
    rows = failures(collect_evidence(audit))
    if not rows:
        return
    console.print(Text(f"Failures ({min(limit, len(rows))} of {len(rows)})", style="bold"))
    for row in rows[:limit]:
        line = Text("  ")
        line.append(f"{row.label:<11}", style=FAILURE_STYLES.get(row.label, ""))
        line.append(f" {row.node_id}")
        if row.reruns:
            line.append(f" (re-runs: {row.reruns})", style="dim")
        console.print(line)
        console.print(Text("      " + row.why, style="dim" if row.why == "no reason recorded" else ""))


def matrix_table(audit: Audit) -> Table:
    """The test quality assessment matrix as a rich table."""
    table = Table(title="Test quality assessment", title_justify="left", show_lines=False)
    for name, justify in (
        ("Category", "left"),
        ("Created", "right"),
        ("Static", "right"),
        ("Collected", "right"),
        ("Run", "right"),
        ("Passing", "right"),
        ("Flaky", "right"),
        ("Deselected", "right"),
        ("Platform\nskips", "right"),
        ("Missing\ndeps", "right"),
        ("Real\ninfra", "left"),
        ("Quality", "left"),
        ("Kill\nrate", "right"),
    ):
        # The category must stay readable when the terminal is narrow; headers may wrap instead.
        keep = {"Category": len("Benchmarks"), "Quality": len("unknown")}
        # On a narrow terminal the other headers fold rather than end in an ellipsis.
        table.add_column(name, justify=justify, no_wrap=name in keep, min_width=keep.get(name),  # type: ignore[arg-type]
                         overflow="fold")
    for row in matrix_rows(audit):
        style = TONE_STYLES.get(row.tone, "")
        table.add_row(
            Text(row.label, style="bold" if row.is_total else ""),
            row.created_label,
            row.static,
            str(row.collected),
            Text(str(row.run), style="" if row.run == row.created else "bold red"),
            str(row.passed),
            Text(str(row.flaky), style="bold magenta" if row.flaky else ""),
            str(row.deselected),
            str(row.skipped_platform),
            Text(str(row.skipped_dependency), style="yellow" if row.skipped_dependency else ""),
            row.infrastructure,
            Text(row.quality, style=style),
            row.kill_rate,
            end_section=False,
            style="bold" if row.is_total else None,
        )
    return table


def print_probes(audit: Audit, console: Console, *, survivors: int = 20) -> None:
    """Kill rate per sabotage mode and category, then the tests that survived a mode (the first ``survivors``)."""
    from auditor.model import CATEGORIES
    from auditor.probe.sessions import kill_counts

    counts = kill_counts(audit)
    if not counts:
        console.print("No test was probed: no test that passed made an HTTP call (try `auditor probe --all`).")
        return
    columns = [c for c in (*CATEGORIES, "total") if any(c in per for per in counts.values())]
    table = Table(title="Sabotage kill rate by mode (killed / probed)", title_justify="left")
    table.add_column("Mode", no_wrap=True)
    for column in columns:
        table.add_column(category_label(column), justify="right")
    for mode in (m for m in audit.probe_modes if m in counts):
        cells = []
        for column in columns:
            killed, judged = counts[mode].get(column, (0, 0))
            cells.append(f"{killed}/{judged} ({killed / judged:.0%})" if judged else "—")
        table.add_row(mode, *cells)
    console.print(table)
    lost = [(o.node_id, p) for s in audit.suites for o in s.outcomes for p in o.probes
            if p.result == "survived" and p.claimed]
    if lost:
        console.print(Text(f"Survivors ({len(lost)}): these tests still passed under sabotage", style="bold"))
        for node_id, result in lost[:survivors]:
            console.print(Text("  ") + Text(f"{result.mode:<17}", style="yellow") + Text(node_id))


def print_trend(entries: Sequence[dict[str, Any]], console: Console) -> None:
    """Past audits as a table (oldest first) with a sparkline of completion."""
    if not entries:
        console.print("No audits in the history yet: run `auditor audit` (each audit appends one line).")
        return
    table = Table(title="Audit trend", title_justify="left")
    for name in ("When", "Created", "Run", "Passed", "Completion", "Claimed", "Quality", "High findings"):
        table.add_column(name, justify="left" if name == "When" else "right", no_wrap=name == "When")
    for entry in entries:
        completion = entry.get("completion")
        claimed = entry.get("claimed")
        quality = entry.get("quality")
        table.add_row(
            str(entry.get("created", ""))[:16].replace("T", " "),
            str(entry.get("created_tests", 0)),
            str(entry.get("run", 0)),
            str(entry.get("passed", 0)),
            "—" if completion is None else f"{completion:g}%",
            "—" if claimed is None else f"{claimed:g}%",
            "—" if quality is None else f"{quality:g}/10",
            str(entry.get("findings", {}).get("high", 0)),
        )
    console.print(table)
    values = [float(e.get("completion") or 0.0) for e in entries]
    console.print("Completion: " + sparkline(values))


def sparkline(values: Sequence[float], top: float = 100.0) -> str:
    """Unicode block sparkline of ``values`` on a 0..``top`` scale."""
    blocks = "▁▂▃▄▅▆▇█"
    return "".join(blocks[min(len(blocks) - 1, int(max(0.0, v) / top * (len(blocks) - 1) + 0.5))] for v in values)
