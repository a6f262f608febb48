"""HTTP interception: record every exchange httpx or requests makes, and (for probes) sabotage responses.

``install()`` patches the transports once per process; the patches cost one lock and one check per
request while nothing is recording. ``start_recording()`` / ``stop_recording()`` bracket a test: any
thread's exchanges in between are returned. Streaming responses are never consumed here: their
stream is wrapped so the bytes and duration are measured when the test closes it.

Clients: httpx, httpx2 (the fork the anthropic and openai SDKs use) and requests; for httpx and httpx2 the
network transports, the WSGI/ASGI transports and starlette's TestClient (recorded as ``in-process``).

Sabotage: ``set_sabotage(mode)`` routes every request through a :class:`auditor.run.sabotage.SabotageMode`
(which may answer without the server, rewrite the reply or its event stream, or delay it) until
``set_sabotage(None)``; ``sabotaged()`` counts the requests it actually changed since it was set. A request
carrying the :data:`~auditor.run.sabotage.SPARE_HEADER` header (a harness's readiness poll) is never sabotaged.
"""

from __future__ import annotations

import importlib
import ipaddress
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from auditor.model import HttpExchange
from auditor.run import reads
from auditor.run.sabotage import SPARE_HEADER
from auditor.run.sabotage_http import asabotage_httpx, sabotage_httpx, sabotage_requests
from auditor.run.touched import subjects_touched as touched_subjects

__all__ = [
    "get_sabotage",
    "host_class",
    "install",
    "installed",
    "is_recording",
    "sabotaged",
    "set_sabotage",
    "set_expected",
    "snapshot",
    "start_recording",
    "stop_recording",
    "touched",
    "uninstall",
]

_lock = threading.RLock()
_patches: list[tuple[Any, str, Any]] = []
_recording: list[_Pending] | None = None
_sabotage: Any = None
_sabotaged = 0
#: (method, path) -> the status the real run answered: a made-up answer changes the status only if it differs.
_expected: dict[tuple[str, str], int] = {}


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
    stream: bool = False
    #: what the test read of this exchange (see :mod:`auditor.run.reads`)
    reads: set[str] = field(default_factory=set)
    #: what a sabotage changed in it (``None``: untouched)
    changed: set[str] | None = None

    def freeze(self) -> HttpExchange:
        end = self.finished if self.finished is not None else time.perf_counter()
        return HttpExchange(method=self.method, host_class=self.host_class, host=self.host, path=self.path,
                            status=self.status, duration=end - self.started, bytes=self.bytes, client=self.client,
                            stream=self.stream, reads=tuple(sorted(self.reads)))

    def mark(self, parts: set[str]) -> None:
        """Called by the sabotage for each change it made to this exchange."""
        global _sabotaged
        with _lock:
            if self.changed is None:
                self.changed = set()
                _sabotaged += 1
            self.changed |= parts


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
    """Route every request through ``mode`` (see the module docstring); ``None`` turns sabotage off."""
    global _sabotage, _sabotaged
    with _lock:
        _sabotage, _sabotaged = mode, 0


def set_expected(statuses: dict[tuple[str, str], int]) -> None:
    """The statuses the real run answered, by (method, path): what a made-up answer is compared with."""
    global _expected
    _expected = dict(statuses)


def touched(clock: bool = False) -> tuple[set[str], set[str]]:
    """(subjects a sabotage changed among what the test read, everything it read) over the recording so far;
    ``clock``: the test measured time, so a delay changed something it read."""
    with _lock:
        pending = list(_recording or ())
    subjects: set[str] = set()
    seen: set[str] = set()
    for item in pending:
        seen |= item.reads
        if item.changed:
            subjects |= touched_subjects(item.reads | ({reads.TIME} if clock else set()), item.changed)
    return subjects, seen


def sabotaged() -> int:
    """How many requests the mode changed since ``set_sabotage`` (0: it had nothing to sabotage)."""
    return _sabotaged


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
@dataclass(frozen=True)
class _Library:
    """An httpx-like module (httpx, or httpx2 that the anthropic and openai SDKs use) and our stream wrappers."""

    name: str
    module: Any
    counting: Any
    async_counting: Any
    chunks: Any
    async_chunks: Any


def _library(name: str) -> _Library | None:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None

    class CountingStream(module.SyncByteStream):
        """Counts the bytes a sync response stream yields; finishes the exchange on close."""

        def __init__(self, inner: Any, pending: _Pending) -> None:
            self._inner, self._pending = inner, pending

        def __iter__(self):
            for chunk in self._inner:
                self._pending.bytes += len(chunk)
                yield chunk
            if self._pending.stream:
                self._pending.reads.add(reads.STREAM_END)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                if self._pending.finished is None:
                    self._pending.finished = time.perf_counter()

    class AsyncCountingStream(module.AsyncByteStream):
        """Counts the bytes an async response stream yields; finishes the exchange on close."""

        def __init__(self, inner: Any, pending: _Pending) -> None:
            self._inner, self._pending = inner, pending

        async def __aiter__(self):
            async for chunk in self._inner:
                self._pending.bytes += len(chunk)
                yield chunk
            if self._pending.stream:
                self._pending.reads.add(reads.STREAM_END)

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                if self._pending.finished is None:
                    self._pending.finished = time.perf_counter()

    class ChunkStream(module.SyncByteStream):
        """A sabotaged sync stream: what ``chunks`` yields; closing it closes the server's stream."""

        def __init__(self, chunks: Iterator[bytes], inner: Any) -> None:
            self._chunks, self._inner = chunks, inner

        def __iter__(self):
            yield from self._chunks

        def close(self) -> None:
            self._inner.close()

    class AsyncChunkStream(module.AsyncByteStream):
        """A sabotaged async stream: what ``chunks`` yields; closing it closes the server's stream."""

        def __init__(self, chunks: AsyncIterator[bytes], inner: Any) -> None:
            self._chunks, self._inner = chunks, inner

        async def __aiter__(self):
            async for chunk in self._chunks:
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    return _Library(name, module, CountingStream, AsyncCountingStream, ChunkStream, AsyncChunkStream)


