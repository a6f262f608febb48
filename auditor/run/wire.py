"""The library-neutral request and reply a sabotage mode sees, and the bodies modes make up.

:mod:`auditor.run.sabotage_http` adapts httpx, httpx2 and requests objects to :class:`Request` and
:class:`Reply` and back; nothing here knows any HTTP library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "SPARE_HEADER",
    "STRUCTURAL_KEYS",
    "TEXT_KEYS",
    "NO_RETRY",
    "Reply",
    "Request",
    "error_body",
    "event_data",
    "json_of",
    "json_reply",
    "map_event_data",
    "success_body",
]

#: A request with this header is never sabotaged: for a test harness's own plumbing, such as polling a server
#: it starts until it is ready, which no mode should turn into "the server never came up".
SPARE_HEADER = "x-auditor-spare"

#: JSON keys whose values give a response its shape; garbage keeps them so the schema stays right.
STRUCTURAL_KEYS = frozenset({"type", "role", "object", "stop_reason", "finish_reason", "index", "event"})
#: Keys that hold generated text in the Anthropic and OpenAI APIs.
TEXT_KEYS = frozenset({"text", "content", "partial_json", "thinking", "message"})


@dataclass(frozen=True)
class Request:
    """The request a test sent, as a mode sees it."""

    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""

    @property
    def path(self) -> str:
        """URL path without the query string."""
        return urlsplit(self.url).path

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def wants_stream(self) -> bool:
        """True when the client asked for server-sent events (``Accept`` or a JSON ``"stream": true``)."""
        if "text/event-stream" in self.headers.get("accept", ""):
            return True
        data = self.json()
        return isinstance(data, dict) and data.get("stream") is True

    @property
    def api(self) -> str:
        """``anthropic``, ``openai`` or ``generic``: whose response shapes this request expects."""
        path = self.path.rstrip("/")
        if "anthropic-version" in self.headers or path.endswith(("/messages", "/messages/count_tokens", "/complete")):
            return "anthropic"
        if path.endswith(("/chat/completions", "/completions", "/embeddings", "/responses", "/models")):
            return "openai"
        return "generic"

    @property
    def prompt(self) -> str:
        """The request's own prompt: the last user turn, else a prompt field, else the body or the URL path."""
        data = self.json()
        if isinstance(data, dict):
            messages = data.get("messages")
            if isinstance(messages, list):
                for message in reversed(messages):
                    if isinstance(message, dict) and message.get("role") == "user":
                        return text_of(message.get("content"))
            for key in ("prompt", "input", "text", "query"):
                if isinstance(data.get(key), str):
                    return data[key]
        if self.body:
            return self.body.decode("utf-8", "replace")
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Reply:
    """A response: the server's real one, or the one a mode makes the test see."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""

    @property
    def is_sse(self) -> bool:
        """True for a server-sent-event stream."""
        return "text/event-stream" in self.headers.get("content-type", "")


#: Sent with every made-up answer: the anthropic and openai SDKs would otherwise retry a 5xx with back-off,
#: and every retry would get the same sabotaged answer after seconds of waiting.
NO_RETRY = {"x-should-retry": "false"}
#: Headers that describe the real body's encoding, wrong once the body is replaced.
_BODY_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})


def error_body(api: str, status: int, text: str) -> dict[str, Any]:
    """An error body in the shape of ``api`` (Anthropic, OpenAI, else FastAPI's ``detail``)."""
    if api == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": text}}
    if api == "openai":
        return {"error": {"message": text, "type": "server_error", "param": None, "code": str(status)}}
    return {"detail": text}


def json_reply(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON reply, keeping ``headers`` except those about the old body's encoding."""
    kept = {k: v for k, v in (headers or {}).items() if k not in _BODY_HEADERS}
    kept["content-type"] = "application/json"
    kept.update(NO_RETRY)
    return Reply(status, kept, json.dumps(data, ensure_ascii=False).encode())


def success_body(request: Request) -> dict[str, Any] | None:
    """A minimal success answer in the shape of the API ``request`` called (``None`` for a generic API)."""
    if request.api == "anthropic":
        return {"id": "msg_auditor", "type": "message", "role": "assistant", "model": "auditor",
                "content": [{"type": "text", "text": "OK"}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1}}
    if request.api == "openai":
        return {"id": "chatcmpl-auditor", "object": "chat.completion", "created": 0, "model": "auditor",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    return None


def event_data(event: bytes) -> Any:
    """The JSON ``data`` of one SSE event, or ``None`` (no data, or data that is not JSON such as ``[DONE]``)."""
    lines = event.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n").split("\n")
    data_lines = [line.partition(":")[2].removeprefix(" ") for line in lines if line.startswith("data:")]
    return json_of("\n".join(data_lines).encode()) if data_lines else None


def map_event_data(event: bytes, change: Callable[[Any], Any]) -> bytes:
    """One SSE event with ``change`` applied to its JSON ``data`` (non-JSON data such as ``[DONE]`` is kept)."""
    data = event_data(event)
    if data is None:
        return event
    lines = event.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n").split("\n")
    others = [line for line in lines if not line.startswith("data:")]
    payload = json.dumps(change(data), ensure_ascii=False)
    return ("\n".join([*others, f"data: {payload}"]) + "\n\n").encode()


def json_of(body: bytes) -> Any:
    """``body`` parsed as JSON, or ``None`` when it is empty or not JSON."""
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""
