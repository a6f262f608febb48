"""The auditor's pytest plugin in real pytest subprocesses (``pytester``), with and without xdist."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from projects import SERVER_CONFTEST

pytest_plugins = ["pytester"]

TESTS = (Path(__file__).parent / "fixtures" / "plugin_project" / "test_things.py").read_text(encoding="utf-8")


@pytest.fixture
def write_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Write ``{relative path: source}`` (dedented) into pytester's folder and return it."""
    # A private pyc prefix: modules rewritten with the assertion-pass hook must not be reused without it.
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(pytester.path / ".pyc"))
    monkeypatch.delenv("AUDITOR_SABOTAGE", raising=False)

    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = pytester.path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return pytester.path

    return write


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def _output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def _audited(pytester: pytest.Pytester, workers: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(json report tests by short name, stream records by short name) of one audited run."""
    root = pytester.path
    # The project's own choice of pytest's assertion-pass hook is honoured (counts on every Python); no warning
    # filter is given: the leak's ResourceWarning, ignored by Python's defaults, is seen by the quiet spy.
    result = _run(pytester, "-n", workers, "--audit", f"--audit-stream={root / 'stream.jsonl'}", "-o",
                  "enable_assertion_pass_hook=true", "--json-report", f"--json-report-file={root / 'report.json'}")
    assert result.ret == 1, _output(result)  # test_fails fails, nothing else
    report = json.loads((root / "report.json").read_text())
    tests = {t["nodeid"].split("::")[-1]: t for t in report["tests"]}
    records = [json.loads(line) for line in (root / "stream.jsonl").read_text().splitlines()]
    finished = {r["nodeid"].split("::")[-1]: r for r in records if r["event"] == "finished"}
    return tests, finished


@pytest.fixture
def project(write_project) -> Path:
    return write_project({"conftest.py": SERVER_CONFTEST, "test_things.py": TESTS})


@pytest.mark.parametrize("workers", ["0", "2"])
def test_observations_in_json_report_and_stream(pytester: pytest.Pytester, project: Path, workers: str) -> None:
    tests, finished = _audited(pytester, workers)
    assert {name: r["outcome"] for name, r in finished.items()} == {
        "test_ok": "passed", "test_accepts_501": "passed", "test_asserts_nothing": "passed", "test_mocks": "passed",
        "test_spawns_and_leaks": "passed", "test_skipped": "skipped", "test_fails": "failed"}
    assert finished["test_skipped"]["reason"] == "not yet"
    observed = {name: t["metadata"]["auditor"] for name, t in tests.items()}
    assert [(x["status"], x["host_class"], x["path"]) for x in observed["test_accepts_501"]["http"]] == [
        (501, "loopback", "/todo")]
    assert observed["test_ok"]["assertions"] == 2
    assert observed["test_accepts_501"]["assertions"] == 1
    assert observed["test_asserts_nothing"]["assertions"] == 0
    assert observed["test_ok"]["sockets_loopback"] == 1
    assert observed["test_mocks"]["mocks"] == ["monkeypatch.setattr os.getcwd", "mock.patch os.path.exists"]
    assert observed["test_mocks"]["raises_blocks"] == 1
    assert observed["test_ok"]["mocks"] == []
    spawned = finished["test_spawns_and_leaks"]["observation"]
    assert spawned["processes"] == [f"{sys.executable} -c pass"]
    assert spawned["files_written"] >= 1
    assert [w["category"] for w in spawned["warnings"]] == ["ResourceWarning"]
    assert [x["status"] for x in finished["test_ok"]["observation"]["http"]] == [200]
    assert observed["test_ok"]["call_duration"] > 0


def test_inert_without_audit(pytester: pytest.Pytester, project: Path) -> None:
    result = _run(pytester, "--json-report", f"--json-report-file={project / 'report.json'}")
    assert result.ret == 1
    report = json.loads((project / "report.json").read_text())
    assert [t.get("metadata") for t in report["tests"]] == [None] * 7
    assert not (project / "stream.jsonl").exists()


def test_without_assertion_pass_hook_assertions_are_counted_only_where_nothing_changes(
        pytester: pytest.Pytester, project: Path) -> None:
    result = _run(pytester, "--audit", f"--audit-stream={project / 'stream.jsonl'}", "-k", "test_ok or nothing")
    assert result.ret == 0, _output(result)
    records = [json.loads(line) for line in (project / "stream.jsonl").read_text().splitlines()]
    counts = {r["nodeid"].split("::")[-1]: r["observation"]["assertions"] for r in records if r["event"] == "finished"}
    # sys.monitoring (3.12+) counts without touching the run; on 3.11 they are "not counted" (-1), never 0
    assert counts == ({"test_ok": 2, "test_asserts_nothing": 0} if sys.version_info >= (3, 12)
                      else {"test_ok": -1, "test_asserts_nothing": -1})


def test_unknown_sabotage_mode_is_a_usage_error(pytester: pytest.Pytester, project: Path) -> None:
    result = _run(pytester, "--audit", "--audit-sabotage=no-such-mode")
    assert result.ret == 4
    assert "--audit-sabotage=no-such-mode" in "\n".join(result.errlines)


SABOTAGE_CONFTEST = SERVER_CONFTEST + '''
import httpx

@pytest.fixture
def checked_server(server):
    assert httpx.get(server + "/ok").status_code == 200  # setup: never sabotaged
    yield server
    assert httpx.get(server + "/ok").status_code == 200  # teardown: never sabotaged
'''


def test_sabotage_applies_only_to_the_call_phase(pytester: pytest.Pytester, write_project) -> None:
    root = write_project({"conftest.py": SABOTAGE_CONFTEST, "test_one.py": '''
        import httpx

        def test_ok(checked_server):
            assert httpx.get(checked_server + "/ok").status_code == 200
    '''})
    result = _run(pytester, "--audit-sabotage=server-error", f"--audit-stream={root / 'stream.jsonl'}")
    assert result.ret == 1, _output(result)
    assert "assert 500 == 200" in "\n".join(result.outlines)
    records = [json.loads(line) for line in (root / "stream.jsonl").read_text().splitlines()]
    finished = [r for r in records if r["event"] == "finished"]
    assert finished[0]["outcome"] == "failed"
    assert [x["status"] for x in finished[0]["observation"]["http"]] == [200, 500, 200]
