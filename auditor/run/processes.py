"""Every process the auditor starts, and everything those start, so that nothing outlives the audit.

Each pytest process starts in a session of its own (:func:`start`). While it runs, :func:`watch` notes its
descendants with psutil, so a process that left the group (``setsid``, ``start_new_session=True``) is still
known; :func:`kill_tree` kills the group, every descendant known or found, and their own groups, then reaps.

SIGTERM or SIGINT inside :func:`interruptible` does not raise: it records that a stop was requested and kills
every live tree at once. The run and probe loops see :func:`stop_requested`, record what they reached and
return, so the pipeline can still write a true partial audit. A second signal raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psutil

from auditor.exceptions import RunError

_lock = threading.RLock()
#: pid of each live process we started -> its descendants seen so far (psutil remembers their start times,
#: so a pid reused by a stranger is never killed)
_live: dict[int, dict[int, psutil.Process]] = {}
_stop: list[str] = []


class StopRequested(RunError):
    """A process was to be started after the audit was told to stop."""

    slug = "interrupted"


def stop_requested() -> str | None:
    """The name of the signal that asked the audit to stop (``"SIGTERM"``), or ``None``."""
    return _stop[0] if _stop else None


def request_stop(name: str) -> None:
    """Ask every run and probe loop to stop, and kill every process tree started so far."""
    with _lock:
        if not _stop:
            _stop.append(name)
        pids = list(_live)
    for pid in pids:
        _kill(pid)


def reset() -> None:
    """Forget an earlier stop request (a new audit in the same interpreter)."""
    with _lock:
        _stop.clear()


@contextmanager
def interruptible() -> Iterator[None]:
    """While inside, SIGTERM and SIGINT stop the audit's processes instead of raising (main thread only)."""
    reset()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop_requested():
            raise KeyboardInterrupt  # asked twice: give up on writing anything
        request_stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def start(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: IO[bytes], what: str) -> subprocess.Popen:
    """Start ``command`` in a session of its own, tracked until :func:`kill_tree` (refused after a stop request)."""
    with _lock:
        if _stop:
            raise StopRequested(f"{what}: not started, the audit was stopped by {_stop[0]}")
        try:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise RunError(f"{what}: cannot start pytest ({exc.strerror})") from None
        _live[process.pid] = {}
    return process


def watch(process: subprocess.Popen) -> None:
    """Note the process's current descendants (cheap enough to call a few times a second)."""
    try:
        found = psutil.Process(process.pid).children(recursive=True)
    except (psutil.Error, OSError):
        return
    with _lock:
        known = _live.get(process.pid)
        if known is not None:
            for child in found:
                known.setdefault(child.pid, child)


def exited(process: subprocess.Popen) -> bool:
    """Whether the process has ended, without reaping it where the platform allows (its pid, and so its
    process group id, stay reserved until :func:`kill_tree` has killed the group)."""
    if process.returncode is not None:
        return True
    if hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
        except ChildProcessError:
            pass
    return process.poll() is not None


def kill_tree(process: subprocess.Popen) -> None:
    """Kill the process, its group, and every descendant seen or still found (servers included), then reap it."""
    watch(process)
    _kill(process.pid)
    with _lock:  # forgotten before it is reaped: a stop request never signals a pid that may be reused
        _live.pop(process.pid, None)
    process.wait()


def _kill(pid: int) -> None:
    with _lock:
        known = list(_live.get(pid, {}).values())
    try:
        # Look before the group dies: its children are re-parented the moment it does, and one that left the
        # group since the last watch() (a server started a moment ago, in its own session) is found only now.
        known += psutil.Process(pid).children(recursive=True)
    except (psutil.Error, OSError):
        pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    own_group = os.getpgrp()
    for _ in range(2):  # a descendant may have started another before it was killed
        for child in known:
            try:
                if not child.is_running():
                    continue
                group = os.getpgid(child.pid)
                child.kill()
                if group not in (own_group, pid):
                    os.killpg(group, signal.SIGKILL)
            except (psutil.Error, ProcessLookupError, PermissionError):
                continue
        try:
            known = psutil.Process(pid).children(recursive=True)
        except (psutil.Error, OSError):
            break


def wait_quietly(seconds: float) -> None:
    """Sleep in small steps, returning early once a stop is requested."""
    deadline = time.monotonic() + seconds
    while not _stop and time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
