"""E2E: usage agrees with count_tokens and the tokenizer; an agent's second turn reads its cache."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from server.fixture.facts import CONVERSATIONS, FACTS, SYSTEM_FACTS, SYSTEM_PROMPT, Fact
from suites.wire import (
    ANTHROPIC_HEADERS,
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

# One of each kind, including multi-byte answers, so token counting meets UTF-8 edges.
SAMPLED = [
    next(fact for fact in FACTS if fact.kind == kind)
    for kind in ("capital", "sum", "say", "fact", "long")
] + [
    next(fact for fact in FACTS if fact.answer == "Brasília."),
    next(fact for fact in FACTS if fact.answer == "smile 🙂"),
    next(fact for fact in FACTS if fact.answer == "こんにちは"),
]
SAMPLED_IDS = [repr(fact.answer[:16]) for fact in SAMPLED]


def count_tokens(http: httpx.Client, body: dict[str, Any]) -> int:
    """/v1/messages/count_tokens for the messages and system of an Anthropic body."""
    counted = {key: body[key] for key in ("model", "messages", "system") if key in body}
    response = http.post("/v1/messages/count_tokens", json=counted, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    return int(response.json()["input_tokens"])


def anthropic_prompt_total(usage: dict[str, Any]) -> int:
    """Anthropic splits the prompt into uncached, cache-read and cache-written tokens."""
    return int(
        usage["input_tokens"]
        + usage["cache_read_input_tokens"]
        + usage["cache_creation_input_tokens"]
    )


@pytest.mark.parametrize("system", [None, SYSTEM_PROMPT], ids=["no-system", "system"])
@pytest.mark.parametrize("fact", SAMPLED, ids=SAMPLED_IDS)
def test_anthropic_usage_matches_count_tokens_and_the_streamed_text(
    http: httpx.Client, fact: Fact, system: str | None
) -> None:
    body = anthropic_body(fact.question, system=system)
    whole = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    streamed = post_stream(http, "/v1/messages", {**body, "stream": True}, ANTHROPIC_HEADERS)
    assert (whole.status_code, streamed.status_code) == (200, 200)
    text = anthropic_stream_text(streamed.events)
    start_usage = streamed.events[0].json()["message"]["usage"]
    final_usage = streamed.events[-2].json()["usage"]
    expected_prompt = count_tokens(http, body)
    assert text == fact.answer
    assert anthropic_prompt_total(whole.json()["usage"]) == expected_prompt
    assert anthropic_prompt_total(start_usage) == expected_prompt
    assert whole.json()["usage"]["output_tokens"] == len(token_ids(text))
    assert final_usage["output_tokens"] == len(token_ids(text))


@pytest.mark.parametrize("system", [None, SYSTEM_PROMPT], ids=["no-system", "system"])
@pytest.mark.parametrize("fact", SAMPLED, ids=SAMPLED_IDS)
def test_openai_usage_matches_count_tokens_and_the_streamed_text(
    http: httpx.Client, fact: Fact, system: str | None
) -> None:
    body = openai_body(fact.question, system=system)
    whole = http.post("/v1/chat/completions", json=body)
    streamed = post_stream(
        http, "/v1/chat/completions",
        {**body, "stream": True, "stream_options": {"include_usage": True}},
    )
    assert (whole.status_code, streamed.status_code) == (200, 200)
    chunks, _ = openai_chunks(streamed.events)
    text = openai_stream_text(chunks)
    expected_prompt = count_tokens(http, anthropic_body(fact.question, system=system))
    expected_completion = len(token_ids(text))
    assert text == fact.answer
    for usage in (whole.json()["usage"], chunks[-1]["usage"]):
        assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
            expected_prompt, expected_completion, expected_prompt + expected_completion,
        )


def test_count_tokens_counts_the_system_prompt_and_every_turn(http: httpx.Client) -> None:
    conversation = CONVERSATIONS[0]
    bare = count_tokens(http, anthropic_body(conversation.turns[-1][1]))
    last_question = conversation.turns[-1][1]
    with_system = count_tokens(http, anthropic_body(last_question, system=SYSTEM_PROMPT))
    whole_chat = count_tokens(http, anthropic_body(conversation.turns))
    # The system prompt is >= 300 tokens by contract; earlier turns only ever add tokens.
    assert with_system - bare >= 300
    assert whole_chat > bare
    # The count is the prompt a real request of the same conversation is charged for.
    reply = http.post("/v1/messages", json=anthropic_body(conversation.turns), headers=ANTHROPIC_HEADERS)
    assert reply.status_code == 200
    assert anthropic_text(reply.json()) == conversation.answer
    assert anthropic_prompt_total(reply.json()["usage"]) == whole_chat


def _anthropic_turn(
    http: httpx.Client, turns: list[tuple[str, str]], how: str, agent: str
) -> tuple[str, int, int]:
    """One agent turn via /v1/messages: (answer, prompt tokens, cache-read tokens)."""
    headers = dict(ANTHROPIC_HEADERS)
    extra: dict[str, Any] = {}
    if how == "header":
        headers["x-agent-id"] = agent
    else:
        extra["metadata"] = {"user_id": agent}
    body = anthropic_body(turns, system=SYSTEM_PROMPT, **extra)
    response = http.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == 200, response.text
    message = response.json()
    assert anthropic_prompt_total(message["usage"]) == count_tokens(http, body)
    answer = message["content"][0]["text"]
    cached = message["usage"]["cache_read_input_tokens"]
    return answer, anthropic_prompt_total(message["usage"]), cached


def _openai_turn(
    http: httpx.Client, turns: list[tuple[str, str]], how: str, agent: str
) -> tuple[str, int, int]:
    """One agent turn via /v1/chat/completions: (answer, prompt tokens, cached tokens)."""
    headers = {"x-agent-id": agent} if how == "header" else {}
    extra = {"user": agent} if how == "user" else {}
    body = openai_body(turns, system=SYSTEM_PROMPT, **extra)
    response = http.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    completion = response.json()
    usage = completion["usage"]
    assert usage["prompt_tokens"] == count_tokens(http, anthropic_body(turns, system=SYSTEM_PROMPT))
    answer = completion["choices"][0]["message"]["content"]
    return answer, usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"]


@pytest.mark.parametrize(
    ("api", "how"),
    [("anthropic", "header"), ("anthropic", "metadata"), ("openai", "header"), ("openai", "user")],
)
def test_an_agents_second_turn_reads_its_cached_prefix(
    http: httpx.Client, api: str, how: str
) -> None:
    agent = f"e2e-{api}-{how}-{uuid.uuid4().hex}"
    turn = _anthropic_turn if api == "anthropic" else _openai_turn
    first_q, second_q = SYSTEM_FACTS[0], SYSTEM_FACTS[1]
    answer, first_prompt, first_cached = turn(http, [("user", first_q.question)], how, agent)
    assert answer == first_q.answer
    turns = [("user", first_q.question), ("assistant", answer), ("user", second_q.question)]
    second_answer, second_prompt, second_cached = turn(http, turns, how, agent)
    assert second_answer == second_q.answer
    # The second prompt extends the first, so the agent's cache must serve more than before.
    assert second_cached > first_cached
    assert second_cached <= second_prompt
    assert second_cached >= first_prompt // 2
