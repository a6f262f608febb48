"""Run: each suite as its own pytest subprocess, with a timeout that kills the whole process group.

The pytest exit code is kept as data (``SuiteResult.exit_code``), never passed through as ours.
Our plugin streams one JSON line per test to a file as it goes, so a suite that times out or whose
interpreter dies still yields every result it reached.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

from auditor.collect.inventory import Inventory
from auditor.config import AuditConfig, SuiteConfig
from auditor.exceptions import RunError
from auditor.model import SuiteResult, TestCase
from auditor.run.observe import (
    collection_errors,
    merge_outcomes,
    outcomes_from_report,
    outcomes_from_stream,
)

#: pytest exit codes -> suite status (5 = nothing collected).
_STATUS = {0: "completed", 1: "failed", 2: "error", 3: "error", 4: "error", 5: "no_tests"}

#: Called with each stream record ({"event": "collected"|"start"|"finished", ...}) while a suite runs.
EventSink = Callable[[dict[str, Any]], None]

_POLL = 0.2  # seconds between looks at the stream file while a suite runs


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
        suites.append(SuiteConfig(name=category, paths=tuple(outer), category=category, timeout=config.suite_timeout))
    return tuple(suites)


def run_suites(config: AuditConfig, inventory: Inventory, *, progress: bool = False,
               only: Sequence[str] = ()) -> tuple[SuiteResult, ...]:
    """Run every suite (or those named in ``only``) one after the other."""
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
            if suite not in chosen:
                # reported as not run, so its tests get the reason "suite_not_run" rather than vanish
                results.append(SuiteResult(name=suite.name, category=suite.category, paths=suite.paths,
                                           status="not_run", message="not selected"))
                continue
            display.suite_started(suite.name, suite.paths or (suite.markers or "",))
            with tempfile.TemporaryDirectory(prefix="auditor-") as scratch:
                result = run_pytest(suite, root=config.root, json_path=Path(scratch) / "report.json", cases=cases,
                                    on_event=display.event)
            display.suite_finished(result)
            results.append(result)
    return tuple(results)


def pytest_command(suite: SuiteConfig, *, json_path: Path, stream_path: Path, node_ids: Sequence[str] = (),
                   extra_args: Sequence[str] = ()) -> list[str]:
    """The pytest command line for ``suite`` (or just ``node_ids``), with our plugin and report on.

    Only options that cannot change an outcome are added (outcome parity with plain ``pytest``): no warning
    filter, no ``-p no:...``, no ini override, no verbosity; the project's own configuration applies as it is.
    """
    command = [sys.executable, "-m", "pytest", *(node_ids or suite.paths),
               "--json-report", f"--json-report-file={json_path}", "--audit", f"--audit-stream={stream_path}",
               *suite.args, *extra_args]
    if suite.markers and not node_ids:
        command += ["-m", suite.markers]
    return command


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
    """One pytest subprocess over ``suite`` (or just ``node_ids``) in ``root`` (default: the current folder).

    Status: completed / failed / error / no_tests from the exit code; ``timed_out`` when
    ``suite.timeout`` passed (the process group is killed); ``crashed`` when the interpreter died
    (signal or an exit code pytest never uses). Results reached before either are kept.
    """
    json_path = Path(json_path)
    stream_path = json_path.with_name(json_path.stem + ".stream.jsonl")
    for stale in (json_path, stream_path):
        stale.unlink(missing_ok=True)
    command = pytest_command(suite, json_path=json_path, stream_path=stream_path, node_ids=node_ids,
                             extra_args=extra_args)
    environment = {**os.environ, **suite.env, **(env or {})}  # as plain pytest gets it: pyc files shared
    cwd = Path(root) if root is not None else Path.cwd()
    log_path = json_path.with_name(json_path.stem + ".log")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = start_pytest(command, cwd=cwd, env=environment, log=log, what=f"suite {suite.name}")
        try:
            timed_out = _wait(process, suite.timeout, started, stream_path, on_event)
        except BaseException:
            # The suite runs in its own session, so Ctrl-C never reached it: stop it before leaving.
            kill_group(process)
            raise
    duration = time.monotonic() - started
    code = process.returncode
    report = _read_report(json_path)
    records = read_stream(stream_path)
    if timed_out:
        status = "timed_out"
    elif code is not None and code < 0:
        status = "crashed"
    else:
        status = _STATUS.get(code, "crashed")
    if status == "failed" and not report and not any(r.get("event") == "finished" for r in records):
        status = "crashed"  # exit 1 with nothing reported: the interpreter died (os._exit(1), fatal error)
    interrupted = {"timed_out": "timed_out", "crashed": "crashed"}.get(status)
    known = dict(cases or {})
    outcomes = merge_outcomes(outcomes_from_report(report, suite.name, known),
                              outcomes_from_stream(records, suite.name, known, interrupted=interrupted))
    summary = report.get("summary", {})
    collected = int(summary.get("collected", 0)) or max((r.get("count", 0) for r in records
                                                          if r.get("event") == "collected"), default=0)
    return SuiteResult(
        name=suite.name, category=suite.category, paths=tuple(node_ids or suite.paths), status=status, exit_code=code,
        duration=duration, collected=collected, deselected=int(summary.get("deselected", 0)), outcomes=outcomes,
        command=tuple(command), message=_message(status, suite, log_path, code),
        collection_errors=collection_errors(report),
    )


def start_pytest(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: IO[bytes], what: str) -> subprocess.Popen:
    """Start a pytest subprocess in its own session (so :func:`kill_group` reaches every process it starts)."""
    try:
        return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        raise RunError(f"{what}: cannot start pytest ({exc.strerror})") from None


def _wait(process: subprocess.Popen, timeout: float, started: float, stream_path: Path,
          on_event: EventSink | None) -> bool:
    """Wait for ``process``, feeding stream records to ``on_event``; True when it had to be killed."""
    offset = 0
    while True:
        remaining = timeout - (time.monotonic() - started)
        try:
            process.wait(timeout=max(0.0, min(_POLL, remaining)))
            killed = False
        except subprocess.TimeoutExpired:
            if remaining > 0:
                offset = _feed(stream_path, offset, on_event)
                continue
            kill_group(process)
            killed = True
        _feed(stream_path, offset, on_event)
        return killed


def kill_group(process: subprocess.Popen) -> None:
    """Kill the process and everything it started (servers included), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _feed(path: Path, offset: int, on_event: EventSink | None) -> int:
    if on_event is None:
        return offset
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return offset
    complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next look
    for line in complete.splitlines():
        try:
            on_event(json.loads(line))
        except ValueError:
            continue
    return offset + len(complete)


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


def _message(status: str, suite: SuiteConfig, log_path: Path, code: int | None) -> str | None:
    if status == "timed_out":
        return f"killed after the {suite.timeout:g}s timeout"
    if status not in ("error", "crashed"):
        return None
    try:
        lines = [line for line in log_path.read_text("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    tail = next((line for line in reversed(lines) if "Error" in line or "error" in line), lines[-1] if lines else "")
    prefix = f"pytest died by signal {-code}" if code is not None and code < 0 else f"pytest exit code {code}"
    return f"{prefix}: {tail.strip()[:300]}" if tail else prefix
