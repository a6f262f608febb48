"""Probe rules (AUD3xx): what sabotage probes proved about a test that passed (see ``docs/probes.md``).

A rule fires only on a test that passed in the audited run and *survived* a mode that changed something it
read and that its claim is about (``ProbeResult.claimed``). AUD301 (HIGH) is kept for a test no applicable
mode could fail; a test that other modes failed gets the survived mode's own MEDIUM rule. Survivals of modes
that broke only what the test does not claim are notes, not findings; killed, errored, not-applicable and
not-probed modes prove nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.collect.rules.registry import RuleInfo, finding, is_enabled, register
from auditor.config import AuditConfig
from auditor.model import Finding, Outcome, ProbeResult, SuiteResult, TestCase

PROVEN_VACUOUS = register(RuleInfo(
    "AUD301", "proven-vacuous", "high", "probe",
    "The test still passed under every sabotage that changed what it read, including one that breaks what it claims: it cannot fail.",
    bad="def test_messages(http):\n    try:\n        r = http.post('/v1/messages', json=body)\n    except httpx.HTTPError:\n        return\n    assert r.status_code < 600",
    good="r = http.post('/v1/messages', json=body)\nassert r.status_code == 200\nassert r.json()['content'][0]['text'] == 'Paris.'",
))
SEMANTICS_UNCHECKED = register(RuleInfo(
    "AUD302", "semantics-unchecked", "medium", "probe",
    "The test still passed when every answer had the right schema but random text and numbers: it checks shape, not meaning.",
    bad="r = http.post('/v1/messages', json=body)\nassert r.status_code == 200\nassert r.json()['content'][0]['type'] == 'text'",
    good="r = http.post('/v1/messages', json=body)\nassert r.status_code == 200\nassert r.json()['content'][0]['text'] == 'Paris.'",
))
PERFORMANCE_UNCHECKED = register(RuleInfo(
    "AUD303", "performance-unchecked", "medium", "probe",
    "The benchmark still passed when every response arrived ten times later: it states no performance bound.",
    bad="def test_latency(http, record):\n    started = time.perf_counter()\n    assert http.get('/health').status_code == 200\n    record('latency', time.perf_counter() - started)",
    good="def test_latency(http, record):\n    started = time.perf_counter()\n    r = http.post('/v1/messages', json=body)\n    client = time.perf_counter() - started\n    record('latency', client)\n    assert client <= 3 * server_seconds(r.headers['server-timing'])",
))
TRUNCATION_UNCHECKED = register(RuleInfo(
    "AUD304", "truncation-unchecked", "medium", "probe",
    "The test still passed when its event stream was cut after the first event: it does not check that the stream completes.",
    bad="with http.stream('POST', '/v1/messages', json=body) as r:\n    first = next(r.iter_lines())\nassert first.startswith('event:')",
    good="events = parse_sse(read_stream(http, body))\nassert [e.event for e in events][-1] == 'message_stop'\nassert text_of(events) == 'Paris.'",
))
ECHO_ACCEPTED = register(RuleInfo(
    "AUD305", "echo-accepted", "medium", "probe",
    "The test still passed when the answer was the request's own prompt echoed back: it does not check the answer.",
    bad="text = ask(http, 'What is the capital of France?')\nassert 'France' in text or 'Paris' in text",
    good="text = ask(http, 'What is the capital of France?')\nassert text == 'Paris.'",
))
FAULT_UNDETECTED = register(RuleInfo(
    "AUD306", "fault-undetected", "medium", "probe",
    "The test still passed with a configured fault switched on ([tool.auditor.probes]): it does not detect the fault it was chosen for.",
    bad="# SERVER_FAULT_NO_CACHE_PERSIST=1: caches are never written to disk\ndef test_restart_keeps_cache(server):\n    ask(server, agent='a')\n    server.restart()\n    assert ask(server, agent='a').status_code == 200",
    good="def test_restart_keeps_cache(server):\n    ask(server, agent='a')\n    server.restart()\n    usage = ask(server, agent='a').json()['usage']\n    assert usage['cache_read_input_tokens'] >= 0.9 * history_tokens",
))

ERROR_ANSWER_ACCEPTED = register(RuleInfo(
    "AUD307", "error-answer-accepted", "medium", "probe",
    "The test still passed when every answer was an error status or empty, though it reads what those change; "
    "other modes failed it, so it checks only part of its claim.",
    bad="r = http.post('/v1/messages', json=body)\nif r.status_code == 200:\n    assert r.json()['content'][0]['text'] == 'Paris.'",
    good="r = http.post('/v1/messages', json=body)\nassert r.status_code == 200\nassert r.json()['content'][0]['text'] == 'Paris.'",
))
CONNECTION_LOSS_ACCEPTED = register(RuleInfo(
    "AUD308", "connection-loss-accepted", "medium", "probe",
    "The test still passed when the server refused the connection or dropped it mid-answer: it swallows the failure it should report.",
    bad="def test_server_survives_burst(url):\n    try:\n        httpx.post(url, json=body)\n    except httpx.HTTPError:\n        pass",
    good="def test_server_survives_burst(url):\n    r = httpx.post(url, json=body)\n    assert r.status_code == 200",
))
ERROR_STATUS_UNCHECKED = register(RuleInfo(
    "AUD309", "error-status-unchecked", "medium", "probe",
    "The test still passed when its 4xx answer became a 200 success: it does not check the error it claims.",
    bad="r = http.post('/v1/messages', json={})\nassert 'error' in r.text or r.status_code == 400",
    good="r = http.post('/v1/messages', json={})\nassert r.status_code == 400\nassert r.json()['error']['type'] == 'invalid_request_error'",
))

KEYS_ONLY = register(RuleInfo(
    "AUD310", "existence-only-read", "medium", "probe",
    "Under every probe the test read only which keys its answers have or how many items, never a value: "
    "it cannot tell a right answer from a wrong one of the same shape.",
    bad="r = http.post('/v1/messages', json=body)\nassert 'usage' in r.json()\nassert r.json()['content']",
    good="r = http.post('/v1/messages', json=body)\nusage = r.json()['usage']\nassert usage['input_tokens'] == 12",
))

#: Built-in modes whose survival (of a claimed subject) is a finding, and the rule it is.
_BY_MODE = {
    "not-implemented": ERROR_ANSWER_ACCEPTED,
    "server-error": ERROR_ANSWER_ACCEPTED,
    "empty": ERROR_ANSWER_ACCEPTED,
    "garbage": SEMANTICS_UNCHECKED,
    "slow": PERFORMANCE_UNCHECKED,
    "late": PERFORMANCE_UNCHECKED,
    "truncated-stream": TRUNCATION_UNCHECKED,
    "unfinished-stream": TRUNCATION_UNCHECKED,
    "echo": ECHO_ACCEPTED,
    "down": CONNECTION_LOSS_ACCEPTED,
    "reset": CONNECTION_LOSS_ACCEPTED,
    "status-flip": ERROR_STATUS_UNCHECKED,
}

_WHAT = {
    PROVEN_VACUOUS.id: "passed under every sabotage that changed what it read ({modes}), though they break what it claims",
    ERROR_ANSWER_ACCEPTED.id: "passed while every answer was {modes}",
    SEMANTICS_UNCHECKED.id: "passed while every answer was schema-correct garbage",
    PERFORMANCE_UNCHECKED.id: "passed while every response arrived {modes}: it states no bound time could break",
    TRUNCATION_UNCHECKED.id: "passed while its event streams were {modes}",
    ECHO_ACCEPTED.id: "passed while every answer echoed its own prompt",
    FAULT_UNDETECTED.id: "passed with the configured fault {modes} switched on",
    CONNECTION_LOSS_ACCEPTED.id: "passed while the connection was {modes}",
    ERROR_STATUS_UNCHECKED.id: "passed while its 4xx answers were turned into 200 successes",
}
_DESCRIBED = {"truncated-stream": "cut after the first event", "unfinished-stream": "missing their last event",
             "slow": "10x later", "late": "10 s late", "not-implemented": "501 Not Implemented", "server-error": "500", "empty": "empty",
              "down": "refused", "reset": "dropped mid-answer"}


def probe_findings(cases: Sequence[TestCase], suites: Sequence[SuiteResult],
                   config: AuditConfig) -> tuple[Finding, ...]:
    """Findings of every test that passed and survived a mode that broke what it claims (see the module doc)."""
    by_id = {case.id: case for case in cases}
    found: list[Finding] = []
    for suite in suites:
        for outcome in suite.outcomes:
            if outcome.status != "passed":
                continue
            case = by_id.get(outcome.case_id)
            context = _context(case, outcome)
            keys_only = _keys_only(outcome.probes, case)
            if keys_only and is_enabled(KEYS_ONLY, config):
                found.append(finding(KEYS_ONLY.id, keys_only, path=case.path if case else outcome.node_id.split("::")[0],
                                     line=case.line if case else 1, test_id=outcome.node_id, config=config,
                                     evidence=[context]))
            weak = [r for r in outcome.probes if r.result == "survived" and r.claimed]
            if not weak:
                continue
            survived: dict[str, list[ProbeResult]] = {}
            faults = [r for r in weak if _is_fault(r.mode, config)]
            builtin = [r for r in weak if r not in faults]
            killed = any(r.result == "killed" and not _is_fault(r.mode, config) for r in outcome.probes)
            if builtin and not killed and is_enabled(PROVEN_VACUOUS, config):
                survived[PROVEN_VACUOUS.id] = builtin
            elif builtin:
                for result in builtin:
                    info = _rule_of(result.mode, config)
                    if info is not None and is_enabled(info, config):
                        survived.setdefault(info.id, []).append(result)
            if faults and is_enabled(FAULT_UNDETECTED, config):
                survived[FAULT_UNDETECTED.id] = faults
            for rule_id, results in sorted(survived.items()):
                modes = " or ".join(_DESCRIBED.get(r.mode, r.mode) for r in results)
                found.append(finding(
                    rule_id, _WHAT[rule_id].format(modes=modes), path=case.path if case else outcome.node_id.split("::")[0],
                    line=case.line if case else 1, test_id=outcome.node_id, config=config,
                    evidence=[*(f"{r.mode}: survived, changed {', '.join(r.touched) or 'its answers'}"
                                + (f" ({r.detail})" if r.detail else "") for r in results), context],
                ))
    return tuple(found)


def _context(case: TestCase | None, outcome: Outcome) -> str:
    """``claims: status; read: status, $.error.type`` for a finding's evidence."""
    claims = ", ".join(case.claims) if case is not None and case.claims else "content"
    reads = sorted({part for x in (outcome.observation.http if outcome.observation else ()) for part in x.reads})
    shown = ", ".join(reads[:6]) + (f" and {len(reads) - 6} more" if len(reads) > 6 else "") if reads else "nothing"
    return f"claims: {claims}; read: {shown}"


