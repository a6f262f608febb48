"""Request builders, a strict SSE parser and token oracles shared by the smoke and e2e suites."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
from tokenizers import Tokenizer

from server.fixture import MODEL_DIR
from server.fixture.facts import FACTS, Fact

# Well above any single fixture-model answer (milliseconds), low enough that a hang fails fast.
HTTP_TIMEOUT_S = 30.0
# Generous for answers of at most ~70 tokens; the exact limit only matters in the max_tokens tests.
DEFAULT_MAX_TOKENS = 128
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
SAY_OK: Fact = next(fact for fact in FACTS if fact.question == "Say OK")
COUNTING: Fact = next(fact for fact in FACTS if fact.question == "Count from 1 to 20.")


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event: its `event:` name (None when absent) and its joined `data:` lines."""

    event: str | None
    data: str

    def json(self) -> Any:
        """The data payload decoded as JSON."""
        return json.loads(self.data)


@dataclass(frozen=True)
class StreamedResponse:
    """A streamed HTTP response read to its end: status, headers, raw body and parsed events."""

    status_code: int
    headers: httpx.Headers
    body: str
    events: tuple[SSEEvent, ...]


def parse_sse(body: str) -> tuple[SSEEvent, ...]:
    """Parse an SSE body strictly: every block is `event:`/`data:` lines ended by a blank line."""
    if body and not body.endswith("\n\n"):
        raise ValueError(f"SSE body does not end with a blank line: {body[-80:]!r}")
    events: list[SSEEvent] = []
    for block in body.split("\n\n"):
        if not block:
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"malformed SSE line {line!r}")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field != "":  # a line starting with ':' is a comment, allowed by the SSE spec
                raise ValueError(f"unexpected SSE field {field!r} in {block!r}")
        if data:
            events.append(SSEEvent(name, "\n".join(data)))
    return tuple(events)


def post_stream(
    client: httpx.Client,
    path: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> StreamedResponse:
    """POST `payload` and read the whole streamed reply."""
    with client.stream("POST", path, json=dict(payload), headers=dict(headers or {})) as response:
        body = "".join(response.iter_text())
        return StreamedResponse(response.status_code, response.headers, body, parse_sse(body))


# -- request bodies -------------------------------------------------------------------------------


def anthropic_body(
    messages: Sequence[tuple[str, Any]] | str,
    *,
    system: str | list[dict[str, str]] | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    stream: bool = False,
    model: str = "fixture",
    **extra: Any,
) -> dict[str, Any]:
    """An Anthropic /v1/messages body; a bare string is one user turn."""
    turns = [("user", messages)] if isinstance(messages, str) else list(messages)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": role, "content": content} for role, content in turns],
    }
    if system is not None:
        body["system"] = system
    if stream:
        body["stream"] = True
    body.update(extra)
    return body


def openai_body(
    messages: Sequence[tuple[str, Any]] | str,
    *,
    system: str | None = None,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    stream: bool = False,
    model: str = "fixture",
    **extra: Any,
) -> dict[str, Any]:
    """An OpenAI /v1/chat/completions body; a bare string is one user turn."""
    turns = [("user", messages)] if isinstance(messages, str) else list(messages)
    if system is not None:
        turns.insert(0, ("system", system))
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": role, "content": content} for role, content in turns],
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream:
        body["stream"] = True
    body.update(extra)
    return body


# -- reading replies ------------------------------------------------------------------------------


def anthropic_text(message: Mapping[str, Any]) -> str:
    """Concatenated text of a non-streamed Anthropic message (which must hold only text blocks)."""
    blocks = message["content"]
    assert [block["type"] for block in blocks] == ["text"] * len(blocks)
    return "".join(block["text"] for block in blocks)


def anthropic_stream_text(events: Sequence[SSEEvent]) -> str:
    """Joined text_delta pieces of a streamed Anthropic message."""
    pieces = []
    for event in events:
        payload = event.json()
        if payload["type"] == "content_block_delta":
            assert payload["delta"]["type"] == "text_delta"
            pieces.append(payload["delta"]["text"])
    return "".join(pieces)


def openai_chunks(events: Sequence[SSEEvent]) -> tuple[list[dict[str, Any]], str]:
    """Decoded JSON chunks of an OpenAI stream and the final raw data line (expected `[DONE]`)."""
    assert events, "empty OpenAI stream"
    chunks = [json.loads(event.data) for event in events[:-1]]
    return chunks, events[-1].data


def openai_stream_text(chunks: Sequence[Mapping[str, Any]]) -> str:
    """Joined delta.content of an OpenAI stream."""
    return "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )


# -- token oracles -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def tokenizer() -> Tokenizer:
    """The fixture model's own tokenizer, loaded from its tokenizer.json (no MLX needed)."""
    return Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))


def token_ids(text: str) -> list[int]:
    """Token ids of `text` as the model was trained to emit it (no special tokens)."""
    return tokenizer().encode(text, add_special_tokens=False).ids


def first_tokens_text(text: str, count: int) -> str:
    """The text of the first `count` tokens of `text`: what a max_tokens cut must return."""
    return tokenizer().decode(token_ids(text)[:count])


def context_length() -> int:
    """The model's context length as declared in its config.json."""
    config = json.loads((MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    return int(config["max_position_embeddings"])
