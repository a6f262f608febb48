"""`auditor scan` and `auditor rules` through the real CLI entry point: output, JSON, exit codes, cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.collect.rules.catalogue import all_rules
from auditor.serialize import read_audit

WEAK = (Path(__file__).parent / "fixtures" / "scan_project" / "test_api.py").read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\ntestpaths = ['tests']\n")
    (tmp_path / "tests" / "smoke").mkdir(parents=True)
    (tmp_path / "tests" / "smoke" / "test_api.py").write_text(textwrap.dedent(WEAK))
    (tmp_path / "tests" / "test_ok.py").write_text("def test_ok():\n    assert add(1, 2) == 3\n")
    return tmp_path


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the installed entry point in a subprocess (the CLI as users run it)."""
    result = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    return result.returncode, result.stdout, result.stderr


def test_table_lists_categories_and_findings_and_fails_on_high(project: Path) -> None:
    code, out, _ = run_cli("scan", "--root", str(project))
    assert code == 1
    assert "│ smoke    │       2 │" in out and "│ unit     │       1 │" in out
    assert "HIGH   AUD101 tests/smoke/test_api.py:5 error-status-accepted" in out
    assert "MEDIUM AUD104 tests/smoke/test_api.py:9 status-only-response" in out


@pytest.mark.parametrize(("fail_on", "expected"), [("high", 1), ("medium", 1), ("low", 1), ("none", 0)])
def test_fail_on_sets_the_exit_code(project: Path, fail_on: str, expected: int) -> None:
    assert main(["scan", "--root", str(project), "--fail-on", fail_on, "--no-cache"]) == expected


def test_clean_project_exits_zero(project: Path) -> None:
    assert main(["scan", "--root", str(project), str(project / "tests" / "test_ok.py"), "--no-cache"]) == 0


def test_json_output_is_a_readable_audit(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    code, _, err = run_cli("scan", "--root", str(project), "--format", "json", "--output", str(out))
    assert code == 1 and f"wrote {out}" in err
    audit = read_audit(out)
    assert sorted(c.id for c in audit.cases) == [
        "tests/smoke/test_api.py::test_accepts_501",
        "tests/smoke/test_api.py::test_status_only",
        "tests/test_ok.py::test_ok",
    ]
    assert [(f.rule, f.test_id) for f in audit.findings] == [
        ("AUD101", "tests/smoke/test_api.py::test_accepts_501"),
        ("AUD104", "tests/smoke/test_api.py::test_status_only"),
    ]
    assert json.loads(out.read_text())["format"] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "--format", "xml"],
        ["scan", "--fail-on", "critical"],
        ["scan", "no/such/dir"],
        ["rules", "--format", "pdf"],
    ],
    ids=["format", "fail-on", "path", "rules-format"],
)
def test_usage_errors_are_one_line_and_exit_2(project: Path, args: list[str]) -> None:
    code, out, err = run_cli(*args, *(["--root", str(project)] if args[0] == "scan" else []))
    assert code == 2
    assert err.startswith("auditor: error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_rules_lists_every_origin(tmp_path: Path) -> None:
    code, out, _ = run_cli("rules", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    assert [r["id"] for r in listed] == [r.id for r in all_rules()]
    assert {"static", "scan"} <= {r["origin"] for r in listed}


ACCURACY_MARKER = "<!-- measured accuracy: not generated -->"


def test_docs_rules_md_is_generated_from_the_registry() -> None:
    code, out, _ = run_cli("rules", "--format", "markdown")
    assert code == 0
    docs = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    # The catalogue is generated; the measured accuracy after it is written from bench/blind_accuracy.py runs.
    generated, marker, measured = docs.read_text(encoding="utf-8").partition(ACCURACY_MARKER)
    assert generated == out, "regenerate: auditor rules --format markdown, then keep the accuracy section after it"
    assert marker and "precision" in measured


def test_cache_answers_an_unchanged_tree_and_notices_an_edit(project: Path, tmp_path: Path) -> None:
    first, second, third = (tmp_path / f"{n}.json" for n in ("first", "second", "third"))
    base = ["scan", "--root", str(project), "--format", "json", "--fail-on", "none", "--output"]
    assert main([*base, str(first)]) == 0
    assert (project / ".auditor_cache" / "scan-v2.jsonl").is_file()
    assert main([*base, str(second)]) == 0
    assert read_audit(second).findings == read_audit(first).findings
    assert read_audit(second).cases == read_audit(first).cases
    weak = project / "tests" / "smoke" / "test_api.py"
    # the edit drops the 501 and the name that claimed it (a test that "accepts" something claims a status)
    weak.write_text(weak.read_text().replace("(200, 501)", "(200,)").replace("test_accepts_501", "test_completions"))
    assert main([*base, str(third)]) == 0
    assert [f.rule for f in read_audit(third).findings] == ["AUD104", "AUD104"]


def test_scanning_a_project_from_elsewhere_roots_it_at_its_pyproject(project: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "scan.json"
    tests_dir = next(p for p in project.iterdir() if p.is_dir() and p.name.startswith("test"))
    assert main(["scan", str(tests_dir), "--format", "json", "--fail-on", "none", "--output", str(out)]) == 0
    audit = json.loads(out.read_text())
    assert audit["root"] == str(project.resolve())
    assert audit["cases"] and all(not case["path"].startswith("/") for case in audit["cases"])
    assert (project / ".auditor_cache").is_dir() and not (elsewhere / ".auditor_cache").exists()


def test_scanning_a_path_that_does_not_exist_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_the_scan_path_does_not_import_the_report_templating() -> None:
    # jinja2 costs ~20 ms of a scan that takes ~0.3 s on a small tree; only the full reports need it
    code = "import sys, auditor.cli, auditor.report.scan, auditor.collect.scan; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
