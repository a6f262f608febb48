"""Probe: re-run the tests that talked HTTP with their responses sabotaged, and record which tests noticed.

For every suite of an audit, the tests that passed and made an HTTP call (every passed test with
``all_tests``) run again under each sabotage mode, all modes inside one pytest session per suite (or per
shard of a suite) so the session's fixtures, such as a live server, start once (:mod:`auditor.probe_session`).
A test that fails or errors under a mode *killed* it; one that still passes *survived*; a mode that found
nothing to sabotage in a test (``truncated-stream`` on a test without a stream) leaves it not probed.

``slow`` is a benchmark's mode (it asks "does this test check speed?") and runs only on ``benchmarks``
tests. User-defined modes with ``env`` run in sessions of their own, since the system under test must
start with that environment. Sessions run ``workers`` at a time, except those of timing-sensitive
categories (benchmarks, stress), which run alone so that the machine's load cannot fail a timing bound
and pass for a kill. Two kinds of their modes join the others all the same, because load cannot change
their verdicts: modes that answer without the server (a test that notices a made-up answer notices it
under any load, and one that does not has no bound that load could break without also being weak), and
``slow`` (a stated bound fails at ten times the time with or without load; a benchmark without one
cannot fail on time at all).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from auditor.config import DEFAULT_PROBE_MODES, AuditConfig, SuiteConfig
from auditor.exceptions import ConfigError, RunError
from auditor.model import Audit, Outcome, ProbeResult, SuiteResult
from auditor.run import kill_group, read_stream, start_pytest

#: Categories whose tests measure time or load: their sessions never share the machine with another.
TIMING_CATEGORIES = frozenset({"benchmarks", "stress"})
#: Built-in modes that only make sense for benchmarks.
BENCHMARK_MODES = frozenset({"slow"})
#: Built-in modes that change only event streams: a test that received none has nothing for them to change.
STREAM_MODES = frozenset({"truncated-stream"})
#: Built-in modes whose verdicts machine load cannot change (see the module docstring): answered without the
#: server, or ``slow``. Timing-sensitive suites run them alongside other sessions.
LOAD_ROBUST_MODES = frozenset({"not-implemented", "server-error", "empty", "slow"})

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


@dataclass(frozen=True)
class SessionResult:
    """What one session produced: verdicts by node id, and how the session itself went."""

    session: Session
    verdicts: dict[str, tuple[ProbeResult, ...]]
    duration: float
    message: str | None = None


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
        candidates = [o for o in result.outcomes if _probeable(o, all_tests)]
        shared: dict[str, list[str]] = defaultdict(list)
        by_env: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for outcome in candidates:
            category = categories.get(outcome.case_id, result.category)
            for name in names:
                probe = probes.get(name)
                if bases.get(name) in STREAM_MODES and not _streamed(outcome):
                    continue
                if probe is None:
                    if name not in BENCHMARK_MODES or category == "benchmarks":
                        shared[outcome.node_id].append(name)
                elif not probe.select or any(part in outcome.node_id for part in probe.select):
                    (by_env[name] if probe.env else shared)[outcome.node_id].append(name)
        durations = {o.node_id: o.duration for o in candidates}
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
                sessions.append(Session(suite, label, part, {m: bases[m] for m in names if m in used}, alone=alone))
        for name, tests in by_env.items():
            sessions.append(Session(suite, f"{suite.name} ({name})", {k: tuple(v) for k, v in tests.items()},
                                    {name: bases[name]}, dict(probes[name].env), alone=timing))
    return tuple(sessions)


def _probeable(outcome: Outcome, all_tests: bool) -> bool:
    # Only a pass can be undermined: a test that already fails says nothing under sabotage.
    if outcome.status != "passed":
        return False
    return all_tests or bool(outcome.observation and outcome.observation.http)


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
    return SuiteConfig(name=result.name, paths=result.paths, category=result.category, timeout=config.suite_timeout)


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


def run_session(session: Session, root: Path, scratch: Path) -> SessionResult:
    """Run one session's pytest process and read its verdicts (what it reached, if it timed out or died)."""
    scratch.mkdir(parents=True, exist_ok=True)
    stream, plan_path, log_path = scratch / "stream.jsonl", scratch / "plan.json", scratch / "pytest.log"
    plan_path.write_text(json.dumps({"stream": str(stream), "modes": session.modes, "tests": session.tests}),
                         encoding="utf-8")
    suite = session.suite
    command = [sys.executable, "-m", "pytest", *suite.paths, "-q", "-p", "no:cacheprovider", "--tb=line",
               f"--audit-probe={plan_path}", *suite.args]
    if suite.markers:
        command += ["-m", suite.markers]
    environment = {**os.environ, **suite.env, **session.env}
    environment.pop("AUDITOR_SABOTAGE", None)  # the plan says which mode runs when
    timeout = suite.timeout * max(1, len(session.modes))
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = start_pytest(command, cwd=root, env=environment, log=log, what=f"probe of {session.label}")
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if process.poll() is None:  # timed out, or we are interrupted: never leave the session running
                kill_group(process)
    verdicts, answered, problems = _read_stream(stream)
    message = None
    if code is None:
        message = f"killed after {timeout:g}s"
    elif code not in (0, 5):
        message = f"pytest exit code {code}: {_last_line(log_path)}"
    if problems:
        message = "; ".join(filter(None, [message, *problems[:3]]))
    missing = "not reached: " + (message or "the session ended early")
    for node, modes in session.tests.items():
        lost = tuple(ProbeResult(mode, "error", missing) for mode in modes if mode not in answered.get(node, ()))
        if lost:
            verdicts[node] = verdicts.get(node, ()) + lost
    return SessionResult(session, verdicts, time.monotonic() - started, message)


