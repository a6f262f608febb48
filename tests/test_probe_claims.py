"""Claim-aware probe verdicts, end to end: `auditor audit` on a small project whose tests call a real local
HTTP server (the standard library's, on 127.0.0.1), each test reading a different part of its answers.

What is checked: a mode that changed nothing a test read is ``n/a``; a 5xx the test asked for and read is not
AUD201; a test reading only keys gets AUD310; a test swallowing a refused connection is the one proven
vacuous; ``status-flip`` proves an error contract; a test that hangs under sabotage is stopped at
``test_timeout`` instead of holding the session.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.model import Audit, ProbeResult
from auditor.serialize import read_audit

PYPROJECT = '''
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.auditor]
probe_modes = ["not-implemented", "empty", "garbage", "status-flip", "down"]
reruns = 0
test_timeout = 4
'''

#: A real stdlib server: /ok answers 200, /status/N answers N, anything else 404; the JSON body names the path.
CONFTEST = (Path(__file__).parent / "fixtures" / "checks_project" / "tests" / "conftest.py").read_text(encoding="utf-8")

TESTS = '''
import threading

import httpx
import requests


def test_ok_status(server):
    assert httpx.get(server + "/ok").status_code == 200


def test_answer_names_the_path(server):
    r = httpx.get(server + "/ok")
    assert r.status_code == 200
    assert r.json()["path"] == "/ok"


def test_answer_is_reported(server):
    assert "path" in requests.get(server + "/ok", timeout=10).json()


def test_upstream_500_is_relayed_as_an_error(server):
    r = httpx.get(server + "/status/500")
    assert r.status_code == 500


def test_unknown_path_status_is_404(server):
    assert httpx.get(server + "/nowhere").status_code == 404


def test_fetch_does_not_raise_much(server):
    try:
        httpx.get(server + "/ok")
    except httpx.HTTPError:
        pass


def test_a_worker_gets_its_answer(server):
    answered = threading.Event()

    def fetch():
        if httpx.get(server + "/ok").status_code == 200:
            answered.set()

    threading.Thread(target=fetch, daemon=True).start()
    answered.wait()  # no timeout: under a mode that never answers 200 this waits forever
'''


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    root = tmp_path_factory.mktemp("claims") / "project"
    for name, text in {"pyproject.toml": PYPROJECT, "tests/conftest.py": CONFTEST,
                       "tests/test_answers.py": TESTS}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "auditor", "audit", "--no-gate", "--root", str(root)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return read_audit(root / "reports" / "audit.json")


def _probes(audit: Audit, name: str) -> dict[str, ProbeResult]:
    outcome = next(o for s in audit.suites for o in s.outcomes if o.node_id.endswith("::" + name))
    return {p.mode: p for p in outcome.probes}


def _rules(audit: Audit, name: str) -> set[str]:
    return {f.rule for f in audit.findings if (f.test_id or "").endswith("::" + name) and f.origin != "static"}


def test_every_test_passes_unsabotaged_and_records_what_it_read(audited: Audit) -> None:
    outcomes = {o.node_id.rsplit("::", 1)[1]: o for s in audited.suites for o in s.outcomes}
    assert {o.status for o in outcomes.values()} == {"passed"}
    assert outcomes["test_ok_status"].observation.http[0].reads == ("status",)
    assert outcomes["test_answer_names_the_path"].observation.http[0].reads == ("body", "status")


def test_a_mode_that_changed_nothing_read_is_not_applicable(audited: Audit) -> None:
    probes = _probes(audited, "test_ok_status")
    assert probes["not-implemented"].result == "killed" and probes["not-implemented"].claimed
    assert probes["empty"].result == "n/a"  # 200 stays 200, and the body was never read
    assert "it read: status" in (probes["empty"].detail or "")
    assert not _rules(audited, "test_ok_status")


def test_a_content_test_is_proven_by_the_modes_that_break_content(audited: Audit) -> None:
    probes = _probes(audited, "test_answer_names_the_path")
    assert (probes["not-implemented"].result, probes["empty"].result) == ("killed", "killed")
    assert not probes["down"].claimed  # a refused connection proves nothing about the answer
    assert not _rules(audited, "test_answer_names_the_path")


def test_reading_only_keys_is_found_under_probes(audited: Audit) -> None:
    assert _rules(audited, "test_answer_is_reported") == {"AUD310"}
    assert _probes(audited, "test_answer_is_reported")["garbage"].reads == ("$.#keys",)  # values changed, none read


def test_a_5xx_asked_for_and_read_is_not_passed_on_5xx(audited: Audit) -> None:
    assert "AUD201" not in _rules(audited, "test_upstream_500_is_relayed_as_an_error")


def test_status_flip_proves_an_error_contract(audited: Audit) -> None:
    probes = _probes(audited, "test_unknown_path_status_is_404")
    assert probes["status-flip"].result == "killed" and probes["status-flip"].claimed
    assert "status-flip" not in _probes(audited, "test_ok_status")  # no 4xx to flip


def test_only_a_test_no_applicable_mode_could_fail_is_proven_vacuous(audited: Audit) -> None:
    vacuous = {f.test_id.rsplit("::", 1)[1] for f in audited.findings if f.rule == "AUD301"}
    assert vacuous == {"test_fetch_does_not_raise_much"}
    assert _probes(audited, "test_fetch_does_not_raise_much")["down"].result == "survived"


def test_a_test_that_hangs_under_sabotage_is_stopped_at_test_timeout(audited: Audit) -> None:
    probe = _probes(audited, "test_a_worker_gets_its_answer")["not-implemented"]
    assert probe.result == "killed"
    assert "test_timeout" in (probe.detail or "")
