"""The pipeline and the `run` / `status` commands on the review-reproduction fixture project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.serialize import read_audit

FIXTURE = Path(__file__).parent / "fixtures" / "review"
ACCEPTS_501 = "tests/smoke/test_basic_inference.py::test_messages_endpoint"


def _copy(target: Path) -> Path:
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("reports", "__pycache__", ".pytest_cache"))
    return target


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """One `auditor run` of a copy of the review fixture: (root, exit code, stdout)."""
    root = _copy(tmp_path_factory.mktemp("pipeline") / "review")
    capture = subprocess.run([sys.executable, "-m", "auditor", "run", "--root", str(root), "--no-progress"],
                             capture_output=True, text=True, timeout=300, check=False)
    return root, capture.returncode, capture.stdout


def test_run_reproduces_the_review_matrix(ran) -> None:
    root, code, stdout = ran
    assert code == 0  # the run completed; a failing test is the gate's business
    audit = read_audit(root / "reports" / "audit.json")
    rows = {t.category: (t.created, t.run, t.passed) for t in audit.tallies}
    assert rows == {"smoke": (7, 7, 6), "e2e": (12, 0, 0), "stress": (12, 0, 0), "benchmarks": (12, 0, 0),
                    "total": (43, 7, 6)}
    assert "Test quality assessment" in stdout


def test_the_501_pass_is_a_runtime_finding(ran) -> None:
    root, _, _ = ran
    audit = read_audit(root / "reports" / "audit.json")
    runtime = [(f.rule, f.test_id, f.message) for f in audit.findings if f.origin == "runtime"]
    assert (("AUD201", ACCEPTS_501, "passed while the server answered 501 Not Implemented") in runtime)
    assert [f for f in runtime if f[0] == "AUD201"] == [("AUD201", ACCEPTS_501,
                                                         "passed while the server answered 501 Not Implemented")]
    smoke = next(s for s in audit.suites if s.name == "smoke")
    assert (smoke.status, smoke.exit_code) == ("failed", 1)
    not_run = next(s for s in audit.suites if s.name == "(not run)")
    assert {o.reason for o in not_run.outcomes} == {"not_in_suite"}
    assert len(not_run.outcomes) == 36


def test_status_from_junit_results_is_not_observed(tmp_path: Path) -> None:
    root = _copy(tmp_path / "review")
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/smoke", f"--junitxml={junit}"],
                   cwd=root, capture_output=True, timeout=120, check=False)
    assert main(["status", "--root", str(root), "--results", str(junit)]) == 0
    audit = read_audit(root / "reports" / "audit.json")
    rows = {t.category: (t.created, t.run, t.passed, t.real_infrastructure) for t in audit.tallies}
    assert rows["smoke"] == (7, 7, 6, "not observed")
    assert rows["total"][:3] == (43, 7, 6)
    assert not [f for f in audit.findings if f.origin == "runtime"]  # nothing observed, nothing judged
    assert json.loads((root / "reports" / "audit.json").read_text())["environment"]["source"] == "results"


def test_config_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.auditor]\nno_such_key = 1\n", encoding="utf-8")
    assert main(["run", "--root", str(tmp_path), "--no-progress"]) == 2
    assert "unknown key(s): no_such_key" in capsys.readouterr().err
