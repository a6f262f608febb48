"""Outcome parity: `auditor run` gives every test the outcome plain pytest gives it, with the project's own config.

tests/fixtures/parity_project makes every warning an error and has ``--lf`` in its addopts; its tests leak a
socket and a file, call a deprecated function, use the ``cache`` fixture and look at the environment and the
options pytest runs with. Each side runs twice in its own copy (``--lf`` makes the second run depend on what the
first left in ``.pytest_cache``), and every outcome, deselection included, must be the same.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from auditor.config import SuiteConfig
from auditor.run.observe import NOT_RUN_SUITE
from auditor.run.runner import pytest_command
from auditor.serialize import read_audit

PROJECT = Path(__file__).parent / "fixtures" / "parity_project"
COUNTED = sys.version_info >= (3, 12)  # sys.monitoring counts assertions; 3.11 reports them as not observed


def _copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(PROJECT, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")))


def _plain(root: Path) -> dict[str, str]:
    """Plain pytest's outcome per node id (pytest-json-report, which the auditor's venv has anyway)."""
    report = root / "plain.json"
    subprocess.run([sys.executable, "-m", "pytest", "--json-report", f"--json-report-file={report}"], cwd=root,
                   capture_output=True, timeout=300, check=False)
    data = json.loads(report.read_text(encoding="utf-8"))
    outcomes = {test["nodeid"]: test["outcome"] for test in data["tests"]}
    for collector in data["collectors"]:
        outcomes.update({c["nodeid"]: "deselected" for c in collector["result"] if c.get("deselected")})
    return outcomes


def _audited(root: Path) -> dict[str, str]:
    out = root / "audit.json"
    done = subprocess.run([sys.executable, "-m", "auditor", "run", "--no-progress", "-o", str(out)], cwd=root,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    outcomes = {}
    for suite in read_audit(out).suites:
        if suite.name == NOT_RUN_SUITE:  # the auditor's account of tests pytest never collected: compared below
            continue
        for outcome in suite.outcomes:
            if outcome.status != "not_run":
                outcomes[outcome.node_id] = outcome.status
            elif outcome.reason == "deselected":
                outcomes[outcome.node_id] = "deselected"
    return outcomes


def test_every_outcome_matches_plain_pytest_on_the_first_and_the_second_run(tmp_path: Path) -> None:
    plain_root, audited_root = _copy(tmp_path, "plain"), _copy(tmp_path, "audited")
    first = _plain(plain_root)
    assert _audited(audited_root) == first
    prefix = "tests/test_outcomes.py::"
    assert first == {prefix + name: outcome for name, outcome in {
        "test_leaks_a_socket": "failed",  # filterwarnings = error: the leak's ResourceWarning fails it
        "test_leaks_a_file": "failed",
        "test_uses_a_deprecated_call": "failed",
        "test_uses_the_cache_fixture": "passed",  # the cache fixture exists (no -p no:cacheprovider)
        "test_sees_the_environment_plain_pytest_gives": "passed",
        "test_sees_the_configuration_plain_pytest_gives": "passed",
        "test_passes": "passed",
        "test_fails": "failed",
    }.items()}
    second = _plain(plain_root)  # --lf: only the four that failed run again; pytest never collects the others
    assert _audited(audited_root) == second
    assert second == {node: outcome for node, outcome in first.items() if outcome == "failed"}
    audit = read_audit(audited_root / "audit.json")
    assert sorted(o.node_id for s in audit.suites for o in s.outcomes if o.reason == "deselected") == [
        prefix + "test_passes", prefix + "test_sees_the_configuration_plain_pytest_gives",
        prefix + "test_sees_the_environment_plain_pytest_gives", prefix + "test_uses_the_cache_fixture"]
    total = audit.tallies[-1]
    assert (total.created, total.collected, total.deselected, total.run, total.passed) == (8, 4, 4, 4, 0)


def test_leaks_are_still_observed_though_no_warning_filter_was_added(tmp_path: Path) -> None:
    root = _copy(tmp_path, "audited")
    _audited(root)
    outcomes = {o.node_id.split("::")[-1]: o for s in read_audit(root / "audit.json").suites for o in s.outcomes}
    for name in ("test_leaks_a_socket", "test_leaks_a_file"):
        warnings = outcomes[name].observation.warnings
        assert [w.category for w in warnings if w.category == "ResourceWarning"] == ["ResourceWarning"], name
    assert outcomes["test_passes"].observation.assertions == (1 if COUNTED else -1)


def test_the_command_line_adds_only_the_plugins_own_inert_options(tmp_path: Path) -> None:
    suite = SuiteConfig(name="unit", paths=("tests",), category="unit", args=("-x",))
    command = pytest_command(suite, json_path=tmp_path / "r.json", stream_path=tmp_path / "s.jsonl")
    added = command[command.index("tests") + 1:]
    assert [a.split("=")[0] for a in added] == ["--json-report", "--json-report-file", "--audit", "--audit-stream", "-x"]
