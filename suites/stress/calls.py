"""Asynchronous calls to the live server that keep what each response contained, for the load suites.

One :class:`Ask` is one chat request (either API, streamed or not) with the exact answer the fixture
model must give; :func:`ask` sends it and returns a :class:`Reply` with the text, the token accounting,
whether a stream ended with its terminator, and the client's and the server's own timings.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from server.fixture.facts import FACTS, SYSTEM_PROMPT, Fact
from suites.wire import (
    ANTHROPIC_HEADERS,
    SSEEvent,
    anthropic_body,
    anthropic_stream_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    parse_sse,
)

# A load test must not hang a CI run: every request is bounded, generously for a loaded 2-core machine.
LOAD_TIMEOUT_S = 120.0
LONG_FACTS: tuple[Fact, ...] = tuple(fact for fact in FACTS if fact.kind == "long")
SHORT_FACTS: tuple[Fact, ...] = tuple(fact for fact in FACTS if fact.kind != "long")
_TIMING = re.compile(r"(\w+);dur=([0-9.]+)")


@dataclass(frozen=True)
class Ask:
    """One chat request and the exact text the fixture model answers to it."""

    api: str  # "anthropic" or "openai"
    turns: tuple[tuple[str, str], ...]
    expected: str
    stream: bool = False
    system: str | None = None
    agent: str | None = None
    max_tokens: int = 128

    def path(self) -> str:
        return "/v1/messages" if self.api == "anthropic" else "/v1/chat/completions"

    def body(self) -> dict[str, Any]:
        if self.api == "anthropic":
            return anthropic_body(list(self.turns), system=self.system, max_tokens=self.max_tokens,
                                  stream=self.stream)
        extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if self.stream else {}
        return openai_body(list(self.turns), system=self.system, max_tokens=self.max_tokens,
                           stream=self.stream, **extra)

    def headers(self) -> dict[str, str]:
        headers = dict(ANTHROPIC_HEADERS) if self.api == "anthropic" else {}
        if self.agent is not None:
            headers["x-agent-id"] = self.agent
        return headers


@dataclass(frozen=True)
class Reply:
    """What came back for one :class:`Ask`; ``text`` holds the error body when the status is not 200."""

    ask: Ask
    status: int
    text: str
    finish: str | None  # "stop" (ended on EOS), "length", ... as the API named it, normalised
    complete: bool  # a stream ended with message_stop / [DONE]; always True for whole responses
    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    latency_s: float
    ttft_s: float | None
    server_timing: dict[str, float] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        """The exact expected answer, ended on EOS, delivered whole."""
        return self.status == 200 and self.complete and self.finish == "stop" and self.text == self.ask.expected

    def describe(self) -> str:
        """A one-line account for assertion messages."""
        return (f"{self.ask.api}{' stream' if self.ask.stream else ''} agent={self.ask.agent} "
                f"status={self.status} finish={self.finish} complete={self.complete} "
                f"expected={self.ask.expected!r} got={self.text[:200]!r}")


def fact_ask(fact: Fact, index: int, **overrides: Any) -> Ask:
    """A one-turn ask for ``fact``; ``index`` alternates the API and streaming."""
    settings: dict[str, Any] = {"api": ("anthropic", "openai")[index % 2], "stream": index % 4 >= 2}
    settings.update(overrides)
    return Ask(turns=(("user", fact.question),), expected=fact.answer, **settings)


def server_timing(header: str | None) -> dict[str, float]:
    """``server-timing`` durations in seconds, by name."""
    return {name: float(ms) / 1000 for name, ms in _TIMING.findall(header or "")}


async def ask(client: httpx.AsyncClient, request: Ask) -> Reply:
    """Send one ask and read the whole reply (a stream to its end)."""
    started = time.perf_counter()
    if not request.stream:
        response = await client.post(request.path(), json=request.body(), headers=request.headers())
        latency = time.perf_counter() - started
        if response.status_code != 200:
            return _failed(request, response.status_code, response.text, latency)
        return _whole_reply(request, response.json(), latency, server_timing(response.headers.get("server-timing")))
    async with client.stream("POST", request.path(), json=request.body(), headers=request.headers()) as response:
        if response.status_code != 200:
            body = (await response.aread()).decode("utf-8", "replace")
            return _failed(request, response.status_code, body, time.perf_counter() - started)
        body, ttft = "", None
        async for piece in response.aiter_text():
            body += piece
            if ttft is None and _has_text(request.api, body):
                ttft = time.perf_counter() - started
    return _stream_reply(request, parse_sse(body), time.perf_counter() - started, ttft)


def _failed(request: Ask, status: int, body: str, latency: float) -> Reply:
    return Reply(request, status, body, None, False, 0, 0, 0, latency, None)


def _whole_reply(request: Ask, payload: dict[str, Any], latency: float, timing: dict[str, float]) -> Reply:
    usage = payload["usage"]
    if request.api == "anthropic":
        text = "".join(block["text"] for block in payload["content"])
        finish = {"end_turn": "stop", "max_tokens": "length"}.get(payload["stop_reason"], payload["stop_reason"])
        prompt = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        return Reply(request, 200, text, finish, True, prompt, usage["cache_read_input_tokens"],
                     usage["output_tokens"], latency, None, timing)
    choice = payload["choices"][0]
    return Reply(request, 200, choice["message"]["content"], choice["finish_reason"], True, usage["prompt_tokens"],
                 usage["prompt_tokens_details"]["cached_tokens"], usage["completion_tokens"], latency, None, timing)


def _has_text(api: str, body: str) -> bool:
    # Only whole events count, so the first text is seen when it is complete on the wire.
    whole = body[: body.rfind("\n\n") + 2]
    if not whole:
        return False
    events = parse_sse(whole)
    if api == "anthropic":
        return bool(anthropic_stream_text(events))
    return any(event.data != "[DONE]" and openai_stream_text([event.json()]) for event in events)


def _stream_reply(request: Ask, events: Sequence[SSEEvent], latency: float, ttft: float | None) -> Reply:
    if request.api == "anthropic":
        text = anthropic_stream_text(events)
        deltas = [event.json() for event in events if event.event == "message_delta"]
        complete = bool(events) and events[-1].event == "message_stop" and bool(deltas)
        if not deltas:
            return Reply(request, 200, text, None, False, 0, 0, 0, latency, ttft)
        usage = deltas[-1]["usage"]
        finish = {"end_turn": "stop", "max_tokens": "length"}.get(deltas[-1]["delta"]["stop_reason"])
        prompt = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        return Reply(request, 200, text, finish, complete, prompt, usage["cache_read_input_tokens"],
                     usage["output_tokens"], latency, ttft)
    chunks, last = openai_chunks(events)
    text = openai_stream_text(chunks)
    finishes = [choice["finish_reason"] for chunk in chunks for choice in chunk["choices"] if choice["finish_reason"]]
    usages = [chunk["usage"] for chunk in chunks if chunk.get("usage")]
    usage = usages[-1] if usages else {"prompt_tokens": 0, "completion_tokens": 0,
                                       "prompt_tokens_details": {"cached_tokens": 0}}
    return Reply(request, 200, text, finishes[-1] if finishes else None, last == "[DONE]" and bool(usages),
                 usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"],
                 usage["completion_tokens"], latency, ttft)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx loads the CA bundle into a new SSL context for every client unless it is given one: 10-100 ms of
    # CPU per client on a 2-core machine, spent inside the event loop while other requests are in flight.
    return httpx.create_ssl_context()


def async_client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    """A client whose pool holds one connection per concurrent caller."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(LOAD_TIMEOUT_S, connect=30.0),
                             verify=_tls_context())


