"""E2E: max_tokens cuts and stop sequences give the exact text and the exact stop reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from suites.wire import (
    ANTHROPIC_HEADERS,
    COUNTING,
    anthropic_body,
    anthropic_stream_text,
    anthropic_text,
    first_tokens_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    post_stream,
    token_ids,
)

pytestmark = pytest.mark.e2e

# Cuts inside the answer, exactly at its last token (no room for EOS) and one past it (EOS fits).
# Named, not numbered, so collecting this module never needs the tokenizer.
CUTS = ["1", "5", "12", "whole-answer", "whole-answer+1"]
# "3, 4" both starts and ends before ", 5", so it is the one that must match; "Z" never occurs.
STOPS = ["Z", ", 5", "3, 4"]
TEXT_BEFORE_STOP = "1, 2, "


def answer_tokens() -> int:
    """Tokens in the counting answer, per the model's own tokenizer."""
    return len(token_ids(COUNTING.answer))


def cut_size(cut: str) -> int:
    """The max_tokens value a CUTS name stands for."""
    sizes = {"whole-answer": answer_tokens(), "whole-answer+1": answer_tokens() + 1}
    return sizes[cut] if cut in sizes else int(cut)


def expected_cut(max_tokens: int) -> tuple[str, bool]:
    """The text a greedy decode returns under `max_tokens`, and whether the limit ended it."""
    if max_tokens > answer_tokens():
        return COUNTING.answer, False
    return first_tokens_text(COUNTING.answer, max_tokens), True


def anthropic_result(http: httpx.Client, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """Text, stop_reason, stop_sequence and output_tokens of one /v1/messages call."""
    if stream:
        reply = post_stream(http, "/v1/messages", {**body, "stream": True}, ANTHROPIC_HEADERS)
        assert reply.status_code == 200, reply.body
        final = [event.json() for event in reply.events if event.event == "message_delta"][-1]
        return {
            "text": anthropic_stream_text(reply.events),
            "stop_reason": final["delta"]["stop_reason"],
            "stop_sequence": final["delta"]["stop_sequence"],
            "output_tokens": final["usage"]["output_tokens"],
        }
    response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    message = response.json()
    return {
        "text": anthropic_text(message),
        "stop_reason": message["stop_reason"],
        "stop_sequence": message["stop_sequence"],
        "output_tokens": message["usage"]["output_tokens"],
    }


def openai_result(http: httpx.Client, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """Text, finish_reason and completion_tokens of one /v1/chat/completions call."""
    if stream:
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        reply = post_stream(http, "/v1/chat/completions", body)
        assert reply.status_code == 200, reply.body
        chunks, last = openai_chunks(reply.events)
        assert last == "[DONE]"
        return {
            "text": openai_stream_text(chunks),
            "finish_reason": chunks[-2]["choices"][0]["finish_reason"],
            "completion_tokens": chunks[-1]["usage"]["completion_tokens"],
        }
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    completion = response.json()
    return {
        "text": completion["choices"][0]["message"]["content"],
        "finish_reason": completion["choices"][0]["finish_reason"],
        "completion_tokens": completion["usage"]["completion_tokens"],
    }


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("cut", CUTS)
def test_messages_max_tokens_cuts_exactly(http: httpx.Client, cut: str, stream: bool) -> None:
    max_tokens = cut_size(cut)
    text, limited = expected_cut(max_tokens)
    body = anthropic_body(COUNTING.question, max_tokens=max_tokens)
    assert anthropic_result(http, body, stream) == {
        "text": text,
        "stop_reason": "max_tokens" if limited else "end_turn",
        "stop_sequence": None,
        "output_tokens": min(max_tokens, answer_tokens()),
    }


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("cut", CUTS)
def test_chat_max_tokens_cuts_exactly(http: httpx.Client, cut: str, stream: bool) -> None:
    max_tokens = cut_size(cut)
    text, limited = expected_cut(max_tokens)
    body = openai_body(COUNTING.question, max_tokens=max_tokens)
    assert openai_result(http, body, stream) == {
        "text": text,
        "finish_reason": "length" if limited else "stop",
        "completion_tokens": min(max_tokens, answer_tokens()),
    }


def test_max_completion_tokens_is_honoured_like_max_tokens(http: httpx.Client) -> None:
    body = openai_body(COUNTING.question, max_tokens=None, max_completion_tokens=5)
    assert openai_result(http, body, stream=False) == {
        "text": "1, 2, 3",
        "finish_reason": "length",
        "completion_tokens": 5,
    }


def test_five_tokens_of_counting_read_one_two_three(http: httpx.Client) -> None:
    # A literal second oracle, independent of the tokenizer used by expected_cut().
    body = anthropic_body(COUNTING.question, max_tokens=5)
    assert anthropic_result(http, body, stream=False)["text"] == "1, 2, 3"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_messages_stop_sequences_cut_before_the_first_match(
    http: httpx.Client, stream: bool
) -> None:
    body = anthropic_body(COUNTING.question, stop_sequences=STOPS)
    result = anthropic_result(http, body, stream)
    assert (result["text"], result["stop_reason"], result["stop_sequence"]) == (
        TEXT_BEFORE_STOP, "stop_sequence", "3, 4",
    )


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_messages_unmatched_stop_sequence_ends_the_turn(http: httpx.Client, stream: bool) -> None:
    body = anthropic_body(COUNTING.question, stop_sequences=["Z"])
    result = anthropic_result(http, body, stream)
    assert (result["text"], result["stop_reason"], result["stop_sequence"]) == (
        COUNTING.answer, "end_turn", None,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("stop", [STOPS, "3, 4"], ids=["list", "string"])
def test_chat_stop_cuts_before_the_first_match(
    http: httpx.Client, stop: list[str] | str, stream: bool
) -> None:
    body = openai_body(COUNTING.question, stop=stop)
    result = openai_result(http, body, stream)
    assert (result["text"], result["finish_reason"]) == (TEXT_BEFORE_STOP, "stop")
