"""Which probe sessions to run: the tests that talked HTTP, the modes each can be sabotaged in, grouped so
that a suite's fixtures start once per session and timing-sensitive suites never share the machine.

See :mod:`auditor.probe.sessions` for the whole story and for running them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from auditor.collect.packages import own_clients
from auditor.config import DEFAULT_PROBE_MODES, AuditConfig, SuiteConfig
from auditor.exceptions import ConfigError, RunError
from auditor.model import Audit, Outcome, SuiteResult

#: Categories whose tests measure time or load: their sessions never share the machine with another.
TIMING_CATEGORIES = frozenset({"benchmarks", "stress"})
#: Built-in modes that only make sense for benchmarks.
BENCHMARK_MODES = frozenset({"slow"})
#: Built-in modes for the quick tests outside benchmarks that claim a time bound.
TIMING_CLAIM_MODES = frozenset({"late"})
#: Built-in modes that change only event streams: a test that received none has nothing for them to change.
STREAM_MODES = frozenset({"truncated-stream", "unfinished-stream", "reset"})
#: Built-in modes that change only error answers: a test that received none has nothing for them to change.
CLIENT_ERROR_MODES = frozenset({"status-flip"})
#: Built-in modes whose verdicts machine load cannot change (see the module docstring): answered without the
#: server, or ``slow``. Timing-sensitive suites run them alongside other sessions.
LOAD_ROBUST_MODES = frozenset({"not-implemented", "server-error", "empty", "slow", "late", "down"})


#: Estimated test time (last run's durations x modes) below which a suite's probe is not split into shards.
MIN_SHARD_SECONDS = 20.0

#: Called with a line of progress (session started or finished).
Report = Callable[[str], None]


@dataclass(frozen=True)
class Session:
    """One pytest process of a probe: some of a suite's tests, the modes to run each under, extra environment."""

    suite: SuiteConfig
    label: str
    #: node id -> mode names, in the order they run
    tests: dict[str, tuple[str, ...]]
    #: mode name -> its built-in base (``None``: the mode is the environment alone)
    modes: dict[str, str | None]
    env: dict[str, str] = field(default_factory=dict)
    #: True when the session must run alone (timing-sensitive suite, modes whose verdicts load could change).
    alone: bool = False
    #: node id -> the (method, path, status) of each exchange of the real run: a made-up answer changes the
    #: status only where it differs from the real one.
    expected: dict[str, tuple[tuple[str, str, int], ...]] = field(default_factory=dict)


def chosen_modes(config: AuditConfig, modes: Sequence[str] = ()) -> tuple[str, ...]:
    """The modes to run: ``modes`` if given, else ``probe_modes`` then every ``[tool.auditor.probes]`` mode."""
    configured = {probe.name for probe in config.probes}
    names = tuple(modes) or tuple(dict.fromkeys([*config.probe_modes, *(p.name for p in config.probes)]))
    unknown = [name for name in names if name not in DEFAULT_PROBE_MODES and name not in configured]
    if unknown:
        known = ", ".join([*DEFAULT_PROBE_MODES, *sorted(configured)])
        raise ConfigError(f"unknown probe mode(s): {', '.join(unknown)} (known: {known})")
    return names


def plan(config: AuditConfig, audit: Audit, *, modes: Sequence[str] = (), all_tests: bool = False,
         only: Sequence[str] = (), shards: int = 1) -> tuple[Session, ...]:
    """The sessions that probe ``audit``'s suites (or those named in ``only``) in ``modes``."""
    names = chosen_modes(config, modes)
    probes = {probe.name: probe for probe in config.probes}
    categories = {case.id: case.category for case in audit.cases}
    claims = {case.id: case.claims for case in audit.cases}
    ran = [suite for suite in audit.suites if suite.source == "run" and suite.outcomes]
    unknown = set(only) - {suite.name for suite in ran}
    if unknown:
        raise RunError(f"no suite named {', '.join(sorted(unknown))} in the audit (suites: "
                       f"{', '.join(s.name for s in ran)})")
    bases = {name: probes[name].base if name in probes else name for name in names}
    sessions: list[Session] = []
    for result in ran:
        if only and result.name not in only:
            continue
        suite = _suite_config(config, result)
        own = own_clients(config.root, config.own_packages)
        candidates = [o for o in result.outcomes if _probeable(o, all_tests) and not own_client(o, own)]
        shared: dict[str, list[str]] = defaultdict(list)
        by_env: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for outcome in candidates:
            category = categories.get(outcome.case_id, result.category)
            for name in names:
                probe = probes.get(name)
                if bases.get(name) in STREAM_MODES and not _streamed(outcome):
                    continue
                if bases.get(name) in CLIENT_ERROR_MODES and not _client_error(outcome):
                    continue
                if probe is None:
                    if name in BENCHMARK_MODES and category != "benchmarks":
                        continue
                    if name in TIMING_CLAIM_MODES and (category == "benchmarks" or not _quick_timing(outcome, claims)):
                        continue
                    shared[outcome.node_id].append(name)
                elif not probe.select or any(part in outcome.node_id for part in probe.select):
                    (by_env[name] if probe.env else shared)[outcome.node_id].append(name)
        durations = {o.node_id: o.duration for o in candidates}
        expected = {o.node_id: tuple((x.method, x.path, x.status) for x in o.observation.http if x.status is not None)
                    for o in candidates if o.observation is not None}
        timing = suite.category in TIMING_CATEGORIES
        groups = _by_load(shared, bases) if timing else [(dict(shared), False)]
        for group, alone in groups:
            if not group:
                continue
            parts = _split(group, durations, 1 if timing else shards)
            for index, part in enumerate(parts):
                used = {mode for modes_of in part.values() for mode in modes_of}
                label = suite.name + (f" (shard {index + 1})" if len(parts) > 1 else "")
                label += "" if not timing else " (alone)" if alone else " (load-robust modes)"
                sessions.append(Session(suite, label, part, {m: bases[m] for m in names if m in used}, alone=alone,
                                        expected={node: expected.get(node, ()) for node in part}))
        for name, tests in by_env.items():
            sessions.append(Session(suite, f"{suite.name} ({name})", {k: tuple(v) for k, v in tests.items()},
                                    {name: bases[name]}, dict(probes[name].env), alone=timing))
    return tuple(sessions)


