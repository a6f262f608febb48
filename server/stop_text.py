"""Stop sequences matched on streamed text, holding back only what could still become a match."""

from __future__ import annotations


class StopTextFilter:
    """Finds stop sequences in streamed text, holding back only text that could still start one."""

    def __init__(self, stop_sequences: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stop_sequences if s)
        self.pending = ""

    def feed(self, text: str) -> tuple[str, str | None]:
        """Returns (text safe to emit, matched stop sequence or None). After a match, stop feeding."""
        if not self.stops:
            return text, None
        buffer = self.pending + text
        best: tuple[int, str] | None = None
        for stop in self.stops:
            index = buffer.find(stop)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, stop)
        if best is not None:
            self.pending = ""
            return buffer[: best[0]], best[1]
        hold = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(buffer)), hold, -1):
                if buffer.endswith(stop[:size]):
                    hold = size
                    break
        self.pending = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold], None

    def flush(self) -> str:
        """Text held back that turned out not to be a stop sequence (the generation ended)."""
        text, self.pending = self.pending, ""
        return text
