"""auditor.run.runner: real pytest subprocesses that pass, fail, time out, crash, or find nothing."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import pytest
from projects import SERVER_CONFTEST

from auditor.collect.inventory import collect
from auditor.config import SuiteConfig, read_config
from auditor.run.observe import reconcile
from auditor.run.progress import Progress
from auditor.run.runner import default_suites, run_pytest, run_suites


def _statuses(result) -> dict[str, tuple[str, str | None]]:
    return {o.node_id.split("::")[-1]: (o.status, o.reason) for o in result.outcomes}


def test_completed_and_failed_suites_keep_exit_code_and_observations(make_project, tmp_path: Path) -> None:
    root = make_project({"conftest.py": SERVER_CONFTEST, "tests/smoke/test_a.py": '''
        import httpx

        def test_ok(server):
            assert httpx.get(server + "/ok").json() == {"path": "/ok"}

        def test_wrong(server):
            assert httpx.get(server + "/todo").status_code == 200
    '''})
    suite = SuiteConfig(name="smoke", paths=("tests/smoke",), category="smoke", timeout=120)
    result = run_pytest(suite, root=root, json_path=tmp_path / "r.json")
    assert (result.status, result.exit_code, result.collected) == ("failed", 1, 2)
    assert _statuses(result) == {"test_ok": ("passed", None), "test_wrong": ("failed", "AssertionError: assert 501 == 200")}
    wrong = next(o for o in result.outcomes if o.node_id.endswith("test_wrong"))
    assert (wrong.reruns, wrong.flaky) == (("failed", "failed"), False)  # re-run twice (the default), failed twice
    assert "tests/smoke/test_a.py:7: AssertionError" in wrong.details
    assert [x.status for x in wrong.observation.http] == [501]
    # sys.monitoring (3.12+) counts the assert reached; 3.11 cannot count without changing the run: -1
    assert wrong.observation.assertions == (1 if sys.version_info >= (3, 12) else -1)
    assert "--audit" in result.command


def test_timeout_kills_the_process_group_and_keeps_partial_results(make_project, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    root = make_project({"tests/stress/test_slow.py": f'''
        import subprocess, sys, threading

        def test_fast():
            assert 1 + 1 == 2

        def test_hangs():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            open({str(pid_file)!r}, "w").write(str(child.pid))
            threading.Event().wait()
    '''})
    suite = SuiteConfig(name="stress", paths=("tests/stress",), category="stress", timeout=4)
    started = time.monotonic()
    result = run_pytest(suite, root=root, json_path=tmp_path / "r.json")
    assert time.monotonic() - started < 30
    assert result.status == "timed_out"
    assert result.message == "killed after the 4s timeout"
    assert _statuses(result) == {"test_fast": ("passed", None),
                                 "test_hangs": ("interrupted", "the suite's 4s timeout expired while it ran")}
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child of the dead pytest may linger as a zombie until init reaps it
    status = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "Z"
    return status != "Z"


def test_interpreter_abort_is_the_crash_of_its_test_and_the_suite_goes_on(make_project, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_crash.py": '''
        import os

        def test_first():
            assert 2 * 2 == 4

        def test_aborts():
            os.abort()

        def test_never_reached():
            assert 3 == 3
    '''})
    suite = SuiteConfig(name="unit", paths=("tests/unit",), category="unit", timeout=120)
    result = run_pytest(suite, root=root, json_path=tmp_path / "r.json")
    assert (result.status, result.exit_code, result.restarts, result.collected) == ("failed", 0, 1, 3)
    assert result.message.startswith("pytest started again 1 time(s) after a crash or hang")
    assert _statuses(result) == {
        "test_first": ("passed", None),
        "test_aborts": ("crashed", "the pytest process died by signal 6 (SIGABRT) while this test ran"),
        "test_never_reached": ("passed", None)}
    aborted = next(o for o in result.outcomes if o.status == "crashed")
    assert "Fatal Python error: Aborted" in aborted.details and "test_crash.py" in aborted.details


def test_only_what_pytest_deselected_is_deselected_and_a_session_ended_by_a_test_goes_on(make_project) -> None:
    root = make_project({
        "pyproject.toml": """
            [tool.pytest.ini_options]
            markers = ["slow: slow tests"]

            [tool.auditor.suites.unit]
            paths = ["tests/unit"]
            markers = "not slow"
        """,
        "tests/unit/test_u.py": """
            import os

            import pytest


            def test_fast():
                assert 1 < 2


            @pytest.mark.slow
            def test_slow():
                assert 2 < 3


            def test_ends_the_session():
                os._exit(0)


            def test_after():
                assert 3 < 4
        """,
    })
    config = read_config(root)
    inventory = collect(config)
    suites = reconcile(inventory, run_suites(config, inventory))
    outcomes = {o.node_id.split("::")[-1]: (o.status, o.reason) for s in suites for o in s.outcomes}
    assert outcomes == {
        "test_fast": ("passed", None),
        "test_slow": ("not_run", "deselected"),
        "test_ends_the_session": ("crashed", "the pytest process exited with code 0 while this test ran"),
        "test_after": ("passed", None),
    }
    assert suites[0].deselected_ids == ("tests/unit/test_u.py::test_slow",)
    assert (suites[0].collected, suites[0].deselected, suites[0].restarts) == (3, 1, 1)


def test_what_the_projects_own_lf_drops_while_collecting_is_deselected_exactly(make_project) -> None:
    # --lf in the project's addopts: pytest trims a file to its last failures and skips a file without any
    # while collecting (no pytest_deselected); the plugin sees both, so neither is "not_collected".
    root = make_project({
        "pyproject.toml": """
            [tool.pytest.ini_options]
            addopts = "--lf"

            [tool.auditor]
            reruns = 0
        """,
        "tests/unit/test_a.py": """
            import pytest


            def test_fails():
                assert 1 + 1 == 3


            @pytest.mark.parametrize("x", [1, 2])
            def test_passes(x):
                assert x > 0
        """,
        "tests/unit/test_b.py": """
            def test_other():
                assert 2 > 1
        """,
    })
    config = read_config(root)
    inventory = collect(config)
    run_suites(config, inventory)  # the first run leaves the failure in pytest's own cache
    suites = reconcile(inventory, run_suites(config, inventory))
    outcomes = {o.node_id.split("::")[-1]: (o.status, o.reason) for s in suites for o in s.outcomes}
    assert outcomes == {
        "test_fails": ("failed", "AssertionError: assert (1 + 1) == 3"),
        "test_passes[1]": ("not_run", "deselected"),
        "test_passes[2]": ("not_run", "deselected"),
        "test_other": ("not_run", "deselected"),
    }
    assert suites[0].deselected_ids == ("tests/unit/test_a.py::test_passes[1]", "tests/unit/test_a.py::test_passes[2]",
                                        "tests/unit/test_b.py")


def test_no_tests_is_exit_code_5(make_project, tmp_path: Path) -> None:
    root = make_project({"tests/e2e/helpers.py": "VALUE = 1\n"})
    suite = SuiteConfig(name="e2e", paths=("tests/e2e",), category="e2e", timeout=120)
    result = run_pytest(suite, root=root, json_path=tmp_path / "r.json")
    assert (result.status, result.exit_code, result.outcomes) == ("no_tests", 5, ())


def test_default_suites_one_per_category_and_progress_lines(make_project) -> None:
    root = make_project({
        "tests/smoke/test_s.py": "def test_s():\n    assert 'a'.upper() == 'A'\n",
        "tests/e2e/flows/test_e.py": "def test_e():\n    assert [1, 2][-1] == 2\n",
        "tests/e2e/test_e2.py": "def test_e2():\n    assert {'k': 1}['k'] == 1\n",
    })
    config = read_config(root)
    inventory = collect(config)
    suites = default_suites(config, inventory)
    assert [(s.name, s.paths) for s in suites] == [("e2e", ("tests/e2e",)), ("smoke", ("tests/smoke",))]
    results = run_suites(config, inventory, progress=False, only=("smoke",))
    assert [(r.name, r.status, len(r.outcomes)) for r in results] == [("e2e", "not_run", 0), ("smoke", "completed", 1)]
    not_run = reconcile(inventory, results)[-1].outcomes
    assert sorted((o.node_id, o.reason) for o in not_run) == [
        ("tests/e2e/flows/test_e.py::test_e", "suite_not_run"), ("tests/e2e/test_e2.py::test_e2", "suite_not_run")]


def test_progress_prints_plain_lines_when_not_a_terminal(make_project, tmp_path: Path) -> None:
    root = make_project({"tests/smoke/test_s.py": "def test_s():\n    assert 'a'.upper() == 'A'\n"})
    stream = io.StringIO()
    suite = SuiteConfig(name="smoke", paths=("tests/smoke",), category="smoke", timeout=120)
    with Progress(enabled=True, stream=stream) as progress:
        progress.suite_started(suite.name, suite.paths)
        events: list[dict] = []

        def sink(record: dict) -> None:
            events.append(record)
            progress.event(record)

        result = run_pytest(suite, root=root, json_path=tmp_path / "r.json", on_event=sink)
        progress.suite_finished(result)
    assert [e["event"] for e in events] == ["collected", "start", "finished"]
    assert stream.getvalue().splitlines()[0] == "auditor: suite smoke: running tests/smoke"
    assert stream.getvalue().splitlines()[1].startswith("auditor: suite smoke: completed in ")


def test_unknown_suite_name_is_a_run_error(make_project) -> None:
    from auditor.exceptions import RunError

    root = make_project({"tests/smoke/test_s.py": "def test_s():\n    assert 'a'.upper() == 'A'\n"})
    config = read_config(root)
    with pytest.raises(RunError, match="no suite named nope"):
        run_suites(config, collect(config), only=("nope",))


def test_audited_runs_share_pyc_files_with_plain_pytest(make_project, tmp_path: Path, monkeypatch) -> None:
    # The audited run compiles test modules exactly as plain pytest does, so it reuses (and leaves) the same pyc
    # files in __pycache__: no private PYTHONPYCACHEPREFIX, and no slower start than plain pytest.
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    root = make_project({"tests/test_p.py": "import os\n\ndef test_p():\n    assert 'PYTHONPYCACHEPREFIX' not in os.environ\n"})
    suite = SuiteConfig(name="unit", paths=("tests",), category="unit", timeout=120)
    result = run_pytest(suite, root=root, json_path=tmp_path / "r.json")
    assert _statuses(result) == {"test_p": ("passed", None)}
    assert [p.name for p in (root / "tests" / "__pycache__").iterdir()] == [
        f"test_p.{sys.implementation.cache_tag}-pytest-{pytest.__version__}.pyc"]
