"""Terminal report: the matrix with totals, completion beside the claim, red flags, top findings."""

from __future__ import annotations

import io

from review_audit import ACCEPTS_501, review_audit
from rich.console import Console

from auditor.report.terminal import print_audit, print_trend, sparkline


def render(width: int = 140) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_audit(review_audit(with_scores=True), console)
    return console.file.getvalue()


def test_matrix_rows_and_totals() -> None:
    rows = [line.split("│")[1:-1] for line in render().splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in row] for row in rows]
    # Category, created, static, collected, run, passing, flaky, deselected, platform skips, missing deps
    assert [c[:10] for c in cells] == [
        ["Smoke", "7", "7", "7", "7", "6", "0", "0", "0", "0"],
        ["E2E", "12", "12", "0", "0", "0", "0", "0", "0", "0"],
        ["Stress", "12", "12", "0", "0", "0", "0", "0", "0", "0"],
        ["Benchmarks", "12", "12", "0", "0", "0", "0", "0", "0", "0"],
        ["Total", "43", "43", "7", "7", "6", "0", "0", "0", "0"],
    ]
    assert [c[11] for c in cells] == ["7.1/10", "unknown", "unknown", "unknown", "4.1/10"]
    # every row whose static and collected counts differ says why, under the table
    assert "  Total: static 43 -> collected 7: -36 never reached (suite not run, timed out, crashed, or in no" \
        in render()


def test_headline_flags_and_findings() -> None:
    text = render()
    assert "Completion: 34.5% (interval 17.7-34.5%) vs claimed 78%" in text
    assert f"{ACCEPTS_501} passes while the server answers 501." in text
    assert "Top findings (3 of 3: 2 high, 1 medium)" in text


def test_narrow_terminal_still_shows_every_category() -> None:
    text = render(width=60)
    for label in ("Smoke", "E2E", "Stress", "Benchmarks", "Total"):
        assert label in text


def test_trend_table_and_sparkline() -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_trend([{"created": "2026-01-01", "created_tests": 43, "run": 7, "passed": 6, "completion": 29.2}, {"created": "2026-01-02", "created_tests": 43, "run": 43, "passed": 40, "completion": 80.0}], console)
    text = console.file.getvalue()
    assert "Completion: ▃▇" in text
    assert sparkline([0, 100]) == "▁█"
