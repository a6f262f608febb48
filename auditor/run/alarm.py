"""A per-run time limit inside a probe session: a test that hangs under sabotage is stopped, not waited out.

Under a mode that answers without the server, a test that waits for the server to see its request (an event
the server sets) waits forever. The run stage has an outside watchdog that kills pytest and resumes; a probe
session runs every mode of a test inside one pytest process, so the limit is kept inside it, with
``SIGALRM``: the handler raises :class:`ProbeTimeout` in the main thread, which interrupts sleeps, lock and
event waits and event loops alike. A project that uses ``SIGALRM`` itself (pytest-timeout's signal method)
keeps it, and only the session's own outside time limit applies.
"""

from __future__ import annotations

import signal
import threading
from types import TracebackType
from typing import Any

__all__ = ["ProbeTimeout", "RunLimit"]


class ProbeTimeout(BaseException):
    """Raised in the test when one probe run outlives ``test_timeout``; a ``BaseException`` so that a test's
    own ``except Exception`` cannot swallow it and hang again."""


class RunLimit:
    """``with RunLimit(seconds):`` raises :class:`ProbeTimeout` in the main thread after ``seconds``."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._previous: Any = None
        self._armed = False

    def __enter__(self) -> RunLimit:
        if not self.seconds or not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
            return self
        current = signal.getsignal(signal.SIGALRM)
        if current not in (signal.SIG_DFL, signal.SIG_IGN, None):
            return self  # the project's own use of SIGALRM wins
        self._previous = signal.signal(signal.SIGALRM, self._expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        self._armed = True
        return self

    def _expired(self, signum: int, frame: Any) -> None:
        raise ProbeTimeout(f"still running after test_timeout ({self.seconds:g} s) under sabotage")

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._armed = False
