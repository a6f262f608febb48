"""HTTP interception: record every exchange httpx or requests makes, and (for probes) sabotage responses.

``install()`` patches the transports once per process; the patches cost one lock and one check per
request while nothing is recording. ``start_recording()`` / ``stop_recording()`` bracket a test: any
thread's exchanges in between are returned. Streaming responses are never consumed here: their
stream is wrapped so the bytes and duration are measured when the test closes it.

Sabotage hook: ``set_sabotage(mode)`` makes every intercepted response pass through
``mode.apply(request, response)`` (httpx) or ``mode.apply_requests(request, response)`` (requests),
which return the response the test will see. ``set_sabotage(None)`` (the default) is a no-op.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from auditor.model import HttpExchange

__all__ = [
    "get_sabotage",
    "host_class",
    "install",
    "installed",
    "is_recording",
    "set_sabotage",
    "snapshot",
    "start_recording",
    "stop_recording",
    "uninstall",
]

_lock = threading.RLock()
_patches: list[tuple[Any, str, Any]] = []
_recording: list[_Pending] | None = None
_sabotage: Any = None


def host_class(host: str) -> str:
    """``loopback`` | ``private`` | ``external`` for a host name or address (no DNS lookup)."""
    host = host.strip("[]").lower()
    if host in ("localhost", "testserver") or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "external"
    if address.is_loopback or address.is_unspecified:
        return "loopback"
    if address.is_private or address.is_link_local:
        return "private"
    return "external"


@dataclass
class _Pending:
    """An exchange still in flight: its stream may be read after the transport returned."""

    method: str
    host_class: str
    host: str
    path: str
    client: str
    started: float
    status: int | None = None
    bytes: int = 0
    finished: float | None = None

    def freeze(self) -> HttpExchange:
        end = self.finished if self.finished is not None else time.perf_counter()
        return HttpExchange(method=self.method, host_class=self.host_class, host=self.host, path=self.path,
                            status=self.status, duration=end - self.started, bytes=self.bytes, client=self.client)


def installed() -> bool:
    """Whether the transports are currently patched."""
    return bool(_patches)


def is_recording() -> bool:
    """Whether exchanges are being recorded right now."""
    return _recording is not None


def start_recording() -> None:
    """Start a fresh recording (an unfinished one is discarded)."""
    global _recording
    with _lock:
        _recording = []


def stop_recording() -> tuple[HttpExchange, ...]:
    """Stop recording and return the exchanges made since ``start_recording``, from any thread."""
    global _recording
    with _lock:
        pending, _recording = _recording or [], None
    return tuple(item.freeze() for item in pending)


def snapshot() -> tuple[HttpExchange, ...]:
    """The exchanges recorded so far, without stopping (streams still open are measured up to now)."""
    with _lock:
        pending = list(_recording or ())
    return tuple(item.freeze() for item in pending)


def set_sabotage(mode: Any | None) -> None:
    """Route every response through ``mode`` (see the module docstring); ``None`` turns sabotage off."""
    global _sabotage
    with _lock:
        _sabotage = mode


def get_sabotage() -> Any | None:
    """The sabotage mode in force, or ``None``."""
    return _sabotage


def _begin(method: str, host: str, path: str, client: str, in_process: bool) -> _Pending | None:
    if _recording is None:  # cheap unlocked check: the common case is "not recording"
        return None
    pending = _Pending(method=method, host_class="in-process" if in_process else host_class(host), host=host,
                       path=path, client=client, started=time.perf_counter())
    with _lock:
        if _recording is None:
            return None
        _recording.append(pending)
    return pending


# ---------------------------------------------------------------------------------------------- httpx
def _httpx_classes() -> tuple[Any, Any] | None:
    try:
        import httpx
    except ImportError:
        return None

    class CountingStream(httpx.SyncByteStream):
        """Counts the bytes a sync response stream yields; finishes the exchange on close."""

        def __init__(self, inner: Any, pending: _Pending) -> None:
            self._inner, self._pending = inner, pending

        def __iter__(self):
            for chunk in self._inner:
                self._pending.bytes += len(chunk)
                yield chunk

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                if self._pending.finished is None:
                    self._pending.finished = time.perf_counter()

    class AsyncCountingStream(httpx.AsyncByteStream):
        """Counts the bytes an async response stream yields; finishes the exchange on close."""

        def __init__(self, inner: Any, pending: _Pending) -> None:
            self._inner, self._pending = inner, pending

        async def __aiter__(self):
            async for chunk in self._inner:
                self._pending.bytes += len(chunk)
                yield chunk

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                if self._pending.finished is None:
                    self._pending.finished = time.perf_counter()

    return CountingStream, AsyncCountingStream


def _httpx_sync(original: Any, in_process: bool, counting: Any) -> Any:
    def handle_request(transport: Any, request: Any) -> Any:
        pending = _begin(request.method, request.url.host, request.url.path, "httpx", in_process)
        mode = _sabotage
        try:
            response = original(transport, request)
        except BaseException:
            if pending is not None:
                pending.finished = time.perf_counter()
            raise
        if mode is not None:
            response = mode.apply(request, response)
        if pending is not None:
            pending.status = response.status_code
            response.stream = counting(response.stream, pending)
        return response

    handle_request.__auditor_original__ = original  # type: ignore[attr-defined]
    return handle_request


def _httpx_async(original: Any, in_process: bool, counting: Any) -> Any:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        pending = _begin(request.method, request.url.host, request.url.path, "httpx", in_process)
        mode = _sabotage
        try:
            response = await original(transport, request)
        except BaseException:
            if pending is not None:
                pending.finished = time.perf_counter()
            raise
        if mode is not None:
            response = mode.apply(request, response)
        if pending is not None:
            pending.status = response.status_code
            response.stream = counting(response.stream, pending)
        return response

    handle_async_request.__auditor_original__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _patch_httpx() -> None:
    classes = _httpx_classes()
    if classes is None:
        return
    import httpx

    counting, async_counting = classes
    targets = [
        (httpx.HTTPTransport, "handle_request", False, False),
        (httpx.AsyncHTTPTransport, "handle_async_request", False, True),
        (httpx.WSGITransport, "handle_request", True, False),
        (httpx.ASGITransport, "handle_async_request", True, True),
    ]
    try:  # starlette's TestClient brings its own in-process transport
        from starlette.testclient import _TestClientTransport

        targets.append((_TestClientTransport, "handle_request", True, False))
    except ImportError:
        pass
    for owner, name, in_process, is_async in targets:
        original = owner.__dict__[name]
        wrapper = (_httpx_async(original, in_process, async_counting) if is_async
                   else _httpx_sync(original, in_process, counting))
        _patches.append((owner, name, original))
        setattr(owner, name, wrapper)


# ---------------------------------------------------------------------------------------------- requests
def _patch_requests() -> None:
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:
        return
    original = HTTPAdapter.__dict__["send"]

    def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        pending = _begin(request.method or "GET", parts.hostname or "", parts.path or "/", "requests", False)
        mode = _sabotage
        try:
            response = original(adapter, request, *args, **kwargs)
        finally:
            if pending is not None:
                pending.finished = time.perf_counter()
        if mode is not None:
            response = mode.apply_requests(request, response)
        if pending is not None:
            pending.status = response.status_code
            length = response.headers.get("content-length", "")
            # requests reads the body after the adapter returns; the declared length is what we can know here
            pending.bytes = int(length) if length.isdigit() else 0
        return response

    send.__auditor_original__ = original  # type: ignore[attr-defined]
    _patches.append((HTTPAdapter, "send", original))
    HTTPAdapter.send = send


def install() -> None:
    """Patch httpx (network and in-process transports) and requests; calling it twice changes nothing."""
    with _lock:
        if _patches:
            return
        _patch_httpx()
        _patch_requests()


def uninstall() -> None:
    """Restore every patched method and stop recording and sabotage."""
    global _recording, _sabotage
    with _lock:
        for owner, name, original in reversed(_patches):
            setattr(owner, name, original)
        _patches.clear()
        _recording = None
        _sabotage = None
