"""E2E: exact wire shapes of both APIs, streamed (SSE event order, chunk rules) and whole."""

from __future__ import annotations

import re

import httpx
import pytest

from server.fixture.facts import SYSTEM_PROMPT
from suites.wire import (
    ANTHROPIC_HEADERS,
    COUNTING,
    SAY_OK,
    anthropic_body,
    anthropic_stream_text,
    anthropic_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    post_stream,
    token_ids,
)

pytestmark = pytest.mark.e2e

SERVER_TIMING = re.compile(
    r"^queue;dur=\d+(\.\d+)?, prefill;dur=\d+(\.\d+)?, total;dur=\d+(\.\d+)?$"
)
MESSAGE_KEYS = {"id", "type", "role", "content", "model", "stop_reason", "stop_sequence", "usage"}
ANTHROPIC_USAGE_KEYS = {
    "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
}
ECHOED_MODELS = ["claude-sonnet-4-5-20250929", "gpt-4o-mini", "fixture"]


def counted_input(http: httpx.Client, question: str, system: str | None = None) -> int:
    """The prompt size per /v1/messages/count_tokens, the oracle for every usage check."""
    body = anthropic_body(question, system=system)
    del body["max_tokens"]
    response = http.post("/v1/messages/count_tokens", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    return int(response.json()["input_tokens"])


def test_anthropic_stream_has_the_exact_event_sequence(http: httpx.Client) -> None:
    body = anthropic_body(COUNTING.question, stream=True)
    reply = post_stream(http, "/v1/messages", body, ANTHROPIC_HEADERS)
    assert reply.status_code == 200
    names = [event.event for event in reply.events]
    deltas = len(names) - 6
    assert deltas >= 1
    assert names == (
        ["message_start", "content_block_start", "ping"]
        + ["content_block_delta"] * deltas
        + ["content_block_stop", "message_delta", "message_stop"]
    )
    # The SSE event name and the JSON "type" must agree, or SDKs silently drop events.
    assert [event.json()["type"] for event in reply.events] == names
    assert anthropic_stream_text(reply.events) == COUNTING.answer


def test_anthropic_stream_events_have_exact_shapes(http: httpx.Client) -> None:
    body = anthropic_body(COUNTING.question, stream=True, model="claude-haiku-4-5")
    reply = post_stream(http, "/v1/messages", body, ANTHROPIC_HEADERS)
    assert reply.status_code == 200
    events = [event.json() for event in reply.events]
    start = events[0]["message"]
    assert set(events[0]) == {"type", "message"}
    assert set(start) == MESSAGE_KEYS
    assert start["id"].startswith("msg_")
    assert (start["type"], start["role"], start["content"]) == ("message", "assistant", [])
    assert (start["model"], start["stop_reason"], start["stop_sequence"]) == (
        "claude-haiku-4-5", None, None,
    )
    usage = start["usage"]
    prompt = usage["input_tokens"] + usage["cache_read_input_tokens"]
    assert prompt + usage["cache_creation_input_tokens"] == counted_input(http, COUNTING.question)
    assert events[1] == {
        "type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""},
    }
    assert events[2] == {"type": "ping"}
    for delta in events[3:-3]:
        assert set(delta) == {"type", "index", "delta"}
        assert (delta["index"], set(delta["delta"])) == (0, {"type", "text"})
        assert delta["delta"]["type"] == "text_delta"
    assert anthropic_stream_text(reply.events) == COUNTING.answer
    assert events[-3] == {"type": "content_block_stop", "index": 0}
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2]["usage"]["output_tokens"] == len(token_ids(COUNTING.answer))
    assert events[-1] == {"type": "message_stop"}


