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



# -- JSON nested too deeply (issue 14, item 8) ----------------------------------------------------------

# The server's documented limit (server/validate.py, README "The server"): arrays and objects open at
# once, the top-level object counted. Deeper bodies get the 400 every other unparseable body gets.
MAX_JSON_DEPTH = 128
TOO_DEEP = f"the request body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"
_NEST_HERE = "__nest_here__"
# Levels that enclose the nested arrays: the top-level object; or it, `messages` and the first message.
_ENCLOSING = {"field": 1, "content": 3}


def say_ok_body(route: str) -> dict[str, Any]:
    """A valid body for `route` whose answer (or token count) is known."""
    if route == "chat":
        return _chat()
    if route == "count-tokens":
        return {"model": "fixture", "messages": [{"role": "user", "content": SAY_OK.question}]}
    return _messages()


NESTED_PATHS = {"messages": "/v1/messages", "count-tokens": "/v1/messages/count_tokens", "chat": "/v1/chat/completions"}


def nested_body(body: dict[str, Any], depth: int, where: str, *, ensure_ascii: bool = True) -> bytes:
    """`body` with arrays nested in a new top-level field (`where="field"`) or as the first message's
    content (`where="content"`), so that the whole body is exactly `depth` levels deep."""
    if where == "field":
        body = {**body, "nested": _NEST_HERE}
    else:
        body = {**body, "messages": [{"role": "user", "content": _NEST_HERE}]}
    levels = depth - _ENCLOSING[where]
    text = json.dumps(body, ensure_ascii=ensure_ascii).replace(json.dumps(_NEST_HERE), "[" * levels + "]" * levels)
    return text.encode()


