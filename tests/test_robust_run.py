"""A run that never lies: crashes, hangs, closed output, floods, flaky tests, interruptions, and why each test failed.

Each test audits a fixture project of tests/fixtures/ for real (`python -m auditor` and its pytest subprocesses,
no mocks); the deliberately misbehaving tests live only there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from auditor.config import GateConfig, read_config
from auditor.exceptions import ConfigError
from auditor.serialize import read_audit
from auditor.status import gate

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


def _copy(name: str, into: Path) -> Path:
    root = into / name
    shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns("reports", "__pycache__", ".flaky-attempted"))
    return root


def _environment(**extra: str) -> dict[str, str]:
    environment = {**os.environ, "COLUMNS": "200", **extra}
    environment.pop("GITHUB_ACTIONS", None)
    environment.pop("AUDITOR_SABOTAGE", None)
    return environment


def _audit(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", "audit", "--root", str(root)], cwd=REPO, env=_environment(**env),
                          capture_output=True, text=True, timeout=600, check=False)


def _by_name(audit_path: Path) -> dict:
    audit = read_audit(audit_path)
    return {o.node_id.split("::")[-1]: o for s in audit.suites for o in s.outcomes}


# --- crashes, hangs, closed output, floods, flaky tests --------------------------------------------------------


@pytest.fixture(scope="module")
def robust(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """robust_project audited once: test_timeout = 5 s and reruns = 2 in its pyproject."""
    tmp = tmp_path_factory.mktemp("robust")
    root = _copy("robust_project", tmp)
    state = tmp / "state"
    state.mkdir()
    return root, _audit(root, ROBUST_FIXTURE_STATE=str(state))


def test_every_misbehaving_test_is_recorded_and_every_other_test_runs_and_passes(robust) -> None:
    root, done = robust
    assert done.returncode == 1, done.stderr  # the gate fails (crashes, a hang, a flaky test); nothing else went wrong
    outcomes = _by_name(root / "reports" / "audit.json")
    misbehaving = {"test_exits_the_process_with_code_0", "test_segfaults", "test_hangs", "test_closes_stdout_and_stderr",
                   "test_fails_first_then_passes"}
    assert len(outcomes) == 18
    assert {name for name, o in outcomes.items() if o.status == "passed"} == set(outcomes) - misbehaving
    assert not [o for o in outcomes.values() if o.status == "not_run" or o.reason == "deselected"]

    exit0 = outcomes["test_exits_the_process_with_code_0"]
    assert (exit0.status, exit0.reason) == ("crashed", "the pytest process exited with code 0 while this test ran")
    segfault = outcomes["test_segfaults"]
    assert (segfault.status, segfault.reason) == ("crashed", "the pytest process died by signal 11 (SIGSEGV) while this test ran")
    assert "Segmentation fault" in segfault.details and "test_b_segfault.py" in segfault.details
    closed = outcomes["test_closes_stdout_and_stderr"]
    assert closed.status == "crashed" and closed.reason.startswith("the test closed sys.stdout")
    hung = outcomes["test_hangs"]
    assert hung.status == "hung"
    assert hung.reason == "no result after the 5s test_timeout: killed (at tests/unit/test_c_hang.py:7 in _wait_forever)"
    assert "line 11 in test_hangs" in hung.details  # the stack dump, from outside the test process
    flaky = outcomes["test_fails_first_then_passes"]
    assert (flaky.status, flaky.flaky, flaky.reruns) == ("failed", True, ("passed",))  # the first attempt is the outcome
    assert flaky.reason == "AssertionError: first attempt fails on purpose"
    assert outcomes["test_floods_output"].status == "passed"

    audit = read_audit(root / "reports" / "audit.json")
    total = audit.tallies[-1]
    assert (total.created, total.run, total.passed, total.failed, total.crashed, total.hung, total.flaky, total.not_run) \
        == (18, 18, 13, 1, 3, 1, 1, 0)
    (suite,) = audit.suites
    assert (suite.status, suite.restarts, suite.collected) == ("failed", 4, 18)
    assert any(flag.startswith("1 test(s) flaky") for flag in audit.completion.red_flags)
    assert any(flag.startswith("1 test(s) hung") for flag in audit.completion.red_flags)


def test_with_xdist_a_dead_worker_is_a_crash_of_its_test_not_a_hang(tmp_path: Path) -> None:
    from auditor.config import SuiteConfig
    from auditor.run.runner import run_pytest

    root = _copy("robust_project", tmp_path)
    suite = SuiteConfig(name="unit", paths=("tests/unit",), category="unit", args=("-n", "2"), test_timeout=5, reruns=1)
    result = run_pytest(suite, root=root, json_path=tmp_path / "report.json",
                        env={"ROBUST_FIXTURE_STATE": str(tmp_path)})
    statuses = {o.node_id.split("::")[-1]: o.status for o in result.outcomes}
    assert {name: status for name, status in statuses.items() if status != "passed"} == {
        "test_exits_the_process_with_code_0": "crashed", "test_segfaults": "crashed", "test_hangs": "hung",
        "test_closes_stdout_and_stderr": "crashed", "test_fails_first_then_passes": "failed"}
    assert len(statuses) == 18
    flaky = next(o for o in result.outcomes if o.node_id.endswith("test_fails_first_then_passes"))
    assert (flaky.flaky, flaky.reruns) == (True, ("passed",))


def test_the_gate_names_each_crash_hang_and_flaky_test_and_fail_on_flaky_is_its_own_key(robust) -> None:
    root, done = robust
    lines = done.stdout.splitlines()
    assert "flaky: tests/unit/test_f_flaky.py::test_fails_first_then_passes is flaky: failed first (AssertionError: " \
           "first attempt fails on purpose), then re-runs passed" in lines
    assert "failed: tests/unit/test_b_segfault.py::test_segfaults crashed: the pytest process died by signal 11 " \
           "(SIGSEGV) while this test ran" in lines
    assert any(line.startswith("failed: tests/unit/test_c_hang.py::test_hangs hung: no result after") for line in lines)
    audit = read_audit(root / "reports" / "audit.json")
    tolerant = {v.key for v in gate.evaluate(audit, GateConfig(fail_on_flaky=False, fail_on_severity=None))}
    assert "flaky:tests/unit/test_f_flaky.py::test_fails_first_then_passes" not in tolerant
    assert "failed:tests/unit/test_f_flaky.py::test_fails_first_then_passes" not in tolerant
    assert "failed:tests/unit/test_b_segfault.py::test_segfaults" in tolerant


def test_flaky_has_its_own_column_in_every_report(robust) -> None:
    root, done = robust
    # Created, Static, Collected, Run, Passing, Flaky
    assert re.search(r"Passing ┃ Flaky ┃", done.stdout)
    assert re.search(r"│ Total\s+│\s+18 │\s+18 │\s+18 │\s+18 │\s+13 │\s+1 │", done.stdout)
    assert "FLAKY       tests/unit/test_f_flaky.py::test_fails_first_then_passes (re-runs: passed)" in done.stdout
    markdown = (root / "reports" / "report.md").read_text(encoding="utf-8")
    assert "| Tests Passing | Flaky |" in markdown
    assert "| **Total** | **18** | **18** | **18** | **18** | **13** | **1** |" in markdown
    html = (root / "reports" / "report.html").read_text(encoding="utf-8")
    assert "<th>Tests Passing</th><th>Flaky</th>" in html


# --- every failure says why ---------------------------------------------------------------------------------------

FAILED_ID = "tests/unit/test_pricing.py::test_discount_of_ten_percent"
WHY = "AssertionError: assert 198.0 == 180"


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = _copy("failing_project", tmp_path_factory.mktemp("failing"))
    return root, _audit(root)


def test_the_failing_assertion_is_in_the_json(failing) -> None:
    root, done = failing
    assert done.returncode == 1, done.stderr
    outcome = _by_name(root / "reports" / "audit.json")["test_discount_of_ten_percent"]
    assert (outcome.status, outcome.reason, outcome.reruns, outcome.flaky) == ("failed", WHY, ("failed", "failed"), False)
    assert "where 198.0 = apply_discount(200, 10)" in outcome.details
    assert len(outcome.details) <= 2048 and len(outcome.details.splitlines()) <= 20
    raw = json.loads((root / "reports" / "audit.json").read_text(encoding="utf-8"))
    assert WHY in {o["reason"] for s in raw["suites"] for o in s["outcomes"]}


def test_the_failing_assertion_is_in_the_terminal_output(failing) -> None:
    _, done = failing
    lines = done.stdout.splitlines()
    at = lines.index(f"  FAILED      {FAILED_ID} (re-runs: failed, failed)")
    assert lines[at + 1].strip() == WHY
    assert f"failed: {FAILED_ID} failed: {WHY}" in lines  # the gate's line too


def test_the_failing_assertion_is_in_the_markdown(failing) -> None:
    root, _ = failing
    markdown = (root / "reports" / "report.md").read_text(encoding="utf-8")
    assert f"| `{FAILED_ID}` | failed (re-runs: failed, failed) | {WHY} |" in markdown


def test_the_failing_assertion_is_in_the_html(failing) -> None:
    root, _ = failing
    html = (root / "reports" / "report.html").read_text(encoding="utf-8")
    row = re.search(rf"<tr class=\"status-failed\"><td><code>{re.escape(FAILED_ID)}</code></td>.*?</tr>", html, re.DOTALL)
    assert row and f'<code class="why">{WHY}</code>' in row.group(0)
    assert "apply_discount(200, 10)" in row.group(0)  # the traceback excerpt, folded under the line


# --- interruptions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "sent", "code"), [("audit", signal.SIGTERM, 143), ("run", signal.SIGINT, 130)])
def test_a_signal_stops_every_process_and_leaves_a_true_partial_audit(tmp_path: Path, command: str, sent: int,
                                                                      code: int) -> None:
    root = _copy("interrupt_project", tmp_path)
    with _auditor_at_work(command, root, tmp_path / "pids.json") as (auditor, started):
        stopped_at = time.monotonic()
        auditor.send_signal(sent)
        out, err = auditor.communicate(timeout=30)
        took = time.monotonic() - stopped_at
    assert auditor.returncode == code, err
    assert took < 10
    _assert_all_gone(started)  # the one that left pytest's process group included

    audit = read_audit(root / "reports" / "audit.json")
    name = signal.Signals(sent).name
    assert audit.interrupted == f"{name} during run"
    outcomes = {o.node_id.split("::")[-1]: (o.status, o.reason) for s in audit.suites for o in s.outcomes}
    assert outcomes == {
        "test_first_passes": ("passed", None),
        "test_waits_with_children": ("interrupted", f"the audit was stopped by {name} while it ran"),
        "test_never_reached_one": ("not_run", "interrupted"),
        "test_never_reached_two": ("not_run", "interrupted"),
    }
    assert f"auditor: interrupted ({name} during run): a partial audit was written" in err
    assert [v.check for v in gate.evaluate(audit, GateConfig(fail_on_not_run=False, fail_on_severity=None))] == ["interrupted"]
    if command == "audit":
        assert (root / "reports" / "report.html").is_file() and (root / "reports" / "report.md").is_file()
        assert "interrupted: the audit was stopped (SIGTERM during run)" in out


def test_a_signal_during_the_probe_stops_it_and_keeps_the_run(tmp_path: Path) -> None:
    root = _copy("interrupt_probe_project", tmp_path)
    with _auditor_at_work("audit", root, tmp_path / "pids.json") as (auditor, started):
        auditor.send_signal(signal.SIGTERM)
        _, err = auditor.communicate(timeout=30)
    assert auditor.returncode == 143, err
    _assert_all_gone(started)
    audit = read_audit(root / "reports" / "audit.json")
    assert audit.interrupted == "SIGTERM during probe"
    (outcome,) = [o for s in audit.suites for o in s.outcomes]
    assert outcome.status == "passed"  # the run finished before the probe: its results stand
    assert [(p.mode, p.result) for p in outcome.probes] == [("not-implemented", "error")]
    assert "stopped by SIGTERM" in outcome.probes[0].detail


@contextlib.contextmanager
def _auditor_at_work(command: str, root: Path, pids_file: Path) -> Iterator[tuple[subprocess.Popen[str],
                                                                                    list[psutil.Process]]]:
    """``auditor COMMAND`` on ``root``, once its fixture wrote the pids of what it started (in ``pids_file``):
    (the process, every process it and its tests started). Killed as a group on the way out if still alive."""
    auditor = subprocess.Popen([sys.executable, "-m", "auditor", command, "--root", str(root)], cwd=REPO,
                               env=_environment(INTERRUPT_FIXTURE_PIDS=str(pids_file)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not pids_file.exists() and auditor.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids_file.exists(), auditor.communicate()
        started = [psutil.Process(pid) for pid in json.loads(pids_file.read_text()).values()]
        started += psutil.Process(auditor.pid).children(recursive=True)
        yield auditor, started
    finally:
        if auditor.poll() is None:
            os.killpg(auditor.pid, signal.SIGKILL)
            auditor.wait()


def _assert_all_gone(processes: list[psutil.Process], seconds: float = 5.0) -> None:
    # SIGKILL is sent before the auditor exits, but on a loaded machine the kernel may take a moment to finish
    # tearing a killed process down: wait for that (bounded), then the assertion that none is left is exact.
    deadline = time.monotonic() + seconds
    while any(_running(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.pid for p in processes if _running(p)] == []


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --- progress lines and configuration ------------------------------------------------------------------------------

WRITER = """
import sys, threading
from auditor.run.progress import write_line

