"""Progress while suites run: a live line (suite, done/total, current test, elapsed) or plain lines.

Plain lines go to stderr when it is not a terminal (CI logs), so stdout stays the report. Every plain line,
from any thread (probe sessions run side by side), is one write of the whole line under one lock
(:func:`write_line`): lines never run into each other.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, Self, TextIO

from auditor.model import SuiteResult

_WRITE_LOCK = threading.Lock()


def write_line(line: str, stream: TextIO | None = None) -> None:
    """Write ``line`` and its newline in one call, under a lock shared by every thread, and flush."""
    target = stream if stream is not None else sys.stderr
    text = line.rstrip("\n") + "\n"
    with _WRITE_LOCK:
        target.write(text)
        target.flush()


class Progress:
    """Context manager fed by the runner; does nothing when disabled."""

    def __init__(self, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.live = enabled and self.stream.isatty()
        self._live: Any = None
        self._suite = ""
        self._total = 0
        self._done = 0
        self._current = ""
        self._started = time.monotonic()

    def __enter__(self) -> Self:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            # get_renderable: the elapsed time moves on between events too
            self._live = Live(get_renderable=self._render, console=Console(file=self.stream), refresh_per_second=4,
                              transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def suite_started(self, name: str, paths: Sequence[str]) -> None:
        """A suite's pytest process is about to start."""
        self._suite, self._total, self._done, self._current = name, 0, 0, ""
        self._started = time.monotonic()
        if self.enabled and not self.live:
            write_line(f"auditor: suite {name}: running {' '.join(paths)}", self.stream)
        self._refresh()

    def event(self, record: dict[str, Any]) -> None:
        """One line of the plugin's stream."""
        kind = record.get("event")
        if kind == "collected":
            self._total = max(self._total, int(record.get("count", 0)) + self._done)
        elif kind == "start":
            self._current = str(record.get("nodeid", ""))
        elif kind == "finished":
            self._done += 1
        elif kind in ("crashed", "hung"):
            self._done += 1
            self._say(f"auditor: suite {self._suite}: {record.get('nodeid')} {kind}: {record.get('reason')}")
        elif kind == "resume":
            self._say(f"auditor: suite {self._suite}: pytest starts again on the {record.get('count')} test(s) not run yet")
        elif kind == "rerun":
            self._done, self._total = 0, int(record.get("count", 0))
            self._say(f"auditor: suite {self._suite}: re-running {record.get('count')} failed test(s) "
                      f"(round {record.get('round')})")
        self._refresh()

    def suite_finished(self, result: SuiteResult) -> None:
        """A suite ended (however it ended)."""
        if not self.enabled:
            return
        self._say(f"auditor: suite {result.name}: {result.status} in {result.duration:.1f}s, "
                  f"{len(result.outcomes)} result(s)" + (f" ({result.message})" if result.message else ""))

    def _say(self, line: str) -> None:
        if not self.enabled:
            return
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False)
        else:
            write_line(line, self.stream)

    def _render(self) -> Any:
        from rich.text import Text

        total = f"/{self._total}" if self._total else ""
        elapsed = time.monotonic() - self._started
        return Text(f"{self._suite}  {self._done}{total}  {elapsed:5.1f}s  {self._current}", no_wrap=True,
                    overflow="ellipsis")

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()
