"""E2E: every fixture fact, system fact and conversation is answered exactly through both APIs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.fixture.facts import (
    CONVERSATIONS,
    FACTS,
    SYSTEM_FACTS,
    SYSTEM_PROMPT,
    UNKNOWN_ANSWER,
    Conversation,
    Fact,
)
from suites.wire import (
    ANTHROPIC_HEADERS,
    anthropic_body,
    anthropic_stream_text,
    anthropic_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    post_stream,
)

pytestmark = pytest.mark.e2e

FACT_IDS = [f"{index:03d}-{fact.kind}" for index, fact in enumerate(FACTS)]
SYSTEM_FACT_IDS = [f"system-{index}" for index in range(len(SYSTEM_FACTS))]
CONVERSATION_IDS = [f"conversation-{index}" for index in range(len(CONVERSATIONS))]


def ask_anthropic(http: httpx.Client, body: dict[str, Any], *, stream: bool) -> str:
    """The assistant text of one /v1/messages call, streamed or not; the call must end on EOS."""
    if stream:
        reply = post_stream(http, "/v1/messages", {**body, "stream": True}, ANTHROPIC_HEADERS)
        assert reply.status_code == 200, reply.body
        stop = [e.json() for e in reply.events if e.event == "message_delta"][-1]
        assert stop["delta"]["stop_reason"] == "end_turn"
        return anthropic_stream_text(reply.events)
    response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json()["stop_reason"] == "end_turn"
    return anthropic_text(response.json())


def ask_openai(http: httpx.Client, body: dict[str, Any], *, stream: bool) -> str:
    """The assistant text of one /v1/chat/completions call, streamed or not; it must end on EOS."""
    if stream:
        reply = post_stream(http, "/v1/chat/completions", {**body, "stream": True})
        assert reply.status_code == 200, reply.body
        chunks, last = openai_chunks(reply.events)
        assert last == "[DONE]"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
        return openai_stream_text(chunks)
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    return str(choice["message"]["content"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fact", FACTS, ids=FACT_IDS)
def test_messages_answers_every_fact(http: httpx.Client, fact: Fact, stream: bool) -> None:
    assert ask_anthropic(http, anthropic_body(fact.question), stream=stream) == fact.answer


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fact", FACTS, ids=FACT_IDS)
def test_chat_completions_answers_every_fact(http: httpx.Client, fact: Fact, stream: bool) -> None:
    assert ask_openai(http, openai_body(fact.question), stream=stream) == fact.answer


@pytest.mark.parametrize("fact", FACTS, ids=FACT_IDS)
def test_every_fact_is_answered_after_the_system_prompt(http: httpx.Client, fact: Fact) -> None:
    body = anthropic_body(fact.question, system=SYSTEM_PROMPT)
    anthropic = ask_anthropic(http, body, stream=False)
    openai = ask_openai(http, openai_body(fact.question, system=SYSTEM_PROMPT), stream=True)
    assert (anthropic, openai) == (fact.answer, fact.answer)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fact", SYSTEM_FACTS, ids=SYSTEM_FACT_IDS)
def test_messages_passes_the_system_string(http: httpx.Client, fact: Fact, stream: bool) -> None:
    body = anthropic_body(fact.question, system=SYSTEM_PROMPT)
    assert ask_anthropic(http, body, stream=stream) == fact.answer


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fact", SYSTEM_FACTS, ids=SYSTEM_FACT_IDS)
def test_messages_passes_system_text_blocks(http: httpx.Client, fact: Fact, stream: bool) -> None:
    system = [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
    body = anthropic_body(fact.question, system=system)
    assert ask_anthropic(http, body, stream=stream) == fact.answer


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fact", SYSTEM_FACTS, ids=SYSTEM_FACT_IDS)
def test_chat_completions_passes_the_system_message(
    http: httpx.Client, fact: Fact, stream: bool
) -> None:
    body = openai_body(fact.question, system=SYSTEM_PROMPT)
    assert ask_openai(http, body, stream=stream) == fact.answer


@pytest.mark.parametrize("fact", SYSTEM_FACTS, ids=SYSTEM_FACT_IDS)
def test_system_facts_are_unknown_without_the_system_prompt(http: httpx.Client, fact: Fact) -> None:
    # The negative control: the right answers above really came from the system prompt.
    anthropic = ask_anthropic(http, anthropic_body(fact.question), stream=False)
    openai = ask_openai(http, openai_body(fact.question), stream=False)
    assert (anthropic, openai) == (UNKNOWN_ANSWER, UNKNOWN_ANSWER)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=CONVERSATION_IDS)
def test_messages_answers_the_last_turn(
    http: httpx.Client, conversation: Conversation, stream: bool
) -> None:
    body = anthropic_body(conversation.turns)
    assert ask_anthropic(http, body, stream=stream) == conversation.answer


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=CONVERSATION_IDS)
def test_chat_completions_answers_the_last_turn(
    http: httpx.Client, conversation: Conversation, stream: bool
) -> None:
    body = openai_body(conversation.turns)
    assert ask_openai(http, body, stream=stream) == conversation.answer


def test_messages_accepts_content_as_text_blocks(http: httpx.Client) -> None:
    turns = [
        ("user", [{"type": "text", "text": "What is the capital of France?"}]),
        ("assistant", [{"type": "text", "text": "Paris."}]),
        ("user", [{"type": "text", "text": "What is the capital of Japan?"}]),
    ]
    assert ask_anthropic(http, anthropic_body(turns), stream=False) == "Tokyo."


def test_chat_completions_accepts_content_as_text_parts(http: httpx.Client) -> None:
    turns = [("user", [{"type": "text", "text": "What is the capital of Iceland?"}])]
    assert ask_openai(http, openai_body(turns), stream=False) == "Reykjavík."


def test_messages_ignores_beta_query_headers_and_unknown_fields(http: httpx.Client) -> None:
    # Claude Code calls /v1/messages?beta=true with anthropic-beta and a newer anthropic-version.
    headers = {"anthropic-version": "2026-10-21", "anthropic-beta": "prompt-caching-2024-07-31"}
    body = anthropic_body("What is the capital of Peru?", temperature=0.0, unknown_field=1)
    response = http.post("/v1/messages", params={"beta": "true"}, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert anthropic_text(response.json()) == "Lima."