def _probeable(outcome: Outcome, all_tests: bool) -> bool:
    # Only a pass can be undermined: a test that already fails says nothing under sabotage.
    if outcome.status != "passed":
        return False
    return all_tests or bool(outcome.observation and outcome.observation.http)


def own_client(outcome: Outcome, own: frozenset[str]) -> str | None:
    """The project's own client library when every exchange of ``outcome`` went through it, else ``None``."""
    http = outcome.observation.http if outcome.observation else ()
    clients = {exchange.client for exchange in http}
    return next(iter(clients)) if len(clients) == 1 and clients <= own else None


#: Seconds a test may take in the real run and still be slowed tenfold for its timing claim outside benchmarks.
QUICK_TIMING_SECONDS = 1.0


def _quick_timing(outcome: Outcome, claims: dict[str, tuple[str, ...]]) -> bool:
    # a test that claims a time bound is proven by ``slow`` alone; slowing a long test costs too much
    return "timing" in claims.get(outcome.case_id, ()) and outcome.duration <= QUICK_TIMING_SECONDS


def _client_error(outcome: Outcome) -> bool:
    observation = outcome.observation
    return observation is None or any(x.status is not None and 400 <= x.status < 600 for x in observation.http)


def _by_load(tests: dict[str, list[str]], bases: dict[str, str | None]) -> list[tuple[dict[str, list[str]], bool]]:
    """A timing-sensitive suite's tests split into (load-robust modes, False) and (the rest, True: alone)."""
    robust: dict[str, list[str]] = {}
    rest: dict[str, list[str]] = {}
    for node, modes in tests.items():
        for mode in modes:
            (robust if bases.get(mode) in LOAD_ROBUST_MODES else rest).setdefault(node, []).append(mode)
    return [(robust, False), (rest, True)]


def _streamed(outcome: Outcome) -> bool:
    # Unobserved (``--all`` on results without our plugin): it may have streamed, so probe it.
    observation = outcome.observation
    return observation is None or not observation.http or any(exchange.stream for exchange in observation.http)


def _suite_config(config: AuditConfig, result: SuiteResult) -> SuiteConfig:
    for suite in config.suites:
        if suite.name == result.name:
            return suite
    return SuiteConfig(name=result.name, paths=result.paths, category=result.category, timeout=config.suite_timeout,
                       test_timeout=config.test_timeout)


def _split(tests: dict[str, list[str]], durations: dict[str, float], shards: int) -> list[dict[str, tuple[str, ...]]]:
    """Contiguous shards (run order kept, so module fixtures are set up about once per shard) of similar cost."""
    items = list(tests.items())
    costs = [max(durations.get(node, 0.0), 0.01) * len(modes) for node, modes in items]
    # A shard starts its own session fixtures (a server): not worth it for less than MIN_SHARD_SECONDS of tests.
    shards = max(1, min(shards, len(items), int(sum(costs) // MIN_SHARD_SECONDS)))
    target = sum(costs) / shards
    parts: list[dict[str, tuple[str, ...]]] = [{}]
    spent = 0.0
    for (node, modes), cost in zip(items, costs, strict=True):
        if spent >= target * len(parts) and len(parts) < shards:
            parts.append({})
        parts[-1][node] = tuple(modes)
        spent += cost
    return parts


