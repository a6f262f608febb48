"""Progress while suites run: a live line (suite, done/total, current test, elapsed) or plain lines.

Plain lines go to stderr when it is not a terminal (CI logs), so stdout stays the report.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, Self, TextIO

from auditor.model import SuiteResult


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
            print(f"auditor: suite {name}: running {' '.join(paths)}", file=self.stream, flush=True)
        self._refresh()

    def event(self, record: dict[str, Any]) -> None:
        """One line of the plugin's stream."""
        kind = record.get("event")
        if kind == "collected":
            self._total = max(self._total, int(record.get("count", 0)))
        elif kind == "start":
            self._current = str(record.get("nodeid", ""))
        elif kind == "finished":
            self._done += 1
        self._refresh()

    def suite_finished(self, result: SuiteResult) -> None:
        """A suite ended (however it ended)."""
        if not self.enabled:
            return
        line = (f"auditor: suite {result.name}: {result.status} in {result.duration:.1f}s, "
                f"{len(result.outcomes)} result(s)" + (f" ({result.message})" if result.message else ""))
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)

    def _render(self) -> Any:
        from rich.text import Text

        total = f"/{self._total}" if self._total else ""
        elapsed = time.monotonic() - self._started
        return Text(f"{self._suite}  {self._done}{total}  {elapsed:5.1f}s  {self._current}", no_wrap=True,
                    overflow="ellipsis")

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()
