"""One pytest process of a suite, watched from outside: its stream, a per-test watchdog, the suite's deadline.

The plugin streams ``start`` and ``finished`` per test. A test that started and has not finished after
``test_timeout`` seconds is *hung*: the watchdog asks its process for a stack dump (``SIGUSR1``, which the
plugin routes to :mod:`faulthandler`), waits briefly for it, and kills the process tree. Tests that started
and never finished when the process ended on its own were running when it *crashed*. Nothing is injected into
the test process beyond what the plugin already does.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from auditor.run import processes
from auditor.run.excerpt import crash_output, head

#: Called with each stream record ({"event": "collected"|"start"|"finished"|..., ...}) while a suite runs.
EventSink = Callable[[dict[str, Any]], None]

POLL = 0.05  # seconds between looks at the process and its stream
WATCH_EVERY = 0.5  # seconds between looks at the process's descendants
DUMP_WAIT = 3.0  # seconds a hung process gets to write its stacks


@dataclass
class Attempt:
    """What one pytest process produced, and how it ended."""

    #: "exited" (on its own), "hung" (killed by the watchdog), "timed_out" (the suite's deadline), "interrupted"
    ended: str
    code: int | None
    records: list[dict[str, Any]]
    #: started and never finished, in start order (the hung ones included)
    in_flight: list[str]
    #: node id -> (reason, stack excerpt) of the tests the watchdog killed
    hung: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    #: node id -> pid of the tests whose process died while the suite's pytest went on (an xdist worker)
    lost: dict[str, int] = field(default_factory=dict)
    log_tail: str | None = None
    duration: float = 0.0


def run_attempt(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], stream_path: Path, log_path: Path,
                test_timeout: float | None, deadline: float, on_event: EventSink | None, what: str) -> Attempt:
    """Run ``command`` (a pytest with ``--audit-stream=stream_path``) until it ends, hangs, runs out of time or is stopped."""
    started = time.monotonic()
    reader = _StreamReader(stream_path)
    running: dict[str, tuple[int, float]] = {}  # node id -> (pid, when we saw it start)
    hung: dict[str, tuple[str, str | None]] = {}
    lost: dict[str, int] = {}
    ended = "exited"
    with open(log_path, "wb") as log:
        try:
            process = processes.start(command, cwd=cwd, env=env, log=log, what=what)
        except processes.StopRequested:
            return Attempt(ended="interrupted", code=None, records=[], in_flight=[])
        try:
            watched = 0.0
            while True:
                done = processes.exited(process)
                for record in reader.read():
                    _track(record, running)
                    if on_event is not None:
                        on_event(record)
                if done:
                    if processes.stop_requested():  # killed by the stop request, not by its test
                        ended = "interrupted"
                    break
                now = time.monotonic()
                if processes.stop_requested():
                    ended = "interrupted"
                    break
                if now >= deadline:
                    ended = "timed_out"
                    break
                late = [node for node, (pid, since) in running.items()
                        if test_timeout is not None and now - since > test_timeout]
                if late or now - watched >= WATCH_EVERY:
                    # a test whose own process is gone did not hang: its worker died (pytest-xdist replaces it)
                    for node in [n for n, (pid, _) in running.items() if pid != process.pid and not _alive(pid)]:
                        lost[node] = running.pop(node)[0]
                    late = [node for node in late if node in running]
                if late:
                    hung = {node: _dump(node, running[node][0], stream_path, test_timeout or 0.0) for node in late}
                    ended = "hung"
                    break
                if now - watched >= WATCH_EVERY:
                    processes.watch(process)
                    watched = now
                time.sleep(POLL)
        finally:
            processes.kill_tree(process)  # leftovers too: a server a test forgot, a child that left the group
    records = reader.records
    for record in reader.read():  # what it wrote while we were deciding
        _track(record, running)
        if on_event is not None:
            on_event(record)
    return Attempt(ended=ended, code=process.returncode, records=records, in_flight=list(running), hung=hung,
                   lost=lost, log_tail=crash_output(log_path), duration=time.monotonic() - started)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError):
        return False


def _track(record: dict[str, Any], running: dict[str, tuple[int, float]]) -> None:
    node = record.get("nodeid")
    if not isinstance(node, str):
        return
    if record.get("event") == "start":
        running[node] = (int(record.get("pid") or 0), time.monotonic())
    elif record.get("event") == "finished":
        running.pop(node, None)


def _dump(node_id: str, pid: int, stream_path: Path, timeout: float) -> tuple[str, str | None]:
    """(reason, stack excerpt) of a hung test: SIGUSR1 to its process, then read what faulthandler wrote."""
    reason = f"no result after the {timeout:g}s test_timeout: killed"
    stacks = Path(f"{stream_path}.{pid}.stacks")
    if not pid or not hasattr(signal, "SIGUSR1"):
        return reason, None
    try:
        os.kill(pid, signal.SIGUSR1)
    except (ProcessLookupError, PermissionError):
        return reason, None
    size, stable_since, deadline = -1, time.monotonic(), time.monotonic() + DUMP_WAIT
    while time.monotonic() < deadline:  # written once the size stops changing
        current = stacks.stat().st_size if stacks.exists() else 0
        if current != size:
            size, stable_since = current, time.monotonic()
        elif current and time.monotonic() - stable_since > 0.2:
            break
        time.sleep(0.05)
    try:
        dump = stacks.read_text("utf-8", "replace")
    except OSError:
        return reason, None
    block = _test_thread(dump, node_id.split("::", 1)[0])
    where = _innermost(block, node_id.split("::", 1)[0])
    return (f"{reason} (at {where})" if where else reason), head(block)


def _test_thread(dump: str, test_file: str) -> str:
    """The thread of a faulthandler dump that runs the test (the one in the test file), else the first."""
    blocks, current = [], []
    for line in dump.splitlines():
        if (line.startswith(("Thread 0x", "Current thread 0x"))) and current:
            blocks.append("\n".join(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return next((b for b in blocks if test_file in b), blocks[0] if blocks else "")


def _innermost(block: str, test_file: str) -> str | None:
    """``path:line in function`` of the innermost frame in the test file (faulthandler lists innermost first)."""
    for line in block.splitlines():
        text = line.strip()
        if text.startswith("File ") and test_file in text:
            # File "/abs/tests/test_x.py", line 12 in test_hangs
            try:
                path, rest = text[len('File "'):].split('", line ', 1)
                number, function = rest.split(" in ", 1)
            except ValueError:
                return None
            short = path[path.rfind(test_file):] if test_file in path else path
            return f"{short}:{number} in {function}"
    return None


class _StreamReader:
    """Reads the complete lines a live process appends to its stream file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.records: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next look
        self.offset += len(complete)
        new = []
        for line in complete.splitlines():
            try:
                new.append(json.loads(line))
            except ValueError:
                continue
        self.records.extend(new)
        return new
