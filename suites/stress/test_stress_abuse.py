"""Stress: clients that hang up mid-stream and a flood of malformed requests leave the server healthy."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from suites.serverproc import ServerProcess
from suites.stress.calls import (
    LONG_FACTS,
    SHORT_FACTS,
    Ask,
    ask_all,
    async_client,
    fact_ask,
    failures,
    wait_idle,
)
from suites.wire import (
    ANTHROPIC_HEADERS,
    anthropic_stream_text,
    openai_stream_text,
    parse_sse,
)

pytestmark = pytest.mark.stress

MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"
ONE_TURN = [{"role": "user", "content": "What is the capital of France?"}]
# Far over the fixture model's 2,048-token context.
TOO_LONG = [{"role": "user", "content": "hello world " * 2000}]


def _text_so_far(api: str, body: str) -> str:
    whole = body[: body.rfind("\n\n") + 2]
    if not whole:
        return ""
    events = parse_sse(whole)
    if api == "anthropic":
        return anthropic_stream_text(events)
    return openai_stream_text([event.json() for event in events if event.data != "[DONE]"])


async def _hang_up_after_first_text(client: httpx.AsyncClient, request: Ask) -> str:
    """Read a stream until its first text arrives, then close the connection; the text read."""
    async with client.stream("POST", request.path(), json=request.body(), headers=request.headers()) as response:
        assert response.status_code == 200
        body = ""
        async for piece in response.aiter_text():
            body += piece
            if _text_so_far(request.api, body):
                break
    return _text_so_far(request.api, body)


def test_clients_that_hang_up_mid_stream_free_their_slots(live_server: ServerProcess) -> None:
    clients = 48
    facts = list(itertools.islice(itertools.cycle(LONG_FACTS), clients))
    asks = [fact_ask(fact, index, stream=True, max_tokens=512) for index, fact in enumerate(facts)]

    async def hang_up_all() -> list[str]:
        # A fresh connection per stream: closing a stream mid-body closes its connection.
        async with async_client(live_server.base_url, clients) as client:
            return list(await asyncio.gather(*(_hang_up_after_first_text(client, r) for r in asks)))

    partial = asyncio.run(hang_up_all())
    # What arrived before the hang-up was the true start of each answer.
    wrong = [(text, request.expected) for text, request in zip(partial, asks)
             if not text or not request.expected.startswith(text)]
    assert wrong == []
    state = wait_idle(live_server.base_url)
    assert (state["status"], state["active_requests"], state["queued_requests"]) == ("ok", 0, 0)
    # Every slot is usable again: a full batch of new clients is served exactly.
    after = [fact_ask(fact, index) for index, fact in enumerate(SHORT_FACTS[:64])]
    assert failures(asyncio.run(ask_all(live_server.base_url, after, concurrency=64))) == []


@dataclass(frozen=True)
class Malformed:
    """One bad request and the status it must get."""

    name: str
    method: str
    path: str
    content: bytes
    status: int


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


def _messages(**fields: Any) -> bytes:
    return _json({"model": "fixture", "max_tokens": 16, "messages": ONE_TURN, **fields})


def _chat(**fields: Any) -> bytes:
    return _json({"model": "fixture", "max_tokens": 16, "messages": ONE_TURN, **fields})


MALFORMED: tuple[Malformed, ...] = (
    Malformed("empty body", "POST", MESSAGES, b"", 400),
    Malformed("broken json", "POST", MESSAGES, b'{"model": "x", ', 400),
    Malformed("json array", "POST", MESSAGES, b"[1, 2, 3]", 400),
    Malformed("invalid utf-8", "POST", MESSAGES, b'{"model": "\xff\xfe"}', 400),
    Malformed("no max_tokens", "POST", MESSAGES, _json({"model": "fixture", "messages": ONE_TURN}), 400),
    Malformed("negative max_tokens", "POST", MESSAGES, _messages(max_tokens=-1), 400),
    Malformed("max_tokens as text", "POST", MESSAGES, _messages(max_tokens="ten"), 400),
    Malformed("max_tokens over the limit", "POST", MESSAGES, _messages(max_tokens=10**9), 400),
    Malformed("messages as a string", "POST", MESSAGES, _messages(messages="hi"), 400),
    Malformed("no messages", "POST", MESSAGES, _messages(messages=[]), 400),
    Malformed("message not an object", "POST", MESSAGES, _messages(messages=[42]), 400),
    Malformed("system role in messages", "POST", MESSAGES,
              _messages(messages=[{"role": "system", "content": "x"}, *ONE_TURN]), 400),
    Malformed("last turn from the assistant", "POST", MESSAGES,
              _messages(messages=[*ONE_TURN, {"role": "assistant", "content": "Paris."}]), 400),
    Malformed("image block", "POST", MESSAGES,
              _messages(messages=[{"role": "user", "content": [{"type": "image", "source": {}}]}]), 400),
    Malformed("temperature out of range", "POST", MESSAGES, _messages(temperature=5), 400),
    Malformed("streamed, bad stop_sequences", "POST", MESSAGES, _messages(stream=True, stop_sequences=7), 400),
    Malformed("prompt over the context", "POST", MESSAGES, _messages(messages=TOO_LONG), 400),
    Malformed("count_tokens without messages", "POST", f"{MESSAGES}/count_tokens", _json({"model": "x"}), 400),
    Malformed("GET messages", "GET", MESSAGES, b"", 405),
    Malformed("chat empty body", "POST", CHAT, b"", 400),
    Malformed("chat broken json", "POST", CHAT, b"{", 400),
    Malformed("chat messages as a string", "POST", CHAT, _chat(messages="x"), 400),
    Malformed("chat tool role", "POST", CHAT, _chat(messages=[{"role": "tool", "content": "x"}]), 400),
    Malformed("chat n=3", "POST", CHAT, _chat(n=3), 400),
    Malformed("chat stream_options not an object", "POST", CHAT, _chat(stream=True, stream_options="yes"), 400),
    Malformed("chat top_p out of range", "POST", CHAT, _chat(top_p=2), 400),
    Malformed("chat max_tokens zero", "POST", CHAT, _chat(max_tokens=0), 400),
    Malformed("chat prompt over the context", "POST", CHAT, _chat(messages=TOO_LONG), 400),
    Malformed("GET chat", "GET", CHAT, b"", 405),
    Malformed("unknown route", "POST", "/v1/nothing", b"{}", 404),
)


def _shape_errors(case: Malformed, response: httpx.Response) -> list[str]:
    """What is wrong with an error response for ``case`` (nothing when it is right)."""
    problems = []
    if response.status_code != case.status:
        problems.append(f"status {response.status_code}, expected {case.status}")
    try:
        body = response.json()
    except ValueError:
        return [*problems, f"body is not JSON: {response.text[:200]!r}"]
    if case.path.startswith(MESSAGES):
        kind = "not_found_error" if case.status == 404 else "invalid_request_error"
        if set(body) != {"type", "error", "request_id"} or body["type"] != "error":
            problems.append(f"not an Anthropic error: {body}")
        elif body["error"]["type"] != kind or not body["error"]["message"]:
            problems.append(f"Anthropic error of the wrong type: {body}")
    elif set(body) != {"error"} or set(body["error"]) != {"message", "type", "param", "code"}:
        problems.append(f"not an OpenAI error: {body}")
    elif body["error"]["type"] != "invalid_request_error" or not body["error"]["message"]:
        problems.append(f"OpenAI error of the wrong type: {body}")
    return problems


async def _flood(base_url: str, cases: list[Malformed], concurrency: int) -> list[list[str]]:
    headers = {**ANTHROPIC_HEADERS, "content-type": "application/json"}
    results: list[list[str]] = [[] for _ in cases]
    pending = list(enumerate(cases))
    async with async_client(base_url, concurrency) as client:

        async def worker() -> None:
            while pending:
                index, case = pending.pop(0)
                response = await client.request(case.method, case.path, content=case.content, headers=headers)
                results[index] = _shape_errors(case, response)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def test_a_flood_of_malformed_requests_gets_api_shaped_errors(live_server: ServerProcess) -> None:
    cases = list(MALFORMED) * 8
    results = asyncio.run(_flood(live_server.base_url, cases, concurrency=32))
    wrong = [f"{case.name}: {problems}" for case, problems in zip(cases, results) if problems]
    assert wrong == []
    state = wait_idle(live_server.base_url)
    assert (state["status"], state["active_requests"], state["queued_requests"]) == ("ok", 0, 0)
    after = [fact_ask(fact, index) for index, fact in enumerate(SHORT_FACTS[:16])]
    assert failures(asyncio.run(ask_all(live_server.base_url, after, concurrency=16))) == []