def test_anthropic_whole_message_has_the_exact_shape(http: httpx.Client) -> None:
    body = anthropic_body(COUNTING.question)
    response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200
    message = response.json()
    assert set(message) == MESSAGE_KEYS
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"]) == ("message", "assistant")
    assert message["model"] == "fixture"
    assert message["content"] == [{"type": "text", "text": COUNTING.answer}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    assert ANTHROPIC_USAGE_KEYS <= set(message["usage"])
    assert message["usage"]["output_tokens"] == len(token_ids(COUNTING.answer))
    assert SERVER_TIMING.match(response.headers["server-timing"]), response.headers["server-timing"]


def test_every_response_carries_a_distinct_request_id(http: httpx.Client) -> None:
    first = http.post("/v1/messages", json=anthropic_body(SAY_OK.question), headers=ANTHROPIC_HEADERS)
    second = http.post("/v1/messages", json=anthropic_body(SAY_OK.question), headers=ANTHROPIC_HEADERS)
    chat = http.post("/v1/chat/completions", json=openai_body(SAY_OK.question))
    ids = {first.headers["request-id"], second.headers["request-id"], chat.headers["x-request-id"]}
    assert len(ids) == 3
    assert first.json()["id"] != second.json()["id"]
    assert [anthropic_text(first.json()), anthropic_text(second.json())] == [SAY_OK.answer, SAY_OK.answer]
    assert chat.json()["choices"][0]["message"]["content"] == SAY_OK.answer


def test_openai_stream_follows_the_chunk_rules(http: httpx.Client) -> None:
    body = openai_body(
        COUNTING.question, stream=True, model="gpt-4o-mini",
        stream_options={"include_usage": True},
    )
    reply = post_stream(http, "/v1/chat/completions", body)
    assert reply.status_code == 200
    chunks, last = openai_chunks(reply.events)
    assert last == "[DONE]"
    assert all(event.event is None for event in reply.events)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert len({chunk["created"] for chunk in chunks}) == 1
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert isinstance(chunks[0]["created"], int)
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk["model"] for chunk in chunks} == {"gpt-4o-mini"}
    *content_chunks, usage_chunk = chunks
    assert [len(chunk["choices"]) for chunk in content_chunks] == [1] * len(content_chunks)
    choices = [chunk["choices"][0] for chunk in content_chunks]
    assert [choice["index"] for choice in choices] == [0] * len(choices)
    assert choices[0]["delta"]["role"] == "assistant"
    assert ["role" in choice["delta"] for choice in choices[1:]] == [False] * (len(choices) - 1)
    reasons = [choice["finish_reason"] for choice in choices]
    assert reasons == [None] * (len(reasons) - 1) + ["stop"]
    assert [chunk.get("usage") for chunk in content_chunks] == [None] * len(content_chunks)
    assert openai_stream_text(content_chunks) == COUNTING.answer
    assert usage_chunk["choices"] == []
    completion_tokens = len(token_ids(COUNTING.answer))
    prompt_tokens = counted_input(http, COUNTING.question)
    usage = usage_chunk["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        prompt_tokens, completion_tokens, prompt_tokens + completion_tokens,
    )
    assert isinstance(usage["prompt_tokens_details"]["cached_tokens"], int)


def test_openai_stream_without_include_usage_has_no_usage_chunk(http: httpx.Client) -> None:
    reply = post_stream(http, "/v1/chat/completions", openai_body(COUNTING.question, stream=True))
    assert reply.status_code == 200
    chunks, last = openai_chunks(reply.events)
    assert last == "[DONE]"
    assert [len(chunk["choices"]) for chunk in chunks] == [1] * len(chunks)
    assert [chunk.get("usage") for chunk in chunks] == [None] * len(chunks)
    assert openai_stream_text(chunks) == COUNTING.answer


def test_openai_whole_completion_has_the_exact_shape(http: httpx.Client) -> None:
    body = openai_body(COUNTING.question, system=SYSTEM_PROMPT)
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    completion = response.json()
    assert completion["id"].startswith("chatcmpl-")
    assert (completion["object"], completion["model"]) == ("chat.completion", "fixture")
    assert isinstance(completion["created"], int)
    assert len(completion["choices"]) == 1
    choice = completion["choices"][0]
    assert (choice["index"], choice["finish_reason"], choice["logprobs"]) == (0, "stop", None)
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == COUNTING.answer
    prompt_tokens = counted_input(http, COUNTING.question, SYSTEM_PROMPT)
    completion_tokens = len(token_ids(COUNTING.answer))
    usage = completion["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        prompt_tokens, completion_tokens, prompt_tokens + completion_tokens,
    )
    assert SERVER_TIMING.match(response.headers["server-timing"]), response.headers["server-timing"]


@pytest.mark.parametrize("model", ECHOED_MODELS)
def test_anthropic_echoes_the_requested_model(http: httpx.Client, model: str) -> None:
    whole = http.post("/v1/messages", json=anthropic_body(SAY_OK.question, model=model))
    streamed = post_stream(http, "/v1/messages", anthropic_body(SAY_OK.question, model=model, stream=True))
    assert (whole.status_code, streamed.status_code) == (200, 200)
    assert whole.json()["model"] == model
    assert streamed.events[0].json()["message"]["model"] == model
    assert (anthropic_text(whole.json()), anthropic_stream_text(streamed.events)) == (SAY_OK.answer, SAY_OK.answer)


@pytest.mark.parametrize("model", ECHOED_MODELS)
def test_openai_echoes_the_requested_model(http: httpx.Client, model: str) -> None:
    whole = http.post("/v1/chat/completions", json=openai_body(SAY_OK.question, model=model))
    streamed = post_stream(
        http, "/v1/chat/completions", openai_body(SAY_OK.question, model=model, stream=True)
    )
    assert (whole.status_code, streamed.status_code) == (200, 200)
    assert whole.json()["model"] == model
    chunks, _ = openai_chunks(streamed.events)
    assert {chunk["model"] for chunk in chunks} == {model}
    assert whole.json()["choices"][0]["message"]["content"] == SAY_OK.answer
    assert openai_stream_text(chunks) == SAY_OK.answer
