"""What a test did while it ran: HTTP through httpx/requests, sockets, processes, files, mocks, assertions.

Used only by the pytest plugin under ``--audit``. Patches are installed once per session; the audit
hook (which cannot be removed) is a no-op whenever no test is being recorded.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from typing import Any

from auditor.model import HttpExchange, Observation, WarningRecord
from auditor.serialize import to_dict


def host_class(host: str) -> str:
    """loopback | private | external for a host name or address."""
    if host in ("localhost", "testserver") or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "external"
    if address.is_loopback:
        return "loopback"
    if address.is_private or address.is_link_local:
        return "private"
    return "external"


class Recorder:
    """Per-test recording, thread-safe: work done by any thread during a test belongs to that test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = False
        self._patches: list[tuple[Any, str, Any]] = []
        self._reset("")

    def _reset(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.http: list[HttpExchange] = []
        self.processes: list[str] = []
        self.sockets_loopback = 0
        self.sockets_other = 0
        self.files_written = 0
        self.mocks: list[str] = []
        self.assertions = 0
        self.raises_blocks = 0
        self.warnings: list[WarningRecord] = []
        self.durations: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self, nodeid: str) -> None:
        with self._lock:
            self._reset(nodeid)
            self._active = True

    def stop(self) -> None:
        with self._lock:
            self._active = False

    def phase(self, when: str, duration: float) -> None:
        self.durations[when] = duration

    def assertion(self) -> None:
        with self._lock:
            self.assertions += 1

    def warning(self, nodeid: str, message: Any) -> None:
        if nodeid and nodeid != self.nodeid:
            return
        self.warnings.append(WarningRecord(category=message.category.__name__, message=str(message.message)[:300],
                                           path=str(message.filename), line=int(message.lineno or 0)))

    def observation_dict(self) -> dict[str, Any]:
        with self._lock:
            observation = Observation(
                http=tuple(self.http), processes=tuple(self.processes), sockets_loopback=self.sockets_loopback,
                sockets_other=self.sockets_other, files_written=self.files_written, mocks=tuple(self.mocks),
                assertions=self.assertions, raises_blocks=self.raises_blocks, warnings=tuple(self.warnings),
                setup_duration=self.durations.get("setup", 0.0), call_duration=self.durations.get("call", 0.0),
                teardown_duration=self.durations.get("teardown", 0.0),
            )
        return to_dict(observation)

    # ------------------------------------------------------------------ patches
    def install(self) -> None:
        sys.addaudithook(self._audit_event)
        self._patch_httpx()
        self._patch_requests()
        self._patch_mocks()

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()
        self._active = False

    def _replace(self, owner: Any, name: str, wrapper: Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrapper)

    def _record(self, exchange: HttpExchange) -> None:
        with self._lock:
            if self._active:
                self.http.append(exchange)

    def _patch_httpx(self) -> None:
        try:
            import httpx
        except ImportError:
            return
        recorder = self

        def sync_wrapper(original, in_process: bool):
            def handle_request(transport, request):
                started = time.perf_counter()
                status = None
                try:
                    response = original(transport, request)
                    status = response.status_code
                    return response
                finally:
                    recorder._record(_exchange(request.method, request.url.host, request.url.path, status,
                                               time.perf_counter() - started, request, in_process, "httpx"))
            return handle_request

        def async_wrapper(original, in_process: bool):
            async def handle_async_request(transport, request):
                started = time.perf_counter()
                status = None
                try:
                    response = await original(transport, request)
                    status = response.status_code
                    return response
                finally:
                    recorder._record(_exchange(request.method, request.url.host, request.url.path, status,
                                               time.perf_counter() - started, request, in_process, "httpx"))
            return handle_async_request

        self._replace(httpx.HTTPTransport, "handle_request", sync_wrapper(httpx.HTTPTransport.handle_request, False))
        self._replace(httpx.AsyncHTTPTransport, "handle_async_request",
                      async_wrapper(httpx.AsyncHTTPTransport.handle_async_request, False))
        self._replace(httpx.ASGITransport, "handle_async_request",
                      async_wrapper(httpx.ASGITransport.handle_async_request, True))
        self._replace(httpx.WSGITransport, "handle_request", sync_wrapper(httpx.WSGITransport.handle_request, True))
        try:  # starlette's TestClient brings its own in-process transport
            from starlette.testclient import _TestClientTransport
        except ImportError:
            return
        self._replace(_TestClientTransport, "handle_request", sync_wrapper(_TestClientTransport.handle_request, True))

    def _patch_requests(self) -> None:
        try:
            from requests.adapters import HTTPAdapter
        except ImportError:
            return
        recorder = self
        original = HTTPAdapter.send

        def send(adapter, request, *args, **kwargs):
            from urllib.parse import urlsplit

            started = time.perf_counter()
            status = None
            try:
                response = original(adapter, request, *args, **kwargs)
                status = response.status_code
                return response
            finally:
                parts = urlsplit(request.url)
                recorder._record(HttpExchange(method=request.method, host_class=host_class(parts.hostname or ""),
                                              host=parts.hostname or "", path=parts.path, status=status,
                                              duration=time.perf_counter() - started, bytes=0, client="requests"))

        self._replace(HTTPAdapter, "send", send)

    def _patch_mocks(self) -> None:
        import unittest.mock

        import pytest

        recorder = self
        patch_class = unittest.mock._patch
        original_enter = patch_class.__enter__

        def enter(patch, *args, **kwargs):
            with recorder._lock:
                if recorder._active:
                    target = getattr(patch, "attribute", "?")
                    owner = getattr(getattr(patch, "getter", None), "__name__", "")
                    recorder.mocks.append(f"mock.patch {owner}.{target}".replace(" .", " "))
            return original_enter(patch, *args, **kwargs)

        self._replace(patch_class, "__enter__", enter)
        monkeypatch_class = pytest.MonkeyPatch
        original_setattr = monkeypatch_class.setattr

        def setattr_(mp, target, *args, **kwargs):
            with recorder._lock:
                if recorder._active:
                    recorder.mocks.append(f"monkeypatch.setattr {target if isinstance(target, str) else type(target).__name__}")
            return original_setattr(mp, target, *args, **kwargs)

        self._replace(monkeypatch_class, "setattr", setattr_)
        original_raises = pytest.raises

        def raises(*args, **kwargs):
            with recorder._lock:
                recorder.raises_blocks += 1
            return original_raises(*args, **kwargs)

        self._replace(pytest, "raises", raises)

    def _audit_event(self, event: str, args: tuple) -> None:
        if not self._active:
            return
        if event == "socket.connect":
            address = args[1]
            host = address[0] if isinstance(address, tuple) and address else ""
            if isinstance(host, str) and host:
                if host_class(host) == "loopback":
                    self.sockets_loopback += 1
                else:
                    self.sockets_other += 1
        elif event == "subprocess.Popen":
            self.processes.append(str(args[0]))
        elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
            self.files_written += 1


def _exchange(method: str, host: str, path: str, status: int | None, duration: float, request: Any,
              in_process: bool, client: str) -> HttpExchange:
    length = request.headers.get("content-length") if hasattr(request, "headers") else None
    return HttpExchange(method=method, host_class="in-process" if in_process else host_class(host), host=host,
                        path=path, status=status, duration=duration, bytes=int(length) if length and length.isdigit() else 0,
                        client=client)
