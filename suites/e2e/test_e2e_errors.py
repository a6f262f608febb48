"""E2E: each bad request gets its exact status and API-shaped error; the connection survives."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from suites.wire import (
    ANTHROPIC_HEADERS,
    SAY_OK,
    anthropic_body,
    anthropic_text,
    context_length,
    token_ids,
)

pytestmark = pytest.mark.e2e

MAX_TOKENS_LIMIT = 4096  # the server's default --max-tokens-limit


def over_context_text() -> str:
    """A user message whose tokens alone exceed the model's context length."""
    unit = "the quick brown fox "
    repeats = 2 * context_length() // max(1, len(token_ids(unit))) + 16  # BPE merges across repeats
    text = unit * repeats
    assert len(token_ids(text)) > context_length()
    return text


@dataclass(frozen=True)
class BadRequest:
    """One malformed request and the exact error the server must answer with."""

    name: str
    method: str
    path: str
    status: int
    error_type: str
    # A zero-argument callable is called at test time (the over-context text needs the tokenizer).
    json_body: Any = None
    raw_body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def anthropic_shaped(self) -> bool:
        """Anthropic routes answer in Anthropic's error shape, everything else in OpenAI's."""
        return self.path.startswith("/v1/messages")


def _messages(**changes: Any) -> dict[str, Any]:
    body = anthropic_body(SAY_OK.question)
    body.update(changes)
    return {key: value for key, value in body.items() if value is not _DROP}


def _chat(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "fixture", "messages": [{"role": "user", "content": "Say OK"}]}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not _DROP}


def _over_context_turn() -> dict[str, str]:
    return {"role": "user", "content": over_context_text()}


_DROP = object()
_JSON = {"content-type": "application/json"}
_INVALID = "invalid_request_error"

