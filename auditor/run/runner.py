"""Run: each suite in pytest subprocesses that cannot lose a test.

The pytest exit code is kept as data (``SuiteResult.exit_code``), never passed through as ours. pytest runs
with the project's own configuration and only the plugin's options added (:func:`pytest_command`), so every test
gets the outcome plain ``pytest`` gives it. Our plugin streams one JSON line per test as it starts and finishes
(:mod:`auditor.run.attempt` watches it), and the collected and deselected node ids, so:

- a test that kills its pytest process, whatever the exit code (``os._exit(0)``, a segfault, closed output),
  is recorded as ``crashed``, and pytest starts again on the collected tests that have not run yet
  (``--audit-only``), as pytest-xdist replaces a dead worker, until every test ran or crashed;
- a test that outruns ``test_timeout`` has its stacks dumped, is recorded as ``hung``, and the suite resumes
  in the same way;
- the suite's own ``timeout`` and a stop request (SIGTERM/SIGINT, :mod:`auditor.run.processes`) end it: the
  test in flight is ``interrupted``, the rest ``not_run`` with that reason;
- failed tests are then re-run ``reruns`` times in a pass of their own; the first attempt keeps its outcome,
  and one that passes on a re-run is flagged ``flaky``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from auditor.collect.inventory import Inventory
from auditor.config import AuditConfig, SuiteConfig
from auditor.exceptions import RunError
from auditor.model import Outcome, SuiteResult, TestCase
from auditor.run import processes
from auditor.run.attempt import EventSink, run_attempt
from auditor.run.observe import (
    case_id_of,
    collection_errors,
    merge_outcomes,
    outcomes_from_report,
    outcomes_from_stream,
)

#: pytest exit codes -> suite status (5 = nothing collected).
_STATUS = {0: "completed", 1: "failed", 2: "error", 3: "error", 4: "error", 5: "no_tests"}
#: Statuses whose tests are re-run to tell a flaky test from a failing one.
RERUN_STATUSES = ("failed", "error")
_BROKEN = ("failed", "error", "crashed", "hung")

__all__ = ["EventSink", "default_suites", "pytest_command", "read_stream", "run_pytest", "run_suites"]


def default_suites(config: AuditConfig, inventory: Inventory) -> tuple[SuiteConfig, ...]:
    """Configured suites, else one per category, over the folders that hold its tests."""
    if config.suites:
        return config.suites
    folders: dict[str, set[str]] = defaultdict(set)
    for case in inventory.cases:
        if case.collectable:
            folders[case.category].add(str(PurePosixPath(case.path).parent))
    suites = []
    for category, paths in sorted(folders.items()):
        # keep only the outermost folders, so no test is run twice
        outer = sorted(p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in paths))
        suites.append(SuiteConfig(name=category, paths=tuple(outer), category=category, timeout=config.suite_timeout,
                                  test_timeout=config.test_timeout, reruns=config.reruns))
    return tuple(suites)


def run_suites(config: AuditConfig, inventory: Inventory, *, progress: bool = False,
               only: Sequence[str] = ()) -> tuple[SuiteResult, ...]:
    """Run every suite (or those named in ``only``) one after the other; after a stop request, none more."""
    suites = default_suites(config, inventory)
    unknown = set(only) - {s.name for s in suites}
    if unknown:
        raise RunError(f"no suite named {', '.join(sorted(unknown))} (suites: {', '.join(s.name for s in suites)})")
    chosen = [suite for suite in suites if not only or suite.name in only]
    cases = {case.id: case for case in inventory.cases}
    from auditor.run.progress import Progress

    results = []
    with Progress(enabled=progress) as display:
        for suite in suites:
            stopped = processes.stop_requested()
            if suite not in chosen or stopped:
                # reported, so its tests get a reason ("suite_not_run", "interrupted") rather than vanish
                results.append(SuiteResult(name=suite.name, category=suite.category, paths=suite.paths,
                                           status="interrupted" if stopped and suite in chosen else "not_run",
                                           message=f"stopped by {stopped} before it started" if stopped
                                           else "not selected"))
                continue
            display.suite_started(suite.name, suite.paths or (suite.markers or "",))
            with tempfile.TemporaryDirectory(prefix="auditor-") as scratch:
                result = run_pytest(suite, root=config.root, json_path=Path(scratch) / "report.json", cases=cases,
                                    on_event=display.event)
            display.suite_finished(result)
            results.append(result)
    return tuple(results)


def pytest_command(suite: SuiteConfig, *, json_path: Path, stream_path: Path, node_ids: Sequence[str] = (),
                   extra_args: Sequence[str] = (), only_path: Path | None = None) -> list[str]:
    """The pytest command line for ``suite`` (or just ``node_ids``), with our plugin and report on.

    Only options that cannot change an outcome are added (outcome parity with plain ``pytest``): no warning
    filter, no ``-p no:...``, no ini override, no verbosity; the project's own configuration applies as it is.
    ``only_path`` (``--audit-only``, the plugin's own) limits a resumed or re-run pass to the tests it lists.
    """
    command = [sys.executable, "-m", "pytest", *(node_ids or suite.paths),
               "--json-report", f"--json-report-file={json_path}", "--audit", f"--audit-stream={stream_path}",
               *suite.args, *extra_args]
    if only_path is not None:
        command.append(f"--audit-only={only_path}")
    if suite.markers and not node_ids:
        command += ["-m", suite.markers]
    return command


@dataclass
class _Pass:
    """The processes one list of tests took: the whole suite, or the failed tests of a re-run."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    collected: list[str] = field(default_factory=list)
    deselected: list[str] = field(default_factory=list)
    #: Files (collector node ids) pytest could not import
    collection_errors: list[str] = field(default_factory=list)
    #: Files an option of the project (``--lf``) kept pytest from collecting at all
    deselected_files: list[str] = field(default_factory=list)
    restarts: int = 0
    #: "completed", "crashed" (died with no test to blame), "timed_out" or "interrupted"
    end: str = "completed"
    code: int | None = None
    reported: bool = False  # the last process wrote its json report (it ended as pytest ends)
    commands: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_tail: str | None = None


def run_pytest(
    suite: SuiteConfig,
    *,
    json_path: Path,
    node_ids: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    root: Path | None = None,
    cases: Mapping[str, TestCase] | None = None,
    on_event: EventSink | None = None,
) -> SuiteResult:
    """Run ``suite`` (or just ``node_ids``) in ``root`` (default: the current folder) until every collected test
    ran, crashed, hung, or the suite's ``timeout`` or a stop request ended it; then re-run its failed tests.

    Status: ``interrupted`` (stop request), ``timed_out`` (the suite's timeout), ``crashed`` (pytest died with no
    test running, e.g. while collecting), else from the last exit code, ``failed`` when any test failed,
    errored, crashed or hung. Files go next to ``json_path``.
    """
    json_path = Path(json_path)
    work = json_path.parent
    started = time.monotonic()
    context = _Context(suite=suite, work=work, stem=json_path.stem, cwd=Path(root) if root is not None else Path.cwd(),
                       env={**os.environ, **suite.env, **(env or {})},  # as plain pytest gets it: pyc files shared
                       node_ids=tuple(node_ids), extra_args=tuple(extra_args), deadline=started + suite.timeout,
                       known=dict(cases or {}), on_event=on_event)
    main = context.run_pass(None, "")
    outcomes = dict(main.outcomes)
    notes = list(main.notes)
    if suite.reruns and main.end == "completed":
        notes += _rerun(context, outcomes)
    status = _status(main, outcomes.values())
    order = {node: index for index, node in enumerate(main.collected)}
    ordered = sorted(outcomes.values(), key=lambda o: order.get(o.node_id, len(order)))
    return SuiteResult(
        name=suite.name, category=suite.category, paths=tuple(node_ids or suite.paths), status=status,
        exit_code=main.code, duration=time.monotonic() - started, collected=len(main.collected),
        deselected=len(main.deselected), outcomes=tuple(ordered), command=tuple(main.commands[0]) if main.commands else (),
        message=_message(status, suite, main, notes), restarts=main.restarts,
        deselected_ids=(*main.deselected, *main.deselected_files),
        collection_errors=tuple(main.collection_errors),
    )


@dataclass
class _Context:
    suite: SuiteConfig
    work: Path
    stem: str
    cwd: Path
    env: dict[str, str]
    node_ids: tuple[str, ...]
    extra_args: tuple[str, ...]
    deadline: float
    known: dict[str, TestCase]
    on_event: EventSink | None

    def say(self, record: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(record)

    def run_pass(self, pending: Sequence[str] | None, tag: str) -> _Pass:
        """Run ``pending`` (``None``: the whole suite), starting pytest again after each crash or hang."""
        result = _Pass()
        wanted = list(pending) if pending is not None else None
        index = 0
        while True:
            base = self.work / f"{self.stem}{tag}-{index}"
            json_path, stream = Path(f"{base}.json"), Path(f"{base}.stream.jsonl")
            only = None
            if wanted is not None:
                only = Path(f"{base}.only")
                only.write_text("".join(f"{node}\n" for node in wanted), encoding="utf-8")
            command = pytest_command(self.suite, json_path=json_path, stream_path=stream, node_ids=self.node_ids,
                                     extra_args=self.extra_args, only_path=only)
            result.commands.append(command)
            attempt = run_attempt(command, cwd=self.cwd, env=self.env, stream_path=stream,
                                  log_path=Path(f"{base}.log"), test_timeout=self.suite.test_timeout,
                                  deadline=self.deadline, on_event=self.on_event, what=f"suite {self.suite.name}")
            result.code, result.log_tail = attempt.code, attempt.log_tail
            for record in attempt.records:
                if record.get("event") == "collected":
                    _extend(result.collected, record.get("nodeids") or ())
                elif record.get("event") == "deselected":
                    _extend(result.deselected, record.get("nodeids") or ())
                elif record.get("event") == "deselected_files":
                    _extend(result.deselected_files, record.get("nodeids") or ())
            report = _read_report(json_path)
            result.reported = bool(report)
            _extend(result.collection_errors, collection_errors(report))
            before = len(result.outcomes)
            got = merge_outcomes(outcomes_from_report(report, self.suite.name, self.known),
                                 outcomes_from_stream(attempt.records, self.suite.name, self.known))
            result.outcomes.update((o.node_id, o) for o in got)
            blamed = self._blame(attempt, result)
            collected = set(result.collected)
            scope = result.collected if wanted is None else [node for node in wanted if node in collected]
            remaining = [node for node in scope if node not in result.outcomes]
            # Again on the rest after a crash, or after the watchdog killed a hung test (and any neighbour with it),
            # as long as each process settles at least one test more.
            if remaining and len(result.outcomes) > before and (blamed or attempt.ended == "hung"):
                result.restarts += 1
                self.say({"event": "resume", "count": len(remaining)})
                wanted = remaining
                index += 1
                continue
            if attempt.ended in ("timed_out", "interrupted"):
                result.end, why = attempt.ended, attempt.ended
            elif attempt.ended == "exited" and not blamed and not result.reported and result.code not in (0, 5):
                result.end, why = "crashed", "crashed"  # died between tests or while collecting
            else:
                why = "not_reached"  # pytest chose to stop (-x, --maxfail, pytest.exit)
            for node in remaining:
                result.outcomes[node] = Outcome(node_id=node, case_id=case_id_of(node), status="not_run",
                                                suite=self.suite.name, reason=why)
            return result

    def _blame(self, attempt: Any, result: _Pass) -> bool:
        """Record the tests this process was running when it ended; True when one crashed or hung."""
        blamed = False
        broken = {r.get("nodeid"): r.get("reason") for r in attempt.records if r.get("event") == "broken"}
        for node, pid in attempt.lost.items():  # an xdist worker died; xdist went on, and says "failed"
            known = result.outcomes.get(node)
            if known is None or known.status in ("failed", "error"):
                why = broken.get(node) or f"its pytest worker process (pid {pid}) died while this test ran"
                result.outcomes[node] = Outcome(node_id=node, case_id=case_id_of(node), status="crashed",
                                                suite=self.suite.name, reason=why,
                                                details=known.details if known is not None else attempt.log_tail)
                result.notes.append(f"{node} crashed")
                self.say({"event": "crashed", "nodeid": node, "reason": why})
        for node in (n for n in attempt.in_flight if n not in result.outcomes):
            if attempt.ended == "exited":
                why = (f"{broken[node]}: no later test could run in its pytest process, which was ended"
                       if broken.get(node) else f"the pytest process {_death(attempt.code)} while this test ran")
                outcome = Outcome(node_id=node, case_id=case_id_of(node), status="crashed", suite=self.suite.name,
                                  reason=why, details=attempt.log_tail)
            elif attempt.ended == "hung" and node in attempt.hung:
                reason, stacks = attempt.hung[node]
                outcome = Outcome(node_id=node, case_id=case_id_of(node), status="hung", suite=self.suite.name,
                                  reason=reason, details=stacks, duration=self.suite.test_timeout)
            elif attempt.ended == "timed_out":
                outcome = Outcome(node_id=node, case_id=case_id_of(node), status="interrupted", suite=self.suite.name,
                                  reason=f"the suite's {self.suite.timeout:g}s timeout expired while it ran")
            elif attempt.ended == "interrupted":
                outcome = Outcome(node_id=node, case_id=case_id_of(node), status="interrupted", suite=self.suite.name,
                                  reason=f"the audit was stopped by {processes.stop_requested()} while it ran")
            else:
                continue  # killed with a hung neighbour (xdist): it runs again
            result.outcomes[node] = outcome
            if outcome.status in ("crashed", "hung"):
                blamed = True
                result.notes.append(f"{node} {outcome.status}")
                self.say({"event": outcome.status, "nodeid": node, "reason": outcome.reason})
        return blamed


def _rerun(context: _Context, outcomes: dict[str, Outcome]) -> list[str]:
    """Re-run the failed tests up to ``reruns`` times (each round: those that have not passed yet); mark flaky ones."""
    failing = [node for node, outcome in outcomes.items() if outcome.status in RERUN_STATUSES]
    history: dict[str, list[str]] = {node: [] for node in failing}
    for round_ in range(1, context.suite.reruns + 1):
        if not failing or processes.stop_requested() or time.monotonic() >= context.deadline:
            break
        context.say({"event": "rerun", "count": len(failing), "round": round_})
        again = context.run_pass(failing, f"-rerun{round_}")
        for node in failing:
            outcome = again.outcomes.get(node)
            if outcome is not None and outcome.status not in ("interrupted", "not_run"):
                history[node].append(outcome.status)
        failing = [node for node in failing if "passed" not in history[node]]
    flaky = []
    for node, statuses in history.items():
        if statuses:
            outcomes[node] = dataclasses.replace(outcomes[node], reruns=tuple(statuses), flaky="passed" in statuses)
            if "passed" in statuses:
                flaky.append(node)
    return [f"{len(flaky)} flaky (failed, then passed on a re-run)"] if flaky else []


def _extend(into: list[str], items: Sequence[str]) -> None:
    seen = set(into)
    for item in items:
        if item not in seen:
            seen.add(item)
            into.append(item)


def _death(code: int | None) -> str:
    if code is None:
        return "ended"
    if code < 0:
        try:
            return f"died by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"died by signal {-code}"
    return f"exited with code {code}"


def _status(main: _Pass, outcomes: Any) -> str:
    if main.end != "completed":
        return main.end
    if main.code in (2, 3, 4):
        return "error"
    if any(o.status in _BROKEN for o in outcomes):
        return "failed"
    return _STATUS.get(main.code, "crashed")  # type: ignore[arg-type]


def _message(status: str, suite: SuiteConfig, main: _Pass, notes: Sequence[str]) -> str | None:
    parts = []
    if status == "timed_out":
        parts.append(f"killed after the {suite.timeout:g}s timeout")
    elif status == "interrupted":
        parts.append(f"stopped by {processes.stop_requested() or 'a signal'}")
    elif status in ("error", "crashed"):
        lines = (main.log_tail or "").splitlines()
        tail = next((line for line in reversed(lines) if "Error" in line or "error" in line), lines[-1] if lines else "")
        prefix = f"pytest {_death(main.code)}" if main.code is None or main.code < 0 else f"pytest exit code {main.code}"
        parts.append(f"{prefix}: {tail.strip()[:300]}" if tail.strip() else prefix)
    if main.restarts:
        parts.append(f"pytest started again {main.restarts} time(s) after a crash or hang")
    parts += notes
    return "; ".join(parts) or None


def _read_report(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_stream(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a plugin stream file (a line cut short by a kill is skipped; no file: none)."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:  # the last line may be cut short by a kill
            records.append(json.loads(line))
        except ValueError:
            continue
    return records
