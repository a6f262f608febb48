"""E2E: the official anthropic and openai Python SDKs talk to the live server unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from server.fixture.facts import SYSTEM_FACTS, SYSTEM_PROMPT
from suites.serverproc import ServerProcess
from suites.wire import COUNTING, HTTP_TIMEOUT_S, token_ids

pytestmark = pytest.mark.e2e

ANTHROPIC_MODEL = "claude-local-fixture"
OPENAI_MODEL = "gpt-4o-mini"
QUILL = SYSTEM_FACTS[0]


@pytest.fixture
def anthropic_client(live_server: ServerProcess) -> Iterator[anthropic.Anthropic]:
    """An Anthropic SDK client pointed at the live server, with retries off so errors surface."""
    with anthropic.Anthropic(
        base_url=live_server.base_url, api_key="sk-unused", max_retries=0, timeout=HTTP_TIMEOUT_S
    ) as client:
        yield client


@pytest.fixture
def openai_client(live_server: ServerProcess) -> Iterator[openai.OpenAI]:
    """An OpenAI SDK client pointed at the live server's /v1, with retries off."""
    with openai.OpenAI(
        base_url=f"{live_server.base_url}/v1", api_key="sk-unused", max_retries=0,
        timeout=HTTP_TIMEOUT_S,
    ) as client:
        yield client


def test_anthropic_sdk_messages_create(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=64,
        system=SYSTEM_PROMPT,
        messages=[{"role": "user", "content": QUILL.question}],
    )
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == QUILL.answer
    assert (message.model, message.role, message.stop_reason) == (
        ANTHROPIC_MODEL, "assistant", "end_turn",
    )
    assert message.usage.output_tokens == len(token_ids(QUILL.answer))
    counted = anthropic_client.messages.count_tokens(
        model=ANTHROPIC_MODEL, system=SYSTEM_PROMPT,
        messages=[{"role": "user", "content": QUILL.question}],
    )
    usage = message.usage
    prompt = usage.input_tokens + (usage.cache_read_input_tokens or 0)
    assert prompt + (usage.cache_creation_input_tokens or 0) == counted.input_tokens


def test_anthropic_sdk_stream_final_message(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": COUNTING.question}],
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == COUNTING.answer
    assert final.content[0].text == COUNTING.answer
    assert (final.stop_reason, final.model) == ("end_turn", ANTHROPIC_MODEL)
    assert final.usage.output_tokens == len(token_ids(COUNTING.answer))


def test_anthropic_sdk_max_tokens_stop(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=5,
        messages=[{"role": "user", "content": COUNTING.question}],
    )
    assert (message.content[0].text, message.stop_reason) == ("1, 2, 3", "max_tokens")
    assert message.usage.output_tokens == 5


def test_anthropic_sdk_raises_bad_request_for_invalid_input(
    anthropic_client: anthropic.Anthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        anthropic_client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=0, messages=[{"role": "user", "content": "Say OK"}]
        )
    assert raised.value.status_code == 400
    assert raised.value.body["error"]["type"] == "invalid_request_error"


def test_openai_sdk_chat_completion(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": QUILL.question},
        ],
        max_tokens=64,
    )
    choice = completion.choices[0]
    assert (choice.message.role, choice.message.content) == ("assistant", QUILL.answer)
    assert (choice.finish_reason, completion.model) == ("stop", OPENAI_MODEL)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(token_ids(QUILL.answer))
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_openai_sdk_streamed_chat_completion(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": COUNTING.question}],
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    reasons = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert text == COUNTING.answer
    assert reasons[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(token_ids(COUNTING.answer))


def test_openai_sdk_length_finish(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": COUNTING.question}], max_tokens=5
    )
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == (
        "1, 2, 3", "length",
    )


def test_openai_sdk_raises_bad_request_for_n_2(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "Say OK"}], n=2
        )
    assert raised.value.status_code == 400
    assert raised.value.type == "invalid_request_error"