async def ask_all(base_url: str, asks: Iterable[Ask], concurrency: int) -> list[Reply | BaseException]:
    """Send ``asks`` through ``concurrency`` workers; a transport error is returned in the ask's place.

    Each worker has a client of its own with one connection. One pool of ``concurrency`` connections
    would cost the client time quadratic in their number: httpcore 1.0 re-examines every connection of
    the pool for every connection, and polls each one's socket, whenever a request starts or ends.
    Measured at 128 workers on the 2-core machine: 4-7 s of client CPU for 512 requests against 0.6 s
    with a client per worker, every response read late, and the client's latency 2-3x the server's
    own timing for the fastest tenth of the requests (1.0x with a client per worker).
    """
    pending = list(enumerate(asks))
    results: list[Reply | BaseException] = [RuntimeError("not sent")] * len(pending)

    async def worker() -> None:
        async with async_client(base_url, 1) as client:
            while pending:
                index, request = pending.pop(0)
                try:
                    results[index] = await ask(client, request)
                except httpx.TransportError as error:  # counted and reported by the caller's assertions
                    results[index] = error

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def at_once(calls: Sequence[Callable[[], Awaitable[Reply]]]) -> list[Reply | BaseException]:
    """Start every call together (no pool limit) and collect replies or the exceptions they raised."""
    return list(await asyncio.gather(*(call() for call in calls), return_exceptions=True))


def failures(results: Sequence[Reply | BaseException]) -> list[str]:
    """One line per result that is an exception or not the exact expected answer."""
    lines = []
    for index, result in enumerate(results):
        if isinstance(result, BaseException):
            lines.append(f"#{index}: {type(result).__name__}: {result}")
        elif not result.correct:
            lines.append(f"#{index}: {result.describe()}")
    return lines


# -- histories the fixture model answers exactly -----------------------------------------------------

# Facts asked in this order make a long conversation. The model was trained on two-turn chats, so after
# some histories it misses (checked with the cache switched off: history lengths 7, 21, 27, 36 and 37 of
# this sequence); every length used by the suites is one it answers exactly.
HISTORY_FACTS: tuple[Fact, ...] = tuple(fact for fact in FACTS if fact.kind in ("capital", "sum", "fact"))
ANSWERED_HISTORY_LENGTHS: frozenset[int] = frozenset(range(1, 45)) - {7, 21, 27, 36, 37}


def history_ask(length: int, **settings: Any) -> Ask:
    """Ask question ``length`` of :data:`HISTORY_FACTS` after the system prompt and the first ``length``
    questions and answers (without the system prompt the model is exact only for shorter histories)."""
    assert length in ANSWERED_HISTORY_LENGTHS, f"the fixture model is not exact after {length} turns"
    turns: tuple[tuple[str, str], ...] = ()
    for fact in HISTORY_FACTS[:length]:
        turns += (("user", fact.question), ("assistant", fact.answer))
    last = HISTORY_FACTS[length]
    return Ask(turns=turns + (("user", last.question),), expected=last.answer, system=SYSTEM_PROMPT, **settings)


# -- server state ---------------------------------------------------------------------------------------


def health(base_url: str) -> dict[str, Any]:
    """GET /health, which must answer 200."""
    response = httpx.get(f"{base_url}/health", timeout=10.0)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_idle(base_url: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll /health until no request is running or queued (or ``timeout`` passes); the last health."""
    deadline = time.monotonic() + timeout
    state = health(base_url)
    while (state["active_requests"] or state["queued_requests"]) and time.monotonic() < deadline:
        time.sleep(0.05)
        state = health(base_url)
    return state
