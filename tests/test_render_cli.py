"""`auditor report`: every format from one audit JSON, GitHub output under GitHub Actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_audit import review_audit

from auditor.cli import main
from auditor.serialize import dumps

REVIEW = review_audit(with_scores=True)


@pytest.fixture
def audit_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.json"
    path.write_text(dumps(REVIEW), encoding="utf-8")
    return path


def test_report_all_writes_every_file_and_prints_the_matrix(tmp_path: Path, audit_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    out = tmp_path / "out"
    assert main(["report", "--audit", str(audit_file), "--output", str(out), "--root", str(tmp_path)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["audit.json", "audit.sarif", "report.html", "report.md"]
    printed = capsys.readouterr().out
    assert "Test quality assessment" in printed
    assert f"wrote {out / 'report.html'}" in printed
    assert "::error" not in printed


def test_report_under_github_actions_adds_annotations_and_summary(tmp_path: Path, audit_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["report", "--audit", str(audit_file), "-f", "markdown", "-o", str(tmp_path / "o"), "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[0] for line in lines if line.startswith("::")] == ["::error", "::error", "::warning"]
    assert summary.read_text(encoding="utf-8").startswith("# Test audit: review")


def test_report_single_format_and_bad_format(tmp_path: Path, audit_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--audit", str(audit_file), "-f", "sarif", "-o", str(tmp_path / "s"), "--root", str(tmp_path)]) == 0
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["audit.sarif"]
    assert main(["report", "--audit", str(audit_file), "-f", "pdf", "--root", str(tmp_path)]) == 2
    assert "unknown report format(s): pdf" in capsys.readouterr().err