def _read_stream(path: Path) -> tuple[dict[str, tuple[ProbeResult, ...]], dict[str, set[str]], list[str]]:
    """(verdicts by node id, modes each node id answered, ``n/a`` included; problems of the session)."""
    verdicts: dict[str, list[ProbeResult]] = defaultdict(list)
    answered: dict[str, set[str]] = defaultdict(set)
    problems = []
    for record in read_stream(path):
        if record.get("event") == "probe":
            answered[record["nodeid"]].add(record["mode"])
            if record.get("result") in ("killed", "survived", "error"):
                verdicts[record["nodeid"]].append(ProbeResult(record["mode"], record["result"], record.get("detail")))
        elif record.get("event") == "teardown":
            problems.append(f"fixture teardown after {record.get('nodeid')}: {record.get('error')}")
    return {node: tuple(results) for node, results in verdicts.items()}, answered, problems


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:300] if lines else ""


def run_sessions(sessions: Sequence[Session], root: Path, *, workers: int = 1,
                 report: Report | None = None) -> tuple[SessionResult, ...]:
    """Run ``sessions``: ``workers`` at a time, then those that must run alone one by one.

    Sessions of timing-sensitive suites enter the pool first: they are the long ones (a stress test
    waiting out its deadline, a benchmark under ``slow``), and the short ones fill in around them.
    """
    say = report or (lambda line: None)

    def one(index: int, session: Session, scratch: Path) -> SessionResult:
        say(f"auditor: probe {session.label}: {len(session.tests)} test(s) x {', '.join(session.modes)}")
        result = run_session(session, root, scratch / str(index))
        say(f"auditor: probe {session.label}: done in {result.duration:.1f}s"
            + (f" ({result.message})" if result.message else ""))
        return result

    indexed = list(enumerate(sessions))
    with tempfile.TemporaryDirectory(prefix="auditor-probe-") as scratch_dir:
        scratch = Path(scratch_dir)
        shared = sorted(((i, s) for i, s in indexed if not s.alone),
                        key=lambda pair: (pair[1].suite.category not in TIMING_CATEGORIES, pair[0]))
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(pool.map(lambda pair: one(pair[0], pair[1], scratch), shared))
        results += [one(i, s, scratch) for i, s in indexed if s.alone]
    return tuple(results)


def apply(audit: Audit, results: Sequence[SessionResult], config: AuditConfig) -> Audit:
    """``audit`` with the probes' verdicts on its outcomes, its probe findings redone, and probe facts noted.

    A test's earlier verdicts in modes that were not run again are kept. Scores are left to the caller.
    """
    from auditor.rules.probe import probe_findings

    verdicts: dict[str, list[ProbeResult]] = defaultdict(list)
    rerun: dict[str, set[str]] = defaultdict(set)
    for result in results:
        for node, modes in result.session.tests.items():
            rerun[node].update(modes)
        for node, found in result.verdicts.items():
            verdicts[node].extend(found)
    suites = []
    for suite in audit.suites:
        outcomes = []
        for outcome in suite.outcomes:
            if outcome.node_id in rerun:
                kept = tuple(p for p in outcome.probes if p.mode not in rerun[outcome.node_id])
                outcome = dataclasses.replace(outcome, probes=kept + tuple(verdicts.get(outcome.node_id, ())))
            outcomes.append(outcome)
        suites.append(dataclasses.replace(suite, outcomes=tuple(outcomes)))
    modes = tuple(dict.fromkeys([*audit.probe_modes, *(m for r in results for m in r.session.modes)]))
    findings = tuple(f for f in audit.findings if f.origin != "probe") + probe_findings(audit.cases, suites, config)
    environment = dict(audit.environment)
    environment["probe_sessions"] = str(len(results))
    environment["probe_seconds"] = f"{sum(r.duration for r in results):.1f}"
    problems = [f"{r.session.label}: {r.message}" for r in results if r.message]
    if problems:
        environment["probe_problems"] = " | ".join(problems)[:2000]
    return dataclasses.replace(audit, suites=tuple(suites), probe_modes=modes, findings=findings,
                               environment=environment)


def probe(config: AuditConfig, audit: Audit, *, modes: Sequence[str] = (), all_tests: bool = False,
          only: Sequence[str] = (), workers: int | None = None, report: Report | None = None) -> Audit:
    """Plan, run and apply the probes of ``audit`` (unscored: the caller scores it)."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise ConfigError(f"--workers: expected at least 1, got {count}")
    sessions = plan(config, audit, modes=modes, all_tests=all_tests, only=only, shards=count)
    return apply(audit, run_sessions(sessions, Path(config.root), workers=count, report=report), config)


def kill_counts(audit: Audit) -> dict[str, dict[str, tuple[int, int]]]:
    """``{mode: {category: (killed, judged)}}`` over every probed test, with a ``total`` category.

    Judged = killed + survived; errors and not-probed modes are left out, as in :attr:`Score.kill_rate`.
    """
    categories = {case.id: case.category for case in audit.cases}
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for suite in audit.suites:
        for outcome in suite.outcomes:
            category = categories.get(outcome.case_id, suite.category)
            for result in outcome.probes:
                if result.result not in ("killed", "survived"):
                    continue
                for column in (category, "total"):
                    cell = counts[result.mode][column]
                    cell[0] += result.result == "killed"
                    cell[1] += 1
    return {mode: {column: (cell[0], cell[1]) for column, cell in columns.items()} for mode, columns in counts.items()}
