"""Probe: re-run the tests that talked HTTP with their responses sabotaged, and record which tests noticed.

For every suite of an audit, the tests that passed and made an HTTP call (every passed test with
``all_tests``) run again under each sabotage mode, all modes inside one pytest session per suite (or per
shard of a suite) so the session's fixtures, such as a live server, start once (:mod:`auditor.run.probe_hooks`).
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
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from auditor.collect.packages import own_clients
from auditor.config import AuditConfig
from auditor.exceptions import ConfigError
from auditor.model import Audit, ProbeResult
from auditor.probe.judge import judge
from auditor.probe.plan import TIMING_CATEGORIES, Report, Session, own_client, plan
from auditor.run import processes
from auditor.run.runner import read_stream


@dataclass(frozen=True)
class SessionResult:
    """What one session produced: verdicts by node id, and how the session itself went."""

    session: Session
    verdicts: dict[str, tuple[ProbeResult, ...]]
    duration: float
    message: str | None = None


def run_session(session: Session, root: Path, scratch: Path) -> SessionResult:
    """Run one session's pytest process and read its verdicts (what it reached, if it timed out or died)."""
    scratch.mkdir(parents=True, exist_ok=True)
    stream, plan_path, log_path = scratch / "stream.jsonl", scratch / "plan.json", scratch / "pytest.log"
    plan_path.write_text(json.dumps({"stream": str(stream), "modes": session.modes, "tests": session.tests,
                                     "expected": session.expected, "test_timeout": session.suite.test_timeout}),
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
    code, stopped = _run(command, root, environment, log_path, timeout, session.label)
    verdicts, answered, problems = _read_stream(stream)
    message = None
    if stopped:
        message = f"stopped by {stopped}"
    elif code is None:
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


def _run(command: list[str], root: Path, env: dict[str, str], log_path: Path, timeout: float,
         label: str) -> tuple[int | None, str | None]:
    """(exit code, or ``None`` when killed at the timeout; the signal that stopped the audit, if one did)."""
    if processes.stop_requested():
        return None, processes.stop_requested()
    with open(log_path, "wb") as log:
        try:
            process = processes.start(command, cwd=root, env=env, log=log, what=f"probe of {label}")
        except processes.StopRequested:
            return None, processes.stop_requested()
        deadline, watched, ended = time.monotonic() + timeout, 0.0, False
        try:
            while not (ended := processes.exited(process)):
                now = time.monotonic()
                if processes.stop_requested() or now >= deadline:
                    break
                if now - watched >= 0.5:
                    processes.watch(process)
                    watched = now
                time.sleep(0.05)
        finally:
            processes.kill_tree(process)  # timed out, stopped, or leftovers of a finished session
    return (process.returncode if ended else None), processes.stop_requested()


def _read_stream(path: Path) -> tuple[dict[str, tuple[ProbeResult, ...]], dict[str, set[str]], list[str]]:
    """(verdicts by node id, modes each node id answered, ``n/a`` included; problems of the session)."""
    verdicts: dict[str, list[ProbeResult]] = defaultdict(list)
    answered: dict[str, set[str]] = defaultdict(set)
    problems = []
    for record in read_stream(path):
        if record.get("event") == "probe":
            answered[record["nodeid"]].add(record["mode"])
            if record.get("result") in ("killed", "survived", "error", "n/a"):
                verdicts[record["nodeid"]].append(ProbeResult(record["mode"], record["result"], record.get("detail"),
                                                              tuple(record.get("touched", ())),
                                                              reads=tuple(record.get("reads", ()))))
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
    from auditor.collect.rules.probe import probe_findings
    from auditor.collect.rules.runtime import unasked_5xx

    cases = {case.id: case for case in audit.cases}
    own = own_clients(config.root, config.own_packages)
    probed_modes = tuple(dict.fromkeys([*audit.probe_modes, *(m for r in results for m in r.session.modes)]))
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
            case = cases.get(outcome.case_id)
            if outcome.node_id in rerun:
                kept = tuple(p for p in outcome.probes if p.mode not in rerun[outcome.node_id])
                found = tuple(judge(p, case, suite.category, config) for p in verdicts.get(outcome.node_id, ()))
                outcome = dataclasses.replace(outcome, probes=kept + found)
            elif outcome.status == "passed" and (library := own_client(outcome, own)) and results:
                outcome = dataclasses.replace(outcome, probes=tuple(
                    ProbeResult(mode, "n/a", f"the client library {library} is the code under test") for mode in probed_modes))
            outcomes.append(outcome)
        suites.append(dataclasses.replace(suite, outcomes=tuple(outcomes)))
    # a 5xx the test was proven to check (status-flip killed it) was asked for: its AUD201 goes
    asked = {o.node_id for s in suites for o in s.outcomes
             if not unasked_5xx(o, cases[o.case_id].claims if o.case_id in cases else (), own)}
    findings = tuple(f for f in audit.findings if f.origin != "probe" and not (f.rule == "AUD201" and f.test_id in asked))
    findings += probe_findings(audit.cases, suites, config)
    environment = dict(audit.environment)
    environment["probe_sessions"] = str(len(results))
    environment["probe_seconds"] = f"{sum(r.duration for r in results):.1f}"
    problems = [f"{r.session.label}: {r.message}" for r in results if r.message]
    if problems:
        environment["probe_problems"] = " | ".join(problems)[:2000]
    return dataclasses.replace(audit, suites=tuple(suites), probe_modes=probed_modes, findings=findings,
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
                if not result.judged:
                    continue
                for column in (category, "total"):
                    cell = counts[result.mode][column]
                    cell[0] += result.result == "killed"
                    cell[1] += 1
    return {mode: {column: (cell[0], cell[1]) for column, cell in columns.items()} for mode, columns in counts.items()}
