"""Fail loudly before running anything (issue 15): no tests, a typo'd rule id, paths naming nothing, impossible
thresholds and wrong types are one line on stderr and exit 2, and no test process was started.

Every project here has a ``conftest.py`` that writes ``STARTED`` when pytest loads it, so "nothing was run" is
checked on the file system, not taken on trust.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from review_audit import review_audit

from auditor.cli import main
from auditor.config import GateConfig
from auditor.status import gate

CONFTEST = "from pathlib import Path\n\ndef pytest_configure(config):\n    Path(__file__).with_name('STARTED').touch()\n"
TEST = "def test_adds():\n    assert 1 + 1 == 2\n"


def project(root: Path, pyproject: str = "", *, tests: bool = True) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    if tests:
        (root / "tests" / "test_math.py").write_text(TEST, encoding="utf-8")
    (root / "pyproject.toml").write_text(textwrap.dedent(pyproject), encoding="utf-8")
    return root


def auditor(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", *args, "--root", str(root)], cwd=root,
                          capture_output=True, text=True, timeout=300, check=False)


def refused(run: subprocess.CompletedProcess[str], root: Path) -> str:
    """The one stderr line of a start-up refusal, after checking that nothing ran and nothing was written."""
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    assert not (root / "tests" / "STARTED").exists(), "pytest was started"
    assert not (root / "reports").exists()
    return run.stderr.strip()


@pytest.mark.parametrize("command", ["scan", "run", "audit"])
def test_a_project_with_no_tests_is_refused_before_pytest_starts(tmp_path: Path, command: str) -> None:
    root = project(tmp_path, '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', tests=False)
    message = refused(auditor(root, command), root)
    assert message == ("auditor: error: no tests found in tests/ (test files: test_*.py, *_test.py); nothing was run "
                       "[collect-error]")


def test_a_folder_without_any_configuration_or_tests_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--root", str(tmp_path)]) == 2
    assert "no tests found in the project root" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ('[tool.auditor]\nselect = ["AUD999"]\n', "[tool.auditor] select: unknown rule 'AUD999' (expected rule ids such as"),
        ('[tool.auditor]\nignore = ["AUD101", "weak-status"]\n', "[tool.auditor] ignore: unknown rule 'weak-status'"),
        ("[tool.auditor.severity]\nAUD999 = 'low'\n", "[tool.auditor.severity]: unknown rule 'AUD999'"),
        ('[tool.auditor.gate]\nfail_on_rules = ["AUD1O1"]\n', "[tool.auditor.gate] fail_on_rules: unknown rule 'AUD1O1'"),
        ('[tool.auditor]\npaths = "nope"\n', "[tool.auditor] paths: 'nope' does not exist under"),
        ('[tool.auditor.suites.e2e]\npaths = ["tests", "tests/e2e"]\n',
         "[tool.auditor.suites.e2e] paths: 'tests/e2e' does not exist under"),
        ("[tool.auditor.gate]\nmin_completion = 150\n",
         "[tool.auditor.gate] min_completion: expected a number from 0 to 100 (completion is a percentage), got 150"),
        ("[tool.auditor.gate]\nmin_completion = -1\n", "min_completion: expected a number from 0 to 100"),
        ("[tool.auditor.gate]\nmin_quality = 10.5\n",
         "[tool.auditor.gate] min_quality: expected a number from 0 to 10 (quality is scored 0-10), got 10.5"),
        ("[tool.auditor.gate]\nmin_quality = '7'\n", "min_quality: expected a number from 0 to 10 (quality is scored 0-10), got '7'"),
        ("[tool.auditor.sprint]\nclaimed_completion = 120\n", "[tool.auditor.sprint] claimed_completion: expected a number from 0 to 100"),
        ("[tool.auditor.gate]\nfail_on_failed = 'yes'\n", "[tool.auditor.gate] fail_on_failed: expected true or false, got 'yes'"),
        ("[tool.auditor.gate]\nbaseline = 1\n", "[tool.auditor.gate] baseline: expected a file path (a string), got 1"),
        ('[tool.auditor.gate]\nnot_run_categories = ["e2e", "smoke-tests"]\n',
         "[tool.auditor.gate] not_run_categories: unknown category 'smoke-tests'"),
        ("[tool.auditor]\nreport_dir = 3\n", "[tool.auditor] report_dir: expected a folder name (a string), got 3"),
        ("[tool.auditor]\nselect = 3\n", "[tool.auditor] select: expected a string or a list of strings, got 3"),
        ("[tool.auditor.suites.unit]\npaths = ['tests']\nmarkers = 1\n",
         "[tool.auditor.suites.unit] markers: expected a pytest -m expression (a string), got 1"),
        ("[tool.auditor.status]\nweights = 'even'\n", "[tool.auditor.status] weights: expected a table of numbers, got 'even'"),
        ('[tool.auditor]\nprobe_modes = ["emtpy"]\n', "unknown probe mode(s): emtpy"),
        ('[tool.auditor.gate]\nbaseline = "baseline.json"\n', "[tool.auditor.gate] baseline: 'baseline.json' does not exist under"),
    ],
)
def test_bad_configuration_is_refused_at_start_up_with_key_value_and_expectation(tmp_path: Path, pyproject: str,
                                                                              message: str) -> None:
    root = project(tmp_path, pyproject)
    line = refused(auditor(root, "audit"), root)
    assert line.startswith("auditor: error: ") and message in line and line.endswith("[config-error]")


@pytest.mark.parametrize("command", ["scan", "run", "gate", "report"])
def test_every_command_refuses_an_unknown_rule(tmp_path: Path, command: str) -> None:
    root = project(tmp_path, '[tool.auditor]\nselect = ["AUD999"]\n')
    assert "select: unknown rule 'AUD999'" in refused(auditor(root, command), root)


def test_rule_slugs_and_existing_paths_are_accepted(tmp_path: Path) -> None:
    root = project(tmp_path, '[tool.auditor]\npaths = "tests"\nignore = ["tautology"]\n\n'
                             '[tool.auditor.severity]\nno-assertion = "low"\n\n'
                             '[tool.auditor.suites.unit]\npaths = ["tests/test_math.py::test_adds"]\n')
    run = auditor(root, "scan")
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("command", ["run", "audit"])
def test_pytest_collecting_no_test_is_refused_after_collection(tmp_path: Path, command: str) -> None:
    # The static inventory sees test_math.py; pytest is told to ignore it, so it collects nothing (exit 5).
    root = project(tmp_path)
    (root / "tests" / "conftest.py").write_text(CONFTEST + "\ncollect_ignore = ['test_math.py']\n", encoding="utf-8")
    run = auditor(root, command, *(["--no-progress"] if command == "run" else []))
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines()[-1] == ("auditor: error: pytest collected no tests (the static inventory found 1): "
                                           "suite unit: pytest exit 5; nothing was run [collect-error]")
    assert (root / "tests" / "STARTED").exists()  # this time pytest did start: the refusal comes after collection
    assert not (root / "reports" / "audit.json").exists() and not (root / "reports" / "history.jsonl").exists()


def test_an_audit_in_which_no_test_ran_never_passes_the_gate() -> None:
    audit = review_audit(with_scores=True)
    nothing = dataclasses.replace(audit, suites=tuple(dataclasses.replace(s, outcomes=()) for s in audit.suites))
    lenient = GateConfig(fail_on_not_run=False, fail_on_severity=None, fail_on_5xx_pass=False, fail_on_vacuous=False,
                         fail_on_failed=False)
    assert gate.evaluate(audit, lenient) == []
    violations = gate.evaluate(nothing, lenient)
    assert [v.check for v in violations] == ["no-tests"]
    assert str(violations[0]) == f"no-tests: no test ran ({len(audit.cases)} defined): there is nothing to pass"
