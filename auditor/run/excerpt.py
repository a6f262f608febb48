"""Bounded text for outcomes: why a test failed in one line, and an excerpt of what shows it.

Used inside the pytest process by :mod:`auditor.run.plugin` (imported lazily there) and in the auditor by the
runner, so both cut the same way. Nothing here may grow with the size of a test's output: a test that
floods its output gets the same 2 KB as any other.
"""

from __future__ import annotations

from pathlib import Path

#: An excerpt keeps at most this many lines and characters (its end: where the error is).
MAX_LINES = 20
MAX_CHARS = 2048
#: A reason (one line) is cut at this many characters.
MAX_REASON = 300
#: How much of the end of a log file is read to find its last lines.
TAIL_BYTES = 64 * 1024


def one_line(text: str | None, limit: int = MAX_REASON) -> str | None:
    """The first non-blank line of ``text``, stripped and cut to ``limit`` characters (``None`` if there is none)."""
    for line in (text or "").splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return None


def excerpt(text: str | None, *, lines: int = MAX_LINES, chars: int = MAX_CHARS) -> str | None:
    """The last ``lines`` lines of ``text`` (blank lines at either end dropped), at most ``chars`` characters."""
    kept = (text or "").strip("\n").splitlines()[-lines:]
    body = "\n".join(line.rstrip() for line in kept).strip("\n")
    if len(body) > chars:
        body = "…" + body[-(chars - 1):]
    return body or None


def failure_reason(longrepr_text: str | None, crash_message: str | None = None) -> str | None:
    """The first line of the failing assertion or exception.

    ``crash_message`` is pytest's ``reprcrash.message`` when it has one; else the first ``E   `` line of the
    traceback text, else its last non-blank line. A failed ``assert`` reads ``AssertionError: assert 1 == 2``.
    """
    line = one_line(crash_message)
    if not line:
        text_lines = (longrepr_text or "").splitlines()
        line = next((one_line(text[1:]) for text in text_lines if text.startswith("E   ")), None)
        line = line or one_line("\n".join(reversed(text_lines)))
    # pytest drops the type of a failed (rewritten) ``assert``: say it, as every other exception's line does
    return f"AssertionError: {line}" if line and line.startswith("assert ") else line


def head(text: str | None, *, lines: int = MAX_LINES, chars: int = MAX_CHARS) -> str | None:
    """The first ``lines`` non-blank lines of ``text``, at most ``chars`` characters."""
    kept = [line.rstrip() for line in (text or "").splitlines() if line.strip()][:lines]
    body = "\n".join(kept)
    return (body[: chars - 1] + "…" if len(body) > chars else body) or None


def crash_output(path: str | Path) -> str | None:
    """What a dead pytest process printed last: from Python's fatal-error report (a segfault's stack, test frame
    first) when there is one, else the last lines of the log."""
    text = read_tail(path)
    marker = text.rfind("Fatal Python error")
    return head(text[marker:]) if marker >= 0 else excerpt(text)


def read_tail(path: str | Path) -> str:
    """The last :data:`TAIL_BYTES` of a (possibly huge) text file, from a whole line on ("" when unreadable)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if size > TAIL_BYTES:  # the first line read is probably cut in the middle
        text = text.split("\n", 1)[-1]
    return text
