"""Probe rules (AUD3xx): what sabotage probes proved about a test that passed (see ``docs/probes.md``).

A rule fires only on a test that passed in the audited run and *survived* a mode, i.e. still passed
while every HTTP answer it received was sabotaged. Killed, errored and not-probed modes prove nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.collect.rules.registry import RuleInfo, finding, is_enabled, register
from auditor.config import AuditConfig
from auditor.model import Finding, ProbeResult, SuiteResult, TestCase

PROVEN_VACUOUS = register(RuleInfo(
    "AUD301", "proven-vacuous", "high", "probe",
    "The test still passed when every answer was 501 Not Implemented or empty: it cannot detect a missing feature.",
    bad="r = http.post('/v1/messages', json=body)\nassert r.status_code in [200, 400, 501]",
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

#: Built-in modes whose survival is a finding, and the rule it is.
_BY_MODE = {
    "not-implemented": PROVEN_VACUOUS,
    "empty": PROVEN_VACUOUS,
    "garbage": SEMANTICS_UNCHECKED,
    "slow": PERFORMANCE_UNCHECKED,
    "truncated-stream": TRUNCATION_UNCHECKED,
    "echo": ECHO_ACCEPTED,
}
#: Built-in modes whose survival alone proves nothing: a test may rightly expect a 500.
_NO_FINDING = frozenset({"server-error"})

_WHAT = {
    PROVEN_VACUOUS.id: "passed while every answer was {modes}",
    SEMANTICS_UNCHECKED.id: "passed while every answer was schema-correct garbage",
    PERFORMANCE_UNCHECKED.id: "benchmark passed while every response arrived 10x later",
    TRUNCATION_UNCHECKED.id: "passed while its event streams were cut after the first event",
    ECHO_ACCEPTED.id: "passed while every answer echoed its own prompt",
    FAULT_UNDETECTED.id: "passed with the configured fault {modes} switched on",
}
_DESCRIBED = {"not-implemented": "501 Not Implemented", "empty": "empty"}


def probe_findings(cases: Sequence[TestCase], suites: Sequence[SuiteResult],
                   config: AuditConfig) -> tuple[Finding, ...]:
    """One finding per rule and test instance that passed and survived a mode of that rule."""
    by_id = {case.id: case for case in cases}
    found: list[Finding] = []
    for suite in suites:
        for outcome in suite.outcomes:
            if outcome.status != "passed":
                continue
            survived: dict[str, list[ProbeResult]] = {}
            for result in outcome.probes:
                info = _rule_of(result.mode, config)
                if result.result == "survived" and info is not None and is_enabled(info, config):
                    survived.setdefault(info.id, []).append(result)
            case = by_id.get(outcome.case_id)
            for rule_id, results in sorted(survived.items()):
                modes = " or ".join(_DESCRIBED.get(r.mode, r.mode) for r in results)
                found.append(finding(
                    rule_id, _WHAT[rule_id].format(modes=modes), path=case.path if case else outcome.node_id.split("::")[0],
                    line=case.line if case else 1, test_id=outcome.node_id, config=config,
                    evidence=[f"{r.mode}: survived" + (f" ({r.detail})" if r.detail else "") for r in results],
                ))
    return tuple(found)


def _rule_of(mode: str, config: AuditConfig) -> RuleInfo | None:
    """The rule a survival of ``mode`` breaks: a user-defined mode with ``env`` is a fault, else its base's rule."""
    for probe in config.probes:
        if probe.name == mode:
            return FAULT_UNDETECTED if probe.env else _rule_of(probe.base or "", config)
    if mode in _NO_FINDING:
        return None
    return _BY_MODE.get(mode)