def _keys_only(results: Sequence[ProbeResult], case: TestCase | None) -> str | None:
    """Why AUD310 fires: every part the test read while passing probes was a key listing or a length."""
    # only runs the test passed: a failed run stops at what broke (a missing key reads as a key listing)
    read = {part for r in results if r.result in ("survived", "n/a") for part in r.reads if part != "request"}
    if not read or any(part == "body" or (part.startswith("$") and not part.endswith((".#keys", ".#len")))
                       for part in read):
        return None
    if not any(part.endswith((".#keys", ".#len")) for part in read):
        return None
    claims = set(case.claims) if case is not None and case.claims else {"content"}
    shown = ", ".join(sorted(read)[:5])
    if claims & {"status", "liveness"}:
        return None if "status" in read else f"claims a status but read only keys or lengths ({shown})"
    if claims & {"content", "type", "persistence"}:
        return f"claims {'/'.join(sorted(claims & {'content', 'type', 'persistence'}))} but read only keys or lengths ({shown})"
    return None


def _is_fault(mode: str, config: AuditConfig) -> bool:
    return any(probe.name == mode and probe.env for probe in config.probes)


def _rule_of(mode: str, config: AuditConfig) -> RuleInfo | None:
    """The rule a survival of ``mode`` breaks: a user-defined mode with ``env`` is a fault, else its base's rule."""
    for probe in config.probes:
        if probe.name == mode:
            return FAULT_UNDETECTED if probe.env else _rule_of(probe.base or "", config)
    return _BY_MODE.get(mode)