def work(index):
    for line in range(400):
        write_line(f"auditor: probe session {index}: line {line} " + "x" * (index * 37 % 200))

threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_progress_lines_from_many_threads_stay_whole_lines() -> None:
    done = subprocess.run([sys.executable, "-c", WRITER], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    lines = done.stderr.splitlines()
    assert len(lines) == 8 * 400
    assert all(re.fullmatch(r"auditor: probe session (\d): line \d+ x*", line) for line in lines)


@pytest.mark.parametrize(("table", "message"), [
    ("test_timeout = 0", "test_timeout: expected a positive number, got 0"),
    ('test_timeout = "5m"', "test_timeout: expected a positive number, got '5m'"),
    ("reruns = -1", "reruns: expected a whole number >= 0, got -1"),
    ("reruns = 1.5", "reruns: expected a whole number >= 0, got 1.5"),
    ('[tool.auditor.gate]\nfail_on_flaky = "yes"', "fail_on_flaky: expected true or false"),
])
def test_test_timeout_reruns_and_fail_on_flaky_are_validated(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.auditor]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_config(tmp_path)


def test_test_timeout_and_reruns_reach_every_suite(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.auditor]\ntest_timeout = 20\nreruns = 0\n[tool.auditor.suites.e2e]\npaths = ['tests/e2e']\n"
        "[tool.auditor.suites.slow]\npaths = ['tests/slow']\ntest_timeout = 900\n", encoding="utf-8")
    config = read_config(tmp_path)
    assert (config.test_timeout, config.reruns, config.gate.fail_on_flaky) == (20.0, 0, True)
    assert [(s.name, s.test_timeout, s.reruns) for s in config.suites] == [("e2e", 20.0, 0), ("slow", 900.0, 0)]
    bare = tmp_path / "bare"
    bare.mkdir()
    assert (read_config(bare).test_timeout, read_config(bare).reruns) == (300.0, 2)
