"""Runtime rules (AUD2xx): what a test did when it ran, as seen by the auditor's pytest plugin.

A test without an observation (results imported without our plugin) is never judged here.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.collect.packages import own_clients
from auditor.collect.rules.registry import RuleInfo, finding, is_enabled, lookup, register
from auditor.config import AuditConfig
from auditor.model import Finding, HttpExchange, Observation, Outcome, SuiteResult, TestCase

PASSED_ON_5XX = register(RuleInfo(
    "AUD201", "passed-on-5xx", "high", "runtime",
    "The test passed although the server answered 5xx (501 = not implemented): its checks accept failure.",
    bad="r = http.post('/v1/messages', json=body)\nassert r.status_code in [200, 501]  # the server said 501",
    good="r = http.post('/v1/messages', json=body)\nassert r.status_code == 200\nassert r.json()['content'][0]['text'] == 'Paris.'",
))
NO_ASSERTION_RAN = register(RuleInfo(
    "AUD202", "no-assertion-executed", "medium", "runtime",
    "The test passed without reaching one check (assert, mock assert_*, pytest.fail, raise_for_status, pytest.raises).",
    bad="def test_items(items):\n    for item in items:  # empty at run time\n        assert item.ok",
    good="def test_items(items):\n    assert len(items) == 3\n    assert all(item.ok for item in items)",
))
NOT_REAL = register(RuleInfo(
    "AUD203", "no-live-infrastructure", "high", "runtime",
    "A test in a real-infrastructure category touched no live process or socket: it did not test the real system.",
    bad="# tests/e2e/test_api.py\ndef test_login():\n    assert TestClient(app).post('/login').status_code == 200",
    good="# tests/e2e/test_api.py\ndef test_login(live_server):\n    assert httpx.post(live_server + '/login').json() == {'ok': True}",
))
MOCK_IN_REAL = register(RuleInfo(
    "AUD204", "mock-in-real-category", "high", "runtime",
    "A mock was in force while a test of a real-infrastructure category ran.",
    bad="# tests/e2e/test_api.py\n@mock.patch('httpx.Client.post')\ndef test_login(post): ...",
    good="# tests/e2e/test_api.py\ndef test_login(live_server):\n    assert httpx.post(live_server + '/login').json() == {'ok': True}",
))
RESOURCE_WARNING = register(RuleInfo(
    "AUD205", "resource-warning", "low", "runtime",
    "The test leaked a socket, file or process (ResourceWarning).",
    bad="def test_log():\n    log = open('server.log', 'w')  # never closed",
    good="def test_log(tmp_path):\n    with open(tmp_path / 'server.log', 'w') as log:\n        ...",
))
NOTHING_READ = register(RuleInfo(
    "AUD207", "answer-unread", "medium", "runtime",
    "The test made HTTP requests and read nothing of any answer (or, claiming the request it sends, nothing of "
    "the request): it checked nothing the server said.",
    bad="def test_messages(http):\n    http.post('/v1/messages', json=body)  # answer never looked at",
    good="def test_messages(http):\n    r = http.post('/v1/messages', json=body)\n    assert r.status_code == 200\n    assert r.json()['content'][0]['text'] == 'Paris.'",
))

SLOW_OUTSIDE_TESTS = register(RuleInfo(
    "AUD206", "unexplained-suite-time", "low", "runtime",
    "Most of a suite's wall time was spent outside its tests (imports, collection, hangs at exit): the durations hide a cost.",
    bad="# conftest.py\nimport heavy_module  # 40 s at import, no test pays for it\nsubprocess.Popen(['server'])  # never stopped: pytest waits at exit",
    good="@pytest.fixture(scope='session')\ndef server():\n    process = subprocess.Popen(['server'])\n    yield process\n    process.terminate()\n    process.wait(timeout=10)",
))

#: Seconds of unexplained suite time below which AUD206 stays quiet (interpreter start, collection).
UNEXPLAINED_FLOOR = 30.0


def runtime_findings(cases: Sequence[TestCase], suites: Sequence[SuiteResult], config: AuditConfig) -> tuple[Finding, ...]:
    """Findings from every observed outcome."""
    by_id = {case.id: case for case in cases}
    own = own_clients(config.root, config.own_packages)
    found: list[Finding] = []

    def add(info: RuleInfo, message: str, case: TestCase | None, node_id: str, evidence: Sequence[str] = ()) -> None:
        if is_enabled(info, config):
            found.append(finding(info.id, message, path=case.path if case else node_id.split("::")[0],
                                 line=case.line if case else 1, test_id=node_id, evidence=evidence, config=config))

    for suite in suites:
        for outcome in suite.outcomes:
            obs = outcome.observation
            if obs is None:
                continue
            case = by_id.get(outcome.case_id)
            category = case.category if case else suite.category
            if outcome.status == "passed":
                claims = tuple(case.claims) if case is not None else ()
                unread = _nothing_read(obs, claims)
                if unread:
                    add(NOTHING_READ, unread, case, outcome.node_id,
                        [f"{x.method} {x.path} -> {x.status}" for x in obs.http][:5])
                errors = sorted(set(unasked_5xx(outcome, claims, own)))
                if errors:
                    named = ", ".join(f"{s} Not Implemented" if s == 501 else str(s) for s in errors)
                    add(PASSED_ON_5XX, f"passed while the server answered {named}", case, outcome.node_id,
                        [f"{x.method} {x.path} -> {x.status}" for x in obs.http if x.status in errors][:5])
                # `assertions` counts every check reached (auditor.run.checks); -1 means not counted: never a finding
                # a body without any check is a smoke test: the static AUD107/AUD153 speak for it
                if obs.assertions == 0 and obs.raises_blocks == 0 and (case is None or case.has_checks):
                    add(NO_ASSERTION_RAN, "passed without reaching a single check", case, outcome.node_id)
            if outcome.status in ("passed", "failed") and category in config.real_infrastructure:
                live = (any(x.host_class != "in-process" for x in obs.http) or obs.sockets_loopback
                        or obs.sockets_other or obs.processes)
                if not live:
                    add(NOT_REAL, f"{category} test touched no live process or socket", case, outcome.node_id,
                        [f"in-process {x.method} {x.path}" for x in obs.http][:5])
                # an in-process transport is already AUD203's business when nothing live was touched
                mocks = [m for m in obs.mocks if m != "in-process transport"] if not live else list(obs.mocks)
                if mocks:
                    add(MOCK_IN_REAL, f"mock in force in a {category} test: {', '.join(mocks[:3])}", case,
                        outcome.node_id, mocks[:5])
            for warning in obs.warnings:
                if warning.category == "ResourceWarning":
                    add(RESOURCE_WARNING, f"ResourceWarning: {warning.message[:120]}", case, outcome.node_id,
                        [f"{warning.path}:{warning.line}"])
                    break
    for suite in suites:
        if suite.source != "run" or not suite.outcomes:
            continue
        inside = sum(outcome.duration for outcome in suite.outcomes)
        outside = suite.duration - inside
        if outside > UNEXPLAINED_FLOOR and outside > suite.duration / 2 and is_enabled(SLOW_OUTSIDE_TESTS, config):
            found.append(finding(
                SLOW_OUTSIDE_TESTS.id,
                f"suite {suite.name}: {outside:.0f}s of {suite.duration:.0f}s wall time is outside its tests "
                f"(tests took {inside:.1f}s)",
                path=suite.paths[0] if suite.paths else ".", line=1, test_id=None,
                evidence=(" ".join(suite.command[:6]),) if suite.command else (), config=config))
    return tuple(found)


#: Claims whose subject is not the answer: reading none of it is their normal case.
_ANSWER_OPTIONAL = frozenset({"does-not-raise", "existence", "persistence", "request"})


def unasked_5xx(outcome: Outcome, claims: Sequence[str], own: frozenset[str] = frozenset()) -> tuple[int, ...]:
    """The 5xx statuses a test looked at and did not ask for (AUD201, the gate's ``fail_on_5xx_pass``).

    Looked at: it read something of that answer (an audit from before read tracking: any 5xx counts); a 5xx
    it never read is no check of its accepting failure (AUD207 speaks of unread answers). Asked for: it read
    the status and its claim is a status, or the path names the code (``/status/500``), or the client is the
    project's own library (its suite's server is a fixture); or ``status-flip`` turned the 5xx into a 200 and
    the test failed: it checks the error it got. ``own``: see :mod:`auditor.collect.packages`.
    """
    obs = outcome.observation
    if obs is None:
        return ()
    if any(p.mode == "status-flip" and p.result == "killed" and "status" in p.touched for p in outcome.probes):
        return ()
    return tuple(x.status for x in obs.http if x.status is not None and x.status >= 500
                 and (x.reads or not obs.reads_tracked) and not _asked_for(x, claims, own))


def _asked_for(exchange: HttpExchange, claims: Sequence[str], own: frozenset[str]) -> bool:
    """A 5xx the test read the status of and asked for (see :func:`unasked_5xx`)."""
    if "status" not in exchange.reads or exchange.status is None:
        return False
    return "status" in claims or str(exchange.status) in exchange.path or exchange.client in own


def _nothing_read(obs: Observation, claims: Sequence[str]) -> str | None:
    """Why AUD207 fires for a passed test's observation, or ``None``."""
    if not obs.http or not obs.reads_tracked:
        return None
    if "request" in claims and "does-not-raise" not in claims:
        if any("request" in x.reads for x in obs.http):
            return None
        return f"claims what it sends, but read nothing of the {len(obs.http)} request(s) it made"
    if set(claims) & _ANSWER_OPTIONAL:
        return None
    read = {part for x in obs.http for part in x.reads if part != "request"}
    if not read:
        return f"made {len(obs.http)} HTTP request(s) and read nothing of any answer"
    if {"status", "liveness"} & set(claims) and not {"status", "body"} & read:
        return f"claims a status but read none, only {', '.join(sorted(read)[:4])}"
    return None


def judged(rule_id: str, outcome: Outcome, config: AuditConfig) -> bool:
    """Whether :func:`runtime_findings` looked at ``outcome`` for rule ``rule_id``, so its silence is a verdict.

    A suppression of a runtime rule that silenced nothing is stale only where the rule judged every instance of
    its test: an unobserved, unrun or failed test (for the rules about passes), or uncounted checks, say nothing.
    """
    info = lookup(rule_id)
    if not is_enabled(info, config):
        return True  # switched off: it can silence nothing, as a suppression of a switched-off static rule
    obs = outcome.observation
    if obs is None:
        return False
    if info in (PASSED_ON_5XX, NO_ASSERTION_RAN):
        return outcome.status == "passed" and (info == PASSED_ON_5XX or obs.assertions >= 0)
    if info in (NOT_REAL, MOCK_IN_REAL):
        return outcome.status in ("passed", "failed")
    if info == NOTHING_READ:
        return outcome.status == "passed" and obs.reads_tracked
    return info == RESOURCE_WARNING  # AUD206 is about a suite's time, never one test's