def _sabotage_target(pending: _Pending | None, method: str, path: str) -> _Pending:
    """The exchange a sabotage notes its changes on (a loose one when nothing records)."""
    return pending or _Pending(method=method, host_class="", host="", path=path, client="", started=0.0)


def _finish(pending: _Pending, response: Any, request: Any) -> None:
    """Note the response's status, and from now on what the test reads of it and of its request."""
    pending.status = response.status_code
    pending.stream = "text/event-stream" in response.headers.get("content-type", "")
    reads.track_response(response, pending.reads)
    reads.track_request(request, pending.reads)


def _httpx_sync(original: Any, in_process: bool, lib: _Library) -> Any:
    def handle_request(transport: Any, request: Any) -> Any:
        pending = _begin(request.method, request.url.host, request.url.path, lib.name, in_process)
        mode = None if SPARE_HEADER in request.headers else _sabotage
        try:
            if mode is None:
                response = original(transport, request)
            else:
                target = _sabotage_target(pending, request.method, request.url.path)
                response = sabotage_httpx(mode, lib, lambda: original(transport, request), request, target.mark,
                                          _expected.get((request.method, request.url.path)))
        except BaseException:
            if pending is not None:
                pending.finished = time.perf_counter()
            raise
        if pending is not None:
            _finish(pending, response, request)
            response.stream = lib.counting(response.stream, pending)
        return response

    handle_request.__auditor_original__ = original  # type: ignore[attr-defined]
    return handle_request


def _httpx_async(original: Any, in_process: bool, lib: _Library) -> Any:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        pending = _begin(request.method, request.url.host, request.url.path, lib.name, in_process)
        mode = None if SPARE_HEADER in request.headers else _sabotage
        try:
            if mode is None:
                response = await original(transport, request)
            else:
                target = _sabotage_target(pending, request.method, request.url.path)
                response = await asabotage_httpx(mode, lib, lambda: original(transport, request), request,
                                                 target.mark, _expected.get((request.method, request.url.path)))
        except BaseException:
            if pending is not None:
                pending.finished = time.perf_counter()
            raise
        if pending is not None:
            _finish(pending, response, request)
            response.stream = lib.async_counting(response.stream, pending)
        return response

    handle_async_request.__auditor_original__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _patch_httpx(name: str) -> None:
    lib = _library(name)
    if lib is None:
        return
    module = lib.module
    targets = [
        (module.HTTPTransport, "handle_request", False, False),
        (module.AsyncHTTPTransport, "handle_async_request", False, True),
        (module.WSGITransport, "handle_request", True, False),
        (module.ASGITransport, "handle_async_request", True, True),
    ]
    if name == "httpx":
        try:  # starlette's TestClient brings its own in-process transport
            from starlette.testclient import _TestClientTransport

            targets.append((_TestClientTransport, "handle_request", True, False))
        except ImportError:
            pass
    for owner, attribute, in_process, is_async in targets:
        original = owner.__dict__[attribute]
        wrapper = (_httpx_async(original, in_process, lib) if is_async else _httpx_sync(original, in_process, lib))
        _patches.append((owner, attribute, original))
        setattr(owner, attribute, wrapper)


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
        mode = None if SPARE_HEADER in request.headers else _sabotage
        try:
            if mode is None:
                response = original(adapter, request, *args, **kwargs)
            else:
                target = _sabotage_target(pending, request.method or "GET", parts.path or "/")
                response = sabotage_requests(mode, lambda: original(adapter, request, *args, **kwargs), request,
                                             target.mark, _expected.get((request.method or "GET", parts.path or "/")))
        finally:
            if pending is not None:
                pending.finished = time.perf_counter()
        if pending is not None:
            _finish(pending, response, request)
            if pending.stream:  # requests hands over the whole body: the stream has ended when the test sees it
                pending.reads.add(reads.STREAM_END)
            length = response.headers.get("content-length", "")
            # requests reads the body after the adapter returns; the declared length is what we can know here
            pending.bytes = int(length) if length.isdigit() else len(response._content or b"") if mode else 0
        return response

    send.__auditor_original__ = original  # type: ignore[attr-defined]
    _patches.append((HTTPAdapter, "send", original))
    HTTPAdapter.send = send


def install() -> None:
    """Patch httpx (network and in-process transports) and requests; calling it twice changes nothing."""
    with _lock:
        if _patches:
            return
        _patch_httpx("httpx")
        _patch_httpx("httpx2")
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
