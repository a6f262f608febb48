"""What a test did while it ran: HTTP (via :mod:`auditor.run.intercept`), sockets, processes, files, mocks, assertions.

Used only by the pytest plugin under ``--audit``. Patches are installed once per session; the audit
hook (which Python cannot remove) returns at once whenever no test is being recorded.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from auditor.model import Observation, WarningRecord
from auditor.run import intercept, reads
from auditor.run.intercept import host_class

__all__ = ["Recorder", "host_class"]

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class Recorder:
    """Per-test recording, thread-safe: work done by any thread during a test belongs to that test."""

    def __init__(self, *, count_assertions: bool = True) -> None:
        self._lock = threading.Lock()
        self._active = False
        self._patches: list[tuple[Any, str, Any]] = []
        self._hooked = False
        #: False when nothing counts checks (no pass hook, no sys.monitoring): "not counted" (-1).
        self.count_assertions = count_assertions
        #: Only pytest's pass hook counts, which sees ``assert`` statements alone (sys.monitoring turns this off).
        self.asserts_only = count_assertions
        self._reset("")

    def _reset(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.processes: list[str] = []
        self.sockets_loopback = 0
        self.sockets_other = 0
        self.files_written = 0
        self.mocks: list[str] = []
        self.assertions = 0
        self.raises_blocks = 0
        #: The test's own code holds checks the pass hook cannot see (set per test by :mod:`auditor.run.quiet`).
        self.hidden_checks = False
        self.warnings: list[WarningRecord] = []
        self.durations: dict[str, float] = {}
        self.http: tuple = ()

    # ------------------------------------------------------------------ lifecycle
    def start(self, nodeid: str) -> None:
        """Forget the previous test and start recording ``nodeid``."""
        with self._lock:
            self._reset(nodeid)
            self._active = True
        intercept.start_recording()

    def stop(self) -> None:
        """Stop recording; the observation stays readable until the next ``start``."""
        with self._lock:
            self._active = False
        self.http = intercept.stop_recording()

    def phase(self, when: str, duration: float) -> None:
        """Remember how long a phase (setup, call, teardown) took."""
        self.durations[when] = duration

    def assertion(self) -> None:
        """Count one check reached."""
        with self._lock:
            self.assertions += 1

    def assertion_passed(self) -> None:
        """pytest's pass hook saw an ``assert`` pass: counted unless sys.monitoring already counts every check."""
        if self.asserts_only:
            self.assertion()

    def _assertions(self) -> int:
        if not self.count_assertions:
            return -1
        # Zero asserts seen by the pass hook says nothing about a `mock.assert_called_once()` or `if bad: fail()`.
        return -1 if self.asserts_only and self.hidden_checks and self.assertions == 0 else self.assertions

    def mock(self, description: str) -> None:
        """Note a mock put in force while the test runs."""
        with self._lock:
            if self._active:
                self.mocks.append(description)

    def warning(self, nodeid: str, message: Any) -> None:
        """Keep a warning raised by this test."""
        if nodeid and nodeid != self.nodeid:
            return
        record = WarningRecord(category=message.category.__name__, message=str(message.message)[:300],
                               path=str(message.filename), line=int(message.lineno or 0))
        with self._lock:
            # A ResourceWarning the project's filters show is reported by pytest and by the quiet spy: keep one.
            if not any((w.category, w.message) == (record.category, record.message) for w in self.warnings):
                self.warnings.append(record)

    def observation(self) -> Observation:
        """Everything seen so far for the current test (HTTP included once the test has stopped)."""
        http = intercept.snapshot() if self._active else self.http
        with self._lock:
            mocks = list(self.mocks)
            if any(x.host_class == "in-process" for x in http):
                mocks.append("in-process transport")
            return Observation(
                http=tuple(http), processes=tuple(self.processes), sockets_loopback=self.sockets_loopback,
                sockets_other=self.sockets_other, files_written=self.files_written, mocks=tuple(dict.fromkeys(mocks)),
                assertions=self._assertions(), raises_blocks=self.raises_blocks,
                warnings=tuple(self.warnings), setup_duration=self.durations.get("setup", 0.0),
                call_duration=self.durations.get("call", 0.0), teardown_duration=self.durations.get("teardown", 0.0),
                reads_tracked=True,
            )

    # ------------------------------------------------------------------ patches
    def install(self, root: str | None = None) -> None:
        """Patch HTTP clients, mock entry points and pytest.raises; add the audit hook once. ``root``: the
        project's folder, whose code alone counts as reading the requests it sent."""
        intercept.install()
        if root:
            reads.set_project_root(root)
        if not self._hooked:
            sys.addaudithook(self._audit_event)
            self._hooked = True
        self._patch_mocks()

    def uninstall(self) -> None:
        """Undo every patch (the audit hook stays, inert)."""
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()
        self._active = False
        intercept.uninstall()

    def _wrap(self, owner: Any, name: str, describe: Any) -> None:
        original = getattr(owner, name)
        recorder = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if recorder._active:
                try:
                    recorder.mock(describe(*args, **kwargs))
                except Exception:  # noqa: BLE001 - describing a mock must never break the test
                    recorder.mock(f"{getattr(owner, '__name__', owner)}.{name}")
            return original(*args, **kwargs)

        self._patches.append((owner, name, original))
        setattr(owner, name, wrapper)

    def _patch_mocks(self) -> None:
        import unittest.mock

        import pytest

        # _patch.start() calls __enter__, and @patch decorators enter it too: one wrapper sees all three.
        self._wrap(unittest.mock._patch, "__enter__", _describe_patch)
        self._wrap(unittest.mock._patch_dict, "_patch_dict", lambda p: f"mock.patch.dict {_name(p.in_dict)}")
        self._wrap(pytest.MonkeyPatch, "setattr", _describe_setattr)
        self._wrap(pytest.MonkeyPatch, "delattr", lambda mp, target, *a, **k: f"monkeypatch.delattr {_name(target)}")
        try:
            import respx

            self._wrap(respx.MockRouter, "start", lambda router: "respx mock router")
        except ImportError:
            pass
        try:
            import responses

            self._wrap(responses.RequestsMock, "start", lambda mock: "responses mock")
        except ImportError:
            pass
        original_raises = pytest.raises
        recorder = self

        def raises(*args: Any, **kwargs: Any) -> Any:
            if recorder._active:
                with recorder._lock:
                    recorder.raises_blocks += 1
            return original_raises(*args, **kwargs)

        raises.__doc__ = original_raises.__doc__
        self._patches.append((pytest, "raises", original_raises))
        pytest.raises = raises

    def _audit_event(self, event: str, args: tuple) -> None:
        if not self._active:
            return
        if event == "socket.connect":
            address = args[1]
            host = address[0] if isinstance(address, tuple) and address else None
            with self._lock:
                if isinstance(host, str) and host_class(host) != "loopback":
                    self.sockets_other += 1
                else:  # AF_UNIX paths are local too
                    self.sockets_loopback += 1
        elif event == "subprocess.Popen":
            command = args[1] if len(args) > 1 else args[0]
            text = " ".join(map(str, command)) if isinstance(command, (list, tuple)) else str(command)
            with self._lock:
                self.processes.append(text[:200])
        elif event in ("os.system", "os.posix_spawn"):
            with self._lock:
                self.processes.append(str(args[0])[:200])
        elif event == "open" and len(args) > 2:
            mode, flags = args[1], args[2]
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writes:
                with self._lock:
                    self.files_written += 1


def _name(target: Any) -> str:
    if isinstance(target, str):
        return target
    return getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(target).__name__


def _describe_patch(patch: Any, *args: Any, **kwargs: Any) -> str:
    getter = getattr(patch, "getter", None)
    owner = getattr(getter, "args", None)  # functools.partial(resolve_name, "pkg.mod") for mock.patch("pkg.mod.x")
    owner = owner[0] if owner else _name(getter()) if callable(getter) else "?"
    return f"mock.patch {owner}.{getattr(patch, 'attribute', '?')}"


def _describe_setattr(mp: Any, target: Any, name: Any = None, *args: Any, **kwargs: Any) -> str:
    if isinstance(target, str):
        return f"monkeypatch.setattr {target}"
    return f"monkeypatch.setattr {_name(target)}.{name}"
