"""Applying a sabotage mode to the responses of httpx, httpx2 and requests (called by :mod:`auditor.run.intercept`).

Made-up answers never reach the server; real ones are read (whole replies), rewritten event by event
(server-sent events, as they arrive) or delayed (``stretch``: the headers, then each chunk); a ``connection``
mode refuses the connection or drops it after the first chunk. ``mark`` is called with the parts of the
answer each change touched (see :mod:`auditor.run.reads`), so a probe can tell "survived" from "changed
nothing the test read".
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from auditor.run.reads import BODY, CONNECTION, STATUS, STREAM_END, TIME
from auditor.run.touched import changed_paths
from auditor.run.sabotage import EventRewriter, SabotageMode
from auditor.run.wire import Reply, Request, event_data, json_of

__all__ = ["asabotage_httpx", "sabotage_httpx", "sabotage_requests"]

#: Called with the parts of the answer a change touched (``status``, ``body``, JSON paths...).
Mark = Callable[[set[str]], None]

_REFUSED = "[auditor sabotage: down] connection refused"
_RESET = "[auditor sabotage: reset] peer closed connection without sending complete message body"


def _made_up_changes(made_up: Reply, expected: int | None, request: Request) -> set[str]:
    parts = {BODY}
    if made_up.status != expected:
        parts.add(STATUS)
    if made_up.is_sse or request.wants_stream:
        parts.add(STREAM_END)
    return parts


def _rewrite_changes(before: Reply, after: Reply) -> set[str]:
    parts = {STATUS} if before.status != after.status else set()
    old, new = json_of(before.body), json_of(after.body)
    if old is None or new is None:
        return parts | ({BODY} if before.body != after.body else set())
    return parts | changed_paths(old, new)


def _event_changes(before: bytes, after: bytes) -> set[str]:
    old, new = event_data(before), event_data(after)
    if old is None or new is None:
        return {BODY}
    return {"event" + path for path in changed_paths(old, new)}


def _neutral_request(request: Any) -> Request:
    try:
        body = bytes(request.content)
    except Exception:  # noqa: BLE001 - a streamed request body was not read: the mode sees none
        body = b""
    headers = {key.lower(): value for key, value in request.headers.items()}
    return Request(request.method, str(request.url), headers, body)


def _reply_of(response: Any, body: bytes = b"") -> Reply:
    return Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)


def _response(lib: Any, reply: Reply, request: Any) -> Any:
    return lib.module.Response(reply.status, headers=list(reply.headers.items()), content=reply.body, request=request)


def sabotage_httpx(mode: SabotageMode, lib: Any, send: Callable[[], Any], request: Any, mark: Mark,
                   expected: int | None = None) -> Any:
    """The httpx/httpx2 response the test sees for ``request`` (``send()`` makes the real one; ``expected``:
    the status the real run got for it)."""
    neutral = _neutral_request(request)
    if mode.connection == "refused":
        mark({CONNECTION})
        raise lib.module.ConnectError(_REFUSED, request=request)
    made_up = mode.replace(neutral)
    if made_up is not None:
        mark(_made_up_changes(made_up, expected, neutral))
        return _response(lib, made_up, request)
    started = time.perf_counter()
    response = send()
    stretch = mode.stretch
    if stretch > 1 or mode.delay:
        mark({TIME})
        time.sleep((stretch - 1) * (time.perf_counter() - started) + mode.delay)
    if mode.connection == "reset":
        mark({CONNECTION})
        error = lib.module.RemoteProtocolError(_RESET, request=request)
        response.stream = lib.chunks(_cut(iter(response.stream), error), response.stream)
        return response
    if "text/event-stream" in response.headers.get("content-type", ""):
        rewriter = mode.rewrite_stream(neutral, _reply_of(response))
        chunks: Iterator[bytes] = iter(response.stream)
        if stretch > 1:
            chunks = _stretched(chunks, stretch)
        if rewriter is not None:
            chunks = _rewritten(chunks, rewriter, mark)
        if stretch > 1 or rewriter is not None:
            response.stream = lib.chunks(chunks, response.stream)
        return response
    if mode.rewrites_bodies:
        body = response.read()
        real = _reply_of(response, body)
        changed = mode.rewrite(neutral, real)
        if changed is not None:
            mark(_rewrite_changes(real, changed))
            return _response(lib, changed, request)
    elif stretch > 1:
        response.stream = lib.chunks(_stretched(iter(response.stream), stretch), response.stream)
    return response


async def asabotage_httpx(mode: SabotageMode, lib: Any, send: Callable[[], Any], request: Any, mark: Mark,
                          expected: int | None = None) -> Any:
    """The async twin of :func:`sabotage_httpx`."""
    import anyio  # httpx's own dependency; works under asyncio and trio alike

    neutral = _neutral_request(request)
    if mode.connection == "refused":
        mark({CONNECTION})
        raise lib.module.ConnectError(_REFUSED, request=request)
    made_up = mode.replace(neutral)
    if made_up is not None:
        mark(_made_up_changes(made_up, expected, neutral))
        return _response(lib, made_up, request)
    started = time.perf_counter()
    response = await send()
    stretch = mode.stretch
    if stretch > 1 or mode.delay:
        mark({TIME})
        await anyio.sleep((stretch - 1) * (time.perf_counter() - started) + mode.delay)
    if mode.connection == "reset":
        mark({CONNECTION})
        error = lib.module.RemoteProtocolError(_RESET, request=request)
        response.stream = lib.async_chunks(_acut(response.stream.__aiter__(), error), response.stream)
        return response
    if "text/event-stream" in response.headers.get("content-type", ""):
        rewriter = mode.rewrite_stream(neutral, _reply_of(response))
        chunks: AsyncIterator[bytes] = response.stream.__aiter__()
        if stretch > 1:
            chunks = _astretched(chunks, stretch)
        if rewriter is not None:
            chunks = _arewritten(chunks, rewriter, mark)
        if stretch > 1 or rewriter is not None:
            response.stream = lib.async_chunks(chunks, response.stream)
        return response
    if mode.rewrites_bodies:
        body = await response.aread()
        real = _reply_of(response, body)
        changed = mode.rewrite(neutral, real)
        if changed is not None:
            mark(_rewrite_changes(real, changed))
            return _response(lib, changed, request)
    elif stretch > 1:
        response.stream = lib.async_chunks(_astretched(response.stream.__aiter__(), stretch), response.stream)
    return response


def _cut(chunks: Iterator[bytes], error: Exception) -> Iterator[bytes]:
    # the status and headers arrived; the first chunk of the body too, then the connection drops
    first = next(chunks, None)
    if first:
        yield first
    raise error


async def _acut(chunks: AsyncIterator[bytes], error: Exception) -> AsyncIterator[bytes]:
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        first = b""
    if first:
        yield first
    raise error


def _stretched(chunks: Iterator[bytes], stretch: float) -> Iterator[bytes]:
    # Only the wait for each chunk is stretched, not the time the test spends between reads.
    while True:
        started = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            return
        time.sleep((stretch - 1) * (time.perf_counter() - started))
        yield chunk


async def _astretched(chunks: AsyncIterator[bytes], stretch: float) -> AsyncIterator[bytes]:
    import anyio

    while True:
        started = time.perf_counter()
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        await anyio.sleep((stretch - 1) * (time.perf_counter() - started))
        yield chunk


class _Events:
    """Splits a byte stream into SSE events, passes each through a rewriter and marks what it changed."""

    def __init__(self, rewriter: EventRewriter, mark: Mark) -> None:
        self.rewriter, self.mark, self.buffer, self.ended = rewriter, mark, b"", False

    def feed(self, chunk: bytes) -> list[bytes]:
        self.buffer += chunk.replace(b"\r\n", b"\n")
        out = []
        while not self.ended and b"\n\n" in self.buffer:
            event, self.buffer = self.buffer.split(b"\n\n", 1)
            out.append(self._one(event + b"\n\n"))
        return [item for item in out if item]

    def flush(self) -> list[bytes]:
        rest, self.buffer = self.buffer, b""
        out = [] if self.ended or not rest.strip() else [item for item in (self._one(rest),) if item]
        if getattr(self.rewriter, "held", b""):  # a rewriter that held the last event back drops it here
            self.mark({STREAM_END})
        return out

    def _one(self, event: bytes) -> bytes:
        if self.ended:
            return b""
        changed = self.rewriter(event)
        if changed is None:
            self.ended = True
            self.mark({STREAM_END})
            return b""
        if changed != event and not hasattr(self.rewriter, "held"):  # a delayed event is not a changed one
            self.mark(_event_changes(event, changed))
        return changed


def _rewritten(chunks: Iterator[bytes], rewriter: EventRewriter, mark: Mark) -> Iterator[bytes]:
    events = _Events(rewriter, mark)
    for chunk in chunks:
        yield from events.feed(chunk)
        if events.ended:
            return
    yield from events.flush()


async def _arewritten(chunks: AsyncIterator[bytes], rewriter: EventRewriter, mark: Mark) -> AsyncIterator[bytes]:
    events = _Events(rewriter, mark)
    async for chunk in chunks:
        for item in events.feed(chunk):
            yield item
        if events.ended:
            return
    for item in events.flush():
        yield item


def sabotage_requests(mode: SabotageMode, send: Callable[[], Any], request: Any, mark: Mark,
                      expected: int | None = None) -> Any:
    """The requests response the test sees for ``request`` (whole bodies: requests reads them after the adapter)."""
    from requests.exceptions import ConnectionError as RequestsConnectionError

    body = request.body or b""
    neutral = Request(request.method or "GET", request.url, {k.lower(): v for k, v in request.headers.items()},
                      body.encode() if isinstance(body, str) else bytes(body) if isinstance(body, bytes) else b"")
    if mode.connection == "refused":
        mark({CONNECTION})
        raise RequestsConnectionError(_REFUSED, request=request)
    made_up = mode.replace(neutral)
    started = time.perf_counter()
    response = send() if made_up is None else _requests_response(request)
    if mode.connection == "reset":
        mark({CONNECTION})
        response.close()
        raise RequestsConnectionError(_RESET, request=request)
    # requests hands the body over only after the adapter returns: read it here, even for stream=True
    reply = made_up or Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                             response.content)
    changed = made_up
    if made_up is not None:
        mark(_made_up_changes(made_up, expected, neutral))
    elif reply.is_sse:
        rewriter = mode.rewrite_stream(neutral, reply)
        if rewriter is not None:
            events = _Events(rewriter, mark)
            changed = Reply(reply.status, reply.headers, b"".join([*events.feed(reply.body), *events.flush()]))
            changed = changed if changed.body != reply.body else None
    elif mode.rewrites_bodies:
        changed = mode.rewrite(neutral, reply)
        if changed is not None:
            mark(_rewrite_changes(reply, changed))
    if (mode.stretch > 1 or mode.delay) and made_up is None:
        mark({TIME})
        time.sleep((mode.stretch - 1) * (time.perf_counter() - started) + mode.delay)
    if changed is not None:
        from requests.structures import CaseInsensitiveDict

        response.status_code = changed.status
        response.headers = CaseInsensitiveDict(changed.headers)
        response._content = changed.body
    return response


def _requests_response(request: Any) -> Any:
    from requests import Response

    response = Response()
    response.url, response.request, response.encoding = request.url, request, "utf-8"
    response._content_consumed = True  # iter_content then serves _content, as for a body already read
    return response