BAD_REQUESTS = [
    # Anthropic /v1/messages
    BadRequest("messages-malformed-json", "POST", "/v1/messages", 400, _INVALID,
               raw_body=b'{"model": "fixture", "max_tokens": ', headers=_JSON),
    BadRequest("messages-empty-body", "POST", "/v1/messages", 400, _INVALID,
               raw_body=b"", headers=_JSON),
    BadRequest("messages-json-array", "POST", "/v1/messages", 400, _INVALID, json_body=[1, 2]),
    BadRequest("messages-missing-max-tokens", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(max_tokens=_DROP)),
    BadRequest("messages-missing-messages", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages=_DROP)),
    BadRequest("messages-empty-messages", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages=[])),
    BadRequest("messages-messages-not-a-list", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages={"role": "user", "content": "Say OK"})),
    BadRequest("messages-system-role-in-messages", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages=[{"role": "system", "content": "Say OK"}])),
    BadRequest("messages-unknown-role", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages=[{"role": "wizard", "content": "Say OK"}])),
    BadRequest("messages-content-number", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages=[{"role": "user", "content": 42}])),
    BadRequest("messages-text-block-without-text", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(messages=[{"role": "user", "content": [{"type": "text"}]}])),
    BadRequest("messages-max-tokens-zero", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(max_tokens=0)),
    BadRequest("messages-max-tokens-negative", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(max_tokens=-1)),
    BadRequest("messages-max-tokens-string", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(max_tokens="ten")),
    BadRequest("messages-max-tokens-over-limit", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(max_tokens=MAX_TOKENS_LIMIT + 1)),
    BadRequest("messages-stop-sequences-number", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(stop_sequences=5)),
    BadRequest("messages-system-number", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(system=7)),
    BadRequest("messages-temperature-string", "POST", "/v1/messages", 400, _INVALID,
               json_body=_messages(temperature="hot")),
    BadRequest("messages-prompt-over-context", "POST", "/v1/messages", 400, _INVALID,
               json_body=lambda: _messages(messages=[_over_context_turn()])),
    BadRequest("messages-wrong-method", "GET", "/v1/messages", 405, _INVALID),
    BadRequest("messages-unknown-subroute", "POST", "/v1/messages/batches", 404, "not_found_error",
               json_body={}),
    BadRequest("count-tokens-malformed-json", "POST", "/v1/messages/count_tokens", 400, _INVALID,
               raw_body=b"{]", headers=_JSON),
    BadRequest("count-tokens-missing-messages", "POST", "/v1/messages/count_tokens", 400, _INVALID,
               json_body={"model": "fixture"}),
    BadRequest("count-tokens-unknown-role", "POST", "/v1/messages/count_tokens", 400, _INVALID,
               json_body={"model": "fixture", "messages": [{"role": "tool", "content": "x"}]}),
    # OpenAI /v1/chat/completions and the other routes
    BadRequest("chat-malformed-json", "POST", "/v1/chat/completions", 400, _INVALID,
               raw_body=b'{"messages": [', headers=_JSON),
    BadRequest("chat-missing-messages", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(messages=_DROP)),
    BadRequest("chat-empty-messages", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(messages=[])),
    BadRequest("chat-messages-string", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(messages="Say OK")),
    BadRequest("chat-unknown-role", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(messages=[{"role": "wizard", "content": "Say OK"}])),
    BadRequest("chat-content-number", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(messages=[{"role": "user", "content": 42}])),
    BadRequest("chat-n-2", "POST", "/v1/chat/completions", 400, _INVALID, json_body=_chat(n=2)),
    BadRequest("chat-max-tokens-zero", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(max_tokens=0)),
    BadRequest("chat-max-tokens-negative", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(max_tokens=-1)),
    BadRequest("chat-max-completion-tokens-over-limit", "POST", "/v1/chat/completions", 400,
               _INVALID,
               json_body=_chat(max_completion_tokens=MAX_TOKENS_LIMIT + 1)),
    BadRequest("chat-stream-not-boolean", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(stream="maybe")),
    BadRequest("chat-temperature-string", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=_chat(temperature="hot")),
    BadRequest("chat-prompt-over-context", "POST", "/v1/chat/completions", 400, _INVALID,
               json_body=lambda: _chat(messages=[_over_context_turn()])),
    BadRequest("chat-wrong-method", "GET", "/v1/chat/completions", 405, _INVALID),
    BadRequest("models-wrong-method", "POST", "/v1/models", 405, _INVALID, json_body={}),
    BadRequest("unknown-route", "POST", "/v1/completions/nope", 404, _INVALID, json_body={}),
    BadRequest("unknown-root-route", "GET", "/nope", 404, _INVALID),
]


def assert_error_shape(response: httpx.Response, case: BadRequest) -> None:
    """The exact status and the exact API-shaped error body for `case`."""
    assert response.status_code == case.status, response.text
    body = response.json()
    if case.anthropic_shaped:
        assert set(body) == {"type", "error", "request_id"}
        assert body["type"] == "error"
        assert set(body["error"]) == {"type", "message"}
        assert body["request_id"] == response.headers["request-id"]
    else:
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == case.error_type
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"].strip() != ""


def local_address(response: httpx.Response) -> tuple[str, int]:
    """The client-side socket address that carried `response` (identifies the connection)."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[case.name for case in BAD_REQUESTS])
def test_bad_request_gets_an_exact_error_and_the_connection_survives(
    http: httpx.Client, case: BadRequest
) -> None:
    content = case.raw_body if case.raw_body is not None else None
    payload = case.json_body() if callable(case.json_body) else case.json_body
    if payload is not None:
        content = json.dumps(payload).encode()
    headers = {**ANTHROPIC_HEADERS, **_JSON, **case.headers} if content is not None else {}
    bad = http.request(case.method, case.path, content=content, headers=headers)
    assert_error_shape(bad, case)
    good_body = anthropic_body(SAY_OK.question)
    good = http.post("/v1/messages", json=good_body, headers=ANTHROPIC_HEADERS)
    assert good.status_code == 200
    assert anthropic_text(good.json()) == "OK"
    host, port = local_address(bad)
    assert (host, port > 0) == ("127.0.0.1", True)
    assert local_address(good) == (host, port)

