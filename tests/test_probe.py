"""`auditor run` then `auditor probe` on a fixture project that talks to the real inference server.

The project's tests start the repo's reference server (``python -m server`` on the fixture model) as a
session fixture, like suites/, and hold one weak test of each kind the probes must tell apart.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.config import read_config
from auditor.model import Audit
from auditor.probe.plan import plan
from auditor.probe.sessions import kill_counts
from auditor.serialize import read_audit

REPO = Path(__file__).resolve().parents[1]

PYPROJECT = '''
[tool.auditor]
paths = ["tests"]
real_infrastructure = ["smoke", "benchmarks"]

[tool.auditor.probes.no-cache]
env = { SERVER_FAULT_NO_CACHE = "1" }
select = ["cache"]
description = "the server never reuses a prompt cache"
'''

CONFTEST = f'''
import sys
sys.path.insert(0, {str(REPO)!r})

import httpx
import pytest

from suites.serverproc import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    process = ServerProcess(log_path=tmp_path_factory.mktemp("server") / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        yield client
'''

FIXTURES = Path(__file__).parent / "fixtures"
SMOKE = (FIXTURES / "probe_project" / "test_api.py").read_text(encoding="utf-8")

BENCH = '''
import time

from server.fixture.facts import FACTS
from suites.wire import ANTHROPIC_HEADERS, anthropic_body

# The longest answer: the server works long enough for its own clock to dwarf the HTTP round trip.
STORY = max(FACTS, key=lambda fact: len(fact.answer))
BODY = anthropic_body(STORY.question)


def server_seconds(response):
    total = [p for p in response.headers["server-timing"].split(",") if p.strip().startswith("total")]
    return float(total[0].split("dur=")[1]) / 1000


def test_latency_bound(http):
    started = time.perf_counter()
    r = http.post("/v1/messages", json=BODY, headers=ANTHROPIC_HEADERS)
    client = time.perf_counter() - started
    assert r.json()["content"][0]["text"] == STORY.answer
    # the client has the answer at most 3x (+50 ms) the time the server's own clock says it took
    assert client <= 3 * server_seconds(r) + 0.05


def test_latency_recorded_only(http):
    started = time.perf_counter()
    r = http.post("/v1/messages", json=BODY, headers=ANTHROPIC_HEADERS)
    print("latency", time.perf_counter() - started)
    assert r.json()["content"][0]["text"] == STORY.answer
'''

ALL_BUT_SLOW = ("not-implemented", "server-error", "empty", "echo", "garbage", "truncated-stream")
#: What each smoke test read of its answers decides which modes apply to it (the rest are ``n/a``).
ANSWER_MODES = ("not-implemented", "server-error", "empty", "echo", "garbage", "truncated-stream", "unfinished-stream",
                "down", "reset")


def _auditor(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", *args, "--root", str(root), "--no-progress"],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Audit, Audit]:
    """(root, audit after `auditor run`, audit after `auditor probe`) of the fixture project."""
    root = tmp_path_factory.mktemp("probe") / "project"
    for name, text in {"pyproject.toml": PYPROJECT, "tests/conftest.py": CONFTEST,
                       "tests/smoke/test_api.py": SMOKE, "tests/benchmarks/test_bench.py": BENCH}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    ran = _auditor(root, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    before = read_audit(root / "reports" / "audit.json")
    probe = _auditor(root, "probe", "--workers", "2")
    assert probe.returncode == 0, probe.stdout + probe.stderr
    return root, before, read_audit(root / "reports" / "audit.json")


def _verdicts(audit: Audit, name: str) -> dict[str, str]:
    outcome = next(o for s in audit.suites for o in s.outcomes if o.node_id.endswith("::" + name))
    return {p.mode: p.result for p in outcome.probes}


def test_every_test_passed_before_probing(probed) -> None:
    _, before, _ = probed
    statuses = {o.node_id.rsplit("::", 1)[1]: o.status for s in before.suites for o in s.outcomes}
    assert set(statuses.values()) == {"passed"}
    assert len(statuses) == 7


def test_a_test_accepting_501_survives_not_implemented_but_is_not_proven_vacuous(probed) -> None:
    _, _, after = probed
    verdicts = _verdicts(after, "test_accepts_501")
    assert verdicts["not-implemented"] == "survived"
    assert verdicts["server-error"] == "killed"  # 500 is not in its list
    # it reads only the status: modes that change only the body change nothing it read
    assert (verdicts["empty"], verdicts["echo"], verdicts["garbage"]) == ("n/a", "n/a", "n/a")
    assert not [f for f in after.findings if f.rule == "AUD301"]  # a mode killed it: not vacuous
    accepted = {f.test_id.rsplit("::", 1)[1]: f for f in after.findings if f.rule == "AUD307"}
    assert set(accepted) == {"test_accepts_501"}
    assert accepted["test_accepts_501"].evidence[-1] == "claims: does-not-raise; read: status"


def test_an_exact_answer_is_killed_by_every_mode_that_applies(probed) -> None:
    _, _, after = probed
    assert _verdicts(after, "test_exact_answer") == dict.fromkeys(ANSWER_MODES, "killed")
    outcome = next(o for s in after.suites for o in s.outcomes if o.node_id.endswith("::test_exact_answer"))
    # a content claim: every answer-breaking mode proves it; a refused connection, a stream cut short do not
    assert {p.mode for p in outcome.probes if not p.claimed} == {"down", "reset", "truncated-stream",
                                                                 "unfinished-stream"}


def test_a_status_only_test_is_killed_by_501_and_garbage_does_not_apply(probed) -> None:
    _, _, after = probed
    verdicts = _verdicts(after, "test_status_only")
    assert (verdicts["not-implemented"], verdicts["garbage"], verdicts["echo"]) == ("killed", "n/a", "n/a")
    assert "truncated-stream" not in verdicts  # nothing streamed: not probed in that mode
    assert not [f for f in after.findings if f.rule in ("AUD302", "AUD305")]


def test_only_a_test_that_streamed_is_cut_by_truncated_stream(probed) -> None:
    _, before, after = probed
    streamed = sorted(o.node_id.rsplit("::", 1)[1] for s in before.suites for o in s.outcomes
                      if o.observation and any(x.stream for x in o.observation.http))
    cut = sorted(o.node_id.rsplit("::", 1)[1] for s in after.suites for o in s.outcomes
                 if "truncated-stream" in {p.mode for p in o.probes})
    assert streamed == cut == ["test_exact_answer"]


def test_a_test_without_http_is_not_probed(probed) -> None:
    root, _, after = probed
    assert _verdicts(after, "test_no_http") == {}
    config = read_config(root)
    planned = {node for session in plan(config, after) for node in session.tests}
    assert not any(node.endswith("::test_no_http") for node in planned)
    assert any(node.endswith("::test_status_only") for node in planned)


def test_slow_kills_only_the_benchmark_that_states_a_bound(probed) -> None:
    _, _, after = probed
    assert _verdicts(after, "test_latency_bound")["slow"] == "killed"
    assert _verdicts(after, "test_latency_recorded_only")["slow"] == "survived"
    assert "slow" not in _verdicts(after, "test_exact_answer")  # slow asks benchmarks only
    assert [f.test_id.rsplit("::", 1)[1] for f in after.findings if f.rule == "AUD303"] == [
        "test_latency_recorded_only"]


def test_an_env_fault_switch_is_a_mode_of_its_own(probed) -> None:
    _, _, after = probed
    assert _verdicts(after, "test_second_turn_uses_the_cache")["no-cache"] == "killed"
    assert "no-cache" not in _verdicts(after, "test_status_only")  # select = ["cache"]


def test_kill_rates_by_mode_and_category_reach_the_json_and_the_matrix(probed) -> None:
    _, before, after = probed
    counts = kill_counts(after)
    assert counts["not-implemented"]["smoke"] == (3, 4)  # all but test_accepts_501
    assert counts["slow"] == {"benchmarks": (1, 2), "total": (1, 2)}
    smoke = next(s for s in after.scores if s.category == "smoke")
    assert smoke.kill_rate is not None and 0 < smoke.kill_rate < 1
    assert next(s for s in before.scores if s.category == "smoke").kill_rate is None
    assert set(after.probe_modes) == {*ANSWER_MODES, "slow", "no-cache"}


def _with_durations(audit: Audit, seconds: float) -> Audit:
    """The audit as if every test had taken ``seconds``: sharding reads the last run's durations, which machine load sways."""
    suites = tuple(
        dataclasses.replace(suite, outcomes=tuple(dataclasses.replace(o, duration=seconds) for o in suite.outcomes))
        for suite in audit.suites
    )
    return dataclasses.replace(audit, suites=suites)


def test_timing_suites_run_alone_except_in_modes_load_cannot_sway(probed) -> None:
    root, _, measured = probed
    after = _with_durations(measured, 0.05)
    sessions = plan(read_config(root), after, shards=2)
    bench = {s.label: (s.alone, tuple(s.modes)) for s in sessions if s.suite.category == "benchmarks"}
    assert bench == {"benchmarks (load-robust modes)": (False, ("not-implemented", "server-error", "empty", "slow",
                                                                "down")),
                     "benchmarks (alone)": (True, ("echo", "garbage"))}
    smoke = [s for s in sessions if s.suite.category == "smoke" and not s.env]
    assert [(s.alone, len(s.tests)) for s in smoke] == [(False, 4)]  # too small to be worth two servers
    slow_smoke = [s for s in plan(read_config(root), _with_durations(measured, 30.0), shards=2)
                  if s.suite.category == "smoke" and not s.env]
    # Worth a second server: two shards between them holding every smoke test once.
    assert [s.alone for s in slow_smoke] == [False, False]
    assert sorted(node for s in slow_smoke for node in s.tests) == sorted(smoke[0].tests)