def json_depth(value: Any) -> int:
    """Arrays and objects open at once in a parsed JSON value (iterative: bodies here are deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def post_raw(http: httpx.Client, path: str, raw: bytes) -> httpx.Response:
    return http.post(path, content=raw, headers={**ANTHROPIC_HEADERS, **_JSON})


def error_signature(response: httpx.Response) -> tuple[Any, ...]:
    """Everything of an error response but its message and request id."""
    body = response.json()
    error = body["error"]
    return (response.status_code, sorted(body), sorted(error), error["type"], error.get("param"), error.get("code"))


def assert_served_say_ok(http: httpx.Client, route: str, response: httpx.Response) -> None:
    """`response` is the normal answer to `say_ok_body(route)`."""
    assert response.status_code == 200, response.text
    body = response.json()
    if route == "chat":
        assert body["choices"][0]["message"]["content"] == SAY_OK.answer
    elif route == "count-tokens":
        plain = http.post(NESTED_PATHS[route], json=say_ok_body(route), headers=ANTHROPIC_HEADERS)
        assert plain.status_code == 200, plain.text
        assert body == plain.json()
        assert body["input_tokens"] > 0
    else:
        assert anthropic_text(body) == SAY_OK.answer


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 50_000])
@pytest.mark.parametrize("where", ["field", "content"])
@pytest.mark.parametrize("route", list(NESTED_PATHS))
def test_body_nested_beyond_the_limit_gets_the_invalid_json_400(
    http: httpx.Client, route: str, where: str, depth: int
) -> None:
    path = NESTED_PATHS[route]
    raw = nested_body(say_ok_body(route), depth, where)
    levels = depth - _ENCLOSING[where]
    assert (raw.count(b"[" * levels), raw.count(b"[")) == (1, levels + 1)  # one run, plus `messages`
    deep = post_raw(http, path, raw)
    assert_error_shape(deep, BadRequest(f"{route}-nested-{depth}", "POST", path, 400, _INVALID))
    assert deep.json()["error"]["message"] == TOO_DEEP
    # The same API-shaped error as any other body that is not usable JSON.
    malformed = post_raw(http, path, b'{"model": "fixture", "messages": [')
    assert malformed.status_code == 400
    assert error_signature(deep) == error_signature(malformed)
    if route == "chat":
        assert (deep.json()["error"]["param"], deep.json()["error"]["code"]) == (None, None)
    # Still serving, on the same connection.
    good = http.post(path, json=say_ok_body(route), headers=ANTHROPIC_HEADERS)
    assert_served_say_ok(http, route, good)
    assert local_address(good) == local_address(deep)


@pytest.mark.parametrize("route", list(NESTED_PATHS))
def test_body_nested_exactly_at_the_limit_is_served(http: httpx.Client, route: str) -> None:
    raw = nested_body(say_ok_body(route), MAX_JSON_DEPTH, "field")
    assert json_depth(json.loads(raw)) == MAX_JSON_DEPTH
    response = post_raw(http, NESTED_PATHS[route], raw)
    assert_served_say_ok(http, route, response)


@pytest.mark.parametrize("route", list(NESTED_PATHS))
def test_content_nested_at_the_limit_gets_the_usual_content_error(http: httpx.Client, route: str) -> None:
    path = NESTED_PATHS[route]
    raw = nested_body(say_ok_body(route), MAX_JSON_DEPTH, "content")
    assert json_depth(json.loads(raw)) == MAX_JSON_DEPTH
    response = post_raw(http, path, raw)
    assert_error_shape(response, BadRequest(f"{route}-content-at-limit", "POST", path, 400, _INVALID))
    assert response.json()["error"]["message"] == "messages[0].content[0]: only text content is supported, got 'list'"
    if route == "chat":
        assert response.json()["error"]["param"] == "messages[0].content"


@pytest.mark.parametrize("route", list(NESTED_PATHS))
def test_brackets_inside_strings_are_not_nesting(http: httpx.Client, route: str) -> None:
    # Thousands of brackets in strings: after an escaped quote, and in a string that follows one ending
    # in an escaped backslash.
    body = {**say_ok_body(route), "note": "[{" * 3000, "quoted": 'say "' + "[" * 500 + '" twice',
            "paths": ["C:\\", "[" * 500, {"\\": "{" * 500}]}
    raw = json.dumps(body).encode()
    assert b'\\"' + b"[" * 500 in raw and b'\\\\", "' + b"[" * 500 in raw
    assert_served_say_ok(http, route, post_raw(http, NESTED_PATHS[route], raw))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_bodies_are_measured_as_text(http: httpx.Client, encoding: str) -> None:
    # In UTF-16 "\u225b" is the bytes of '[' and '"', "\u5b5b" those of '[['; they are text all the same.
    lookalikes = "\u225b" + "\u5b5b" * 300
    assert lookalikes.encode("utf-16-le")[:4] == b'["[['
    for route, path, body in (("messages", "/v1/messages", _messages()), ("chat", "/v1/chat/completions", _chat())):
        raw = nested_body(body, 50_000, "field").decode().encode(encoding)
        response = post_raw(http, path, raw)
        assert_error_shape(response, BadRequest(f"{encoding}-nested", "POST", path, 400, _INVALID))
        assert response.json()["error"]["message"] == TOO_DEEP
        at_limit = nested_body({**body, "note": lookalikes}, MAX_JSON_DEPTH, "field", ensure_ascii=False)
        assert_served_say_ok(http, route, post_raw(http, path, at_limit.decode().encode(encoding)))


def test_a_client_that_hangs_up_mid_body_is_logged_without_a_traceback(live_server, http: httpx.Client) -> None:
    import socket
    import time

    from suites.serverproc import HOST

    with socket.create_connection((HOST, live_server.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n"
                     b"content-length: 500\r\n\r\n{\"model\": \"m\", \"max_")
    deadline = time.monotonic() + 5
    while "disconnected" not in live_server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = live_server.log_text()
    assert "client disconnected before its request body was complete" in log
    assert "Traceback" not in log
    reply = http.post("/v1/messages", json=say_ok_body("messages"))
    assert reply.status_code == 200
    assert reply.json()["content"][0]["text"] == SAY_OK.answer
