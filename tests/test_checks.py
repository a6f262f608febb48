"""Executed checks: pytest.fail, mock assert_* calls, raise_for_status and pytest.raises count, as assert does.

tests/fixtures/checks_project/tests/test_kinds.py has, for each kind, tests that reach the check (good) and tests
that never do (bad). Real pytest runs of it, under the plugin and through the whole pipeline, on this Python: 3.12+
counts with sys.monitoring; 3.11 only through the pass hook the project turns on, which sees ``assert`` alone.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor import pipeline
from auditor.collect.scan import scan
from auditor.config import read_config
from auditor.run.checks import check_lines

PROJECT = Path(__file__).parent / "fixtures" / "checks_project"
MONITORED = sys.version_info >= (3, 12)

#: Checks each test of test_kinds.py reaches, as sys.monitoring counts them (pytest.raises apart, in raises_blocks).
REACHED = {
    "test_fail_good": 1, "test_fail_bad_never_reached": 0, "test_fail_bad_handler_never_called": 0,
    "test_fail_good_for_else": 1, "test_mock_good": 2, "test_mock_bad": 0, "test_raise_for_status_good_httpx": 1,
    "test_raise_for_status_good_requests": 1, "test_raise_for_status_bad": 0, "test_raises_good": 0,
    "test_raises_bad": 0,
}
#: What the pass hook alone can say (3.11): "not counted" for a test whose own code holds checks other than assert.
PASS_HOOK = {name: -1 if name in ("test_fail_good", "test_fail_bad_never_reached", "test_fail_good_for_else",
                                  "test_mock_good", "test_raise_for_status_good_httpx",
                                  "test_raise_for_status_good_requests") else 0 for name in REACHED}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT, tmp_path / "project", ignore=shutil.ignore_patterns("__pycache__")))


def _observed(root: Path, *options: str) -> dict[str, dict]:
    stream = root / "stream.jsonl"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                           "tests/test_kinds.py", "--audit", f"--audit-stream={stream}", *options],
                          cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # observing changed no outcome: every test passes
    records = [json.loads(line) for line in stream.read_text(encoding="utf-8").splitlines()]
    return {r["nodeid"].split("::")[-1]: r["observation"] for r in records if r["event"] == "finished"}


def test_every_kind_of_check_reached_is_counted(project: Path) -> None:
    observed = _observed(project)
    assert {name: obs["assertions"] for name, obs in observed.items()} == (REACHED if MONITORED else PASS_HOOK)
    assert {name for name, obs in observed.items() if obs["raises_blocks"]} == {"test_raises_good"}


def test_without_any_counter_checks_stay_not_counted(project: Path) -> None:
    # Python 3.11 without the project's pass hook: -1 everywhere, as before; 3.12+ counts the same either way.
    observed = _observed(project, "-o", "enable_assertion_pass_hook=false")
    assert {name: obs["assertions"] for name, obs in observed.items()} == (
        REACHED if MONITORED else dict.fromkeys(REACHED, -1))


def test_no_assertion_executed_only_where_no_check_was_reached(project: Path) -> None:
    audit = pipeline.audit(read_config(project), progress=False, write=False)
    flagged = {f.test_id.split("::")[-1] for f in audit.findings if f.rule == "AUD202" and "test_kinds" in f.path}
    # The loop over nothing leaves its `if ...: pytest.fail()` unreached: only sys.monitoring can see that.
    # test_mock_bad and test_raise_for_status_bad hold no check at all: the static AUD107/AUD153's business.
    assert flagged == {"test_fail_bad_handler_never_called", "test_raises_bad"} | (
        {"test_fail_bad_never_reached"} if MONITORED else set())


def test_static_no_assertion_accepts_the_same_checks() -> None:
    _inventory, findings = scan(read_config(PROJECT), [str(PROJECT / "tests" / "test_kinds.py")])
    assert sorted((f.rule, f.test_id.split("::")[-1]) for f in findings) == [
        ("AUD107", "test_raise_for_status_bad"), ("AUD153", "test_mock_bad")]


@pytest.mark.parametrize(("source", "expected"), [
    ("assert x\n", {1: "assert"}),
    ("m.assert_called_once_with(1)\nm.assert_not_called()\n", {1: "call", 2: "call"}),
    ("r = client.get('/').raise_for_status()\n", {1: "call"}),
    ("if r.status_code != 200:\n    pytest.fail(r.text)\n", {1: "branch", 2: "call"}),
    ("if ok:\n    pass\nelse:\n    raise AssertionError(r)\n", {1: "branch"}),
    ("if bad:\n    assert False, 'bad'\n", {1: "branch", 2: "assert"}),
    ("for _ in range(3):\n    if ready():\n        break\nelse:\n    pytest.fail('never ready')\n",
     {1: "branch", 5: "call"}),
    ("try:\n    f()\nexcept ValueError as e:\n    pytest.fail(str(e))\n", {1: "branch", 4: "call"}),
    ("with pytest.warns(UserWarning):\n    f()\n", {1: "call"}),
    # an explicit two-way decision with a check on one side is itself a check
    ("if r.status_code == 426:\n    pass\nelse:\n    assert r.status_code == 400\n", {1: "branch", 4: "assert"}),
    ("if bad:\n    with pytest.raises(ValueError):\n        f()\nelse:\n    f()\n", {1: "branch"}),
    # a trap handed over is armed: its never firing is the check; one never handed over checks nothing
    ("def test_x(mp):\n    def fail(self):\n        pytest.fail('loaded')\n    mp.setattr(C, 'load', fail)\n",
     {3: "call", 4: "call"}),
    ("def test_x():\n    def fail(self):\n        pytest.fail('loaded')\n    run()\n", {3: "call"}),
    # a hand-written pytest.raises is reached at the call it guards
    ("try:\n    get(url)\n    pytest.fail('no timeout')\nexcept Timeout:\n    pass\n", {2: "branch", 3: "call"}),
    ("with pytest.raises(ValueError):\n    f()\n", {}),  # counted by the recorder's patch, apart
    ("if x:\n    pytest.skip('no x')\n", {}),  # a skip checks nothing
    ("on_error = lambda r: pytest.fail(r.text)\n", {}),  # a lambda's body runs later, if ever
    ("check_reply(r)\n", {}),  # a helper's name is a guess: its own checks count where they run
])
def test_check_lines(source: str, expected: dict[int, str]) -> None:
    assert check_lines(ast.parse(textwrap.dedent(source))) == expected
