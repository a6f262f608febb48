"""Applying a sabotage mode to the responses of httpx, httpx2 and requests (called by :mod:`auditor.run.intercept`).

Made-up answers never reach the server; real ones are read (whole replies), rewritten event by event
(server-sent events, as they arrive) or delayed (``stretch``: the headers, then each chunk). ``mark`` is
called once per request the mode changed, so a probe can tell "survived" from "had nothing to sabotage".
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from auditor.run.sabotage import EventRewriter, Reply, Request, SabotageMode

__all__ = ["asabotage_httpx", "sabotage_httpx", "sabotage_requests"]

#: Called once for each request the mode changed.
Mark = Callable[[], None]


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


def sabotage_httpx(mode: SabotageMode, lib: Any, send: Callable[[], Any], request: Any, mark: Mark) -> Any:
    """The httpx/httpx2 response the test sees for ``request`` (``send()`` makes the real one)."""
    neutral = _neutral_request(request)
    made_up = mode.replace(neutral)
    if made_up is not None:
        mark()
        return _response(lib, made_up, request)
    started = time.perf_counter()
    response = send()
    stretch = mode.stretch
    if stretch > 1:
        mark()
        time.sleep((stretch - 1) * (time.perf_counter() - started))
    if "text/event-stream" in response.headers.get("content-type", ""):
        rewriter = mode.rewrite_stream(neutral, _reply_of(response))
        chunks: Iterator[bytes] = iter(response.stream)
        if stretch > 1:
            chunks = _stretched(chunks, stretch)
        if rewriter is not None:
            mark()
            chunks = _rewritten(chunks, rewriter)
        if stretch > 1 or rewriter is not None:
            response.stream = lib.chunks(chunks, response.stream)
        return response
    if mode.rewrites_bodies:
        body = response.read()
        changed = mode.rewrite(neutral, _reply_of(response, body))
        if changed is not None:
            mark()
            return _response(lib, changed, request)
    elif stretch > 1:
        response.stream = lib.chunks(_stretched(iter(response.stream), stretch), response.stream)
    return response


async def asabotage_httpx(mode: SabotageMode, lib: Any, send: Callable[[], Any], request: Any, mark: Mark) -> Any:
    """The async twin of :func:`sabotage_httpx`."""
    import anyio  # httpx's own dependency; works under asyncio and trio alike

    neutral = _neutral_request(request)
    made_up = mode.replace(neutral)
    if made_up is not None:
        mark()
        return _response(lib, made_up, request)
    started = time.perf_counter()
    response = await send()
    stretch = mode.stretch
    if stretch > 1:
        mark()
        await anyio.sleep((stretch - 1) * (time.perf_counter() - started))
    if "text/event-stream" in response.headers.get("content-type", ""):
        rewriter = mode.rewrite_stream(neutral, _reply_of(response))
        chunks: AsyncIterator[bytes] = response.stream.__aiter__()
        if stretch > 1:
            chunks = _astretched(chunks, stretch)
        if rewriter is not None:
            mark()
            chunks = _arewritten(chunks, rewriter)
        if stretch > 1 or rewriter is not None:
            response.stream = lib.async_chunks(chunks, response.stream)
        return response
    if mode.rewrites_bodies:
        body = await response.aread()
        changed = mode.rewrite(neutral, _reply_of(response, body))
        if changed is not None:
            mark()
            return _response(lib, changed, request)
    elif stretch > 1:
        response.stream = lib.async_chunks(_astretched(response.stream.__aiter__(), stretch), response.stream)
    return response


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
    """Splits a byte stream into SSE events and passes each through a rewriter."""

    def __init__(self, rewriter: EventRewriter) -> None:
        self.rewriter, self.buffer, self.ended = rewriter, b"", False

    def feed(self, chunk: bytes) -> list[bytes]:
        self.buffer += chunk.replace(b"\r\n", b"\n")
        out = []
        while not self.ended and b"\n\n" in self.buffer:
            event, self.buffer = self.buffer.split(b"\n\n", 1)
            out.append(self._one(event + b"\n\n"))
        return [item for item in out if item]

    def flush(self) -> list[bytes]:
        rest, self.buffer = self.buffer, b""
        return [] if self.ended or not rest.strip() else [item for item in (self._one(rest),) if item]

    def _one(self, event: bytes) -> bytes:
        if self.ended:
            return b""
        changed = self.rewriter(event)
        if changed is None:
            self.ended = True
            return b""
        return changed


def _rewritten(chunks: Iterator[bytes], rewriter: EventRewriter) -> Iterator[bytes]:
    events = _Events(rewriter)
    for chunk in chunks:
        yield from events.feed(chunk)
        if events.ended:
            return
    yield from events.flush()


async def _arewritten(chunks: AsyncIterator[bytes], rewriter: EventRewriter) -> AsyncIterator[bytes]:
    events = _Events(rewriter)
    async for chunk in chunks:
        for item in events.feed(chunk):
            yield item
        if events.ended:
            return
    for item in events.flush():
        yield item


def sabotage_requests(mode: SabotageMode, send: Callable[[], Any], request: Any, mark: Mark) -> Any:
    """The requests response the test sees for ``request`` (whole bodies: requests reads them after the adapter)."""
    body = request.body or b""
    neutral = Request(request.method or "GET", request.url, {k.lower(): v for k, v in request.headers.items()},
                      body.encode() if isinstance(body, str) else bytes(body) if isinstance(body, bytes) else b"")
    made_up = mode.replace(neutral)
    started = time.perf_counter()
    response = send() if made_up is None else _requests_response(request)
    # requests hands the body over only after the adapter returns: read it here, even for stream=True
    reply = made_up or Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                             response.content)
    changed = made_up
    if made_up is None and reply.is_sse:
        rewriter = mode.rewrite_stream(neutral, reply)
        if rewriter is not None:
            events = _Events(rewriter)
            changed = Reply(reply.status, reply.headers, b"".join([*events.feed(reply.body), *events.flush()]))
    elif made_up is None and mode.rewrites_bodies:
        changed = mode.rewrite(neutral, reply)
    if mode.stretch > 1 and made_up is None:
        mark()
        time.sleep((mode.stretch - 1) * (time.perf_counter() - started))
    if changed is not None:
        from requests.structures import CaseInsensitiveDict

        mark()
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


