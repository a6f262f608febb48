"""Sabotage modes: what a test sees instead of the server's real answer while ``auditor probe`` runs it.

A mode (:class:`SabotageMode`) is consulted by :mod:`auditor.run.intercept` for every HTTP request a test makes
during its call phase, in this order:

1. ``replace(request)`` may answer without asking the server at all. ``not-implemented``, ``server-error``
   and ``empty`` do: a server that does not implement a route does no work either, and it makes these
   probes nearly free.
2. Otherwise the real request is sent. ``rewrite(request, reply)`` may change a whole reply (its body
   already read); a server-sent-event reply goes to ``rewrite_stream(request, reply)`` instead, which may
   return an :data:`EventRewriter` applied to one event at a time as the stream arrives.
3. ``stretch`` above 1 makes the test see every part of the answer that many times later: the headers,
   then each chunk (``slow`` stretches by 10).

Modes see library-neutral :class:`Request` and :class:`Reply` objects (bytes and lower-case headers); the
interceptor adapts them to httpx, httpx2 and requests. A user-defined mode (``[tool.auditor.probes.NAME]``)
is a built-in mode under its own name plus the environment its suite runs with (see ``docs/probes.md``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = [
    "BUILTIN_MODES",
    "SPARE_HEADER",
    "BuiltinMode",
    "EventRewriter",
    "Reply",
    "Request",
    "SabotageMode",
    "get_mode",
]

#: Rewrites one SSE event (its bytes, blank line included): the new bytes, ``b""`` to drop it, ``None`` to end
#: the stream there (the rest of the server's stream is discarded).
EventRewriter = Callable[[bytes], "bytes | None"]

#: A request with this header is never sabotaged: for a test harness's own plumbing, such as polling a server
#: it starts until it is ready, which no mode should turn into "the server never came up".
SPARE_HEADER = "x-auditor-spare"

#: JSON keys whose values give a response its shape; garbage keeps them so the schema stays right.
STRUCTURAL_KEYS = frozenset({"type", "role", "object", "stop_reason", "finish_reason", "index", "event"})
#: Keys that hold generated text in the Anthropic and OpenAI APIs.
TEXT_KEYS = frozenset({"text", "content", "partial_json", "thinking", "message"})

_WORDS = ("apple", "river", "copper", "lantern", "orbit", "velvet", "meadow", "quartz", "harbor", "pepper",
          "signal", "tundra", "violin", "walnut", "yonder", "zephyr", "basalt", "cobalt", "ember", "fjord",
          "glacier", "hollow", "ivory", "juniper", "kettle", "lumen", "marble", "nectar", "oyster", "prism")


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
                        return _text_of(message.get("content"))
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


class SabotageMode(Protocol):
    """What :mod:`auditor.run.intercept` expects of a mode (see the module docstring for the order of calls)."""

    name: str
    #: The test sees every part of the answer this many times later than it arrived (1.0: no delay).
    stretch: float
    #: False when ``rewrite`` never changes a whole reply, so bodies need not be read ahead of the test.
    rewrites_bodies: bool

    def replace(self, request: Request) -> Reply | None:
        """The whole answer, made without asking the server; ``None`` sends the real request."""

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        """The reply the test sees instead of the server's whole ``reply``; ``None`` leaves it alone."""

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        """A per-event rewriter for the SSE ``reply`` (headers only, body empty); ``None`` leaves it alone."""


class BuiltinMode:
    """Base of the built-in modes: it changes nothing until a subclass says otherwise."""

    name = ""
    stretch = 1.0
    rewrites_bodies = False

    def replace(self, request: Request) -> Reply | None:
        return None

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        return None

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        return None

    def __repr__(self) -> str:
        return f"<sabotage {self.name}>"


class ErrorStatus(BuiltinMode):
    """Answer every request with an error status and an error body in the shape of the API it called."""

    def __init__(self, name: str, status: int, text: str) -> None:
        self.name, self.status, self.text = name, status, text

    def replace(self, request: Request) -> Reply | None:
        return json_reply(self.status, error_body(request.api, self.status, self.text))


class Empty(BuiltinMode):
    """200 with nothing in it: ``{}`` for JSON, an empty event stream, or empty text."""

    name = "empty"

    def replace(self, request: Request) -> Reply | None:
        if request.wants_stream:
            return Reply(200, {"content-type": "text/event-stream", **_NO_RETRY})
        accept = request.headers.get("accept", "")
        if accept.startswith("text/") and "json" not in accept:
            return Reply(200, {"content-type": "text/plain; charset=utf-8", **_NO_RETRY})
        return json_reply(200, {})


class Echo(BuiltinMode):
    """200 with the real response's shape, but its text fields hold the request's own prompt."""

    name = "echo"
    rewrites_bodies = True

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        data = _json_of(reply.body)
        prompt = request.prompt
        if data is None:
            return Reply(200, reply.headers, prompt.encode())
        echoed = _echo(data, prompt, request.api, {"first": True})
        # a reply with no text to replace (e.g. a token count) is left alone: the probe has nothing to say about it
        return None if echoed == data and reply.status == 200 else json_reply(200, echoed, reply.headers)

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        prompt, api = request.prompt, request.api
        state = {"first": True}  # the first text field of the stream carries the prompt, later ones nothing
        return lambda event: map_event_data(event, lambda data: _echo(data, prompt, api, state))


class Garbage(BuiltinMode):
    """200 with the real response's schema, but every text replaced by random words and every number perturbed."""

    name = "garbage"
    rewrites_bodies = True

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)  # reproducible probes: the same run garbles the same way

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        data = _json_of(reply.body)
        if data is None:
            return Reply(200, reply.headers, self.words(reply.body.decode("utf-8", "replace")).encode())
        return json_reply(200, self.garble(data), reply.headers)

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        return lambda event: map_event_data(event, self.garble)

    def garble(self, value: Any) -> Any:
        """``value`` with the same shape: strings become other words, numbers other numbers."""
        if isinstance(value, dict):
            return {k: v if k in STRUCTURAL_KEYS else self.garble(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.garble(item) for item in value]
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return value + self.rng.randint(1, abs(value) // 2 + 3)
        if isinstance(value, float):
            return value * self.rng.uniform(1.5, 3.0) + self.rng.uniform(0.01, 1.0)
        if isinstance(value, str):
            return self.words(value)
        return value

    def words(self, text: str) -> str:
        """Random words, about as many as ``text`` has, never equal to it."""
        count = max(1, min(12, len(text.split())))
        garbled = " ".join(self.rng.choice(_WORDS) for _ in range(count))
        return garbled if garbled != text else garbled + " " + self.rng.choice(_WORDS)


class TruncatedStream(BuiltinMode):
    """An SSE stream cut after its first event, as if the connection dropped; other replies pass unchanged."""

    name = "truncated-stream"

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        seen = [0]

        def first_only(event: bytes) -> bytes | None:
            seen[0] += 1
            return event if seen[0] == 1 else None

        return first_only


class Slow(BuiltinMode):
    """The same answer, ten times later: after each part arrives, wait nine times as long as it took."""

    name = "slow"
    stretch = 10.0


class Renamed(BuiltinMode):
    """A user-defined mode: a built-in mode's behaviour under the configured name."""

    def __init__(self, name: str, base: SabotageMode) -> None:
        self.name, self.base = name, base
        self.stretch, self.rewrites_bodies = base.stretch, base.rewrites_bodies

    def replace(self, request: Request) -> Reply | None:
        return self.base.replace(request)

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        return self.base.rewrite(request, reply)

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        return self.base.rewrite_stream(request, reply)


#: Built-in modes by name, in the order ``auditor probe`` runs them.
BUILTIN_MODES: dict[str, Callable[[], SabotageMode]] = {
    "not-implemented": lambda: ErrorStatus("not-implemented", 501, "Not Implemented"),
    "server-error": lambda: ErrorStatus("server-error", 500, "Internal Server Error"),
    "empty": Empty,
    "echo": Echo,
    "garbage": Garbage,
    "truncated-stream": TruncatedStream,
    "slow": Slow,
}


def get_mode(name: str, probes: Sequence[Any] = ()) -> SabotageMode:
    """A fresh mode called ``name``: built in, or one of ``probes`` (``ProbeModeConfig``) with a ``base``.

    Raises ``ValueError`` for an unknown name or an env-only mode (its sabotage is the suite's environment).
    """
    factory = BUILTIN_MODES.get(name)
    if factory is not None:
        return factory()
    for probe in probes:
        if probe.name == name:
            if probe.base is None:
                raise ValueError(f"mode {name!r} only sets environment variables; run its suite with them instead")
            return Renamed(name, get_mode(probe.base))
    known = ", ".join([*BUILTIN_MODES, *(p.name for p in probes)])
    raise ValueError(f"unknown sabotage mode {name!r} (known: {known})")


# --- bodies ------------------------------------------------------------------------------------------

#: Sent with every made-up answer: the anthropic and openai SDKs would otherwise retry a 5xx with back-off,
#: and every retry would get the same sabotaged answer after seconds of waiting.
_NO_RETRY = {"x-should-retry": "false"}
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
    kept.update(_NO_RETRY)
    return Reply(status, kept, json.dumps(data, ensure_ascii=False).encode())


def map_event_data(event: bytes, change: Callable[[Any], Any]) -> bytes:
    """One SSE event with ``change`` applied to its JSON ``data`` (non-JSON data such as ``[DONE]`` is kept)."""
    text = event.decode("utf-8", "replace")
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    data_lines = [line.partition(":")[2].removeprefix(" ") for line in lines if line.startswith("data:")]
    data = _json_of("\n".join(data_lines).encode()) if data_lines else None
    if data is None:
        return event
    others = [line for line in lines if not line.startswith("data:")]
    payload = json.dumps(change(data), ensure_ascii=False)
    return ("\n".join([*others, f"data: {payload}"]) + "\n\n").encode()


def _json_of(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _echo(value: Any, prompt: str, api: str, state: dict[str, bool], key: str | None = None) -> Any:
    """``value`` with its first non-empty text field set to ``prompt`` and later ones emptied (generic JSON:
    every non-structural string is the prompt)."""
    if isinstance(value, dict):
        return {k: v if k in STRUCTURAL_KEYS else _echo(v, prompt, api, state, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_echo(item, prompt, api, state, key) for item in value]
    if isinstance(value, str) and value and (api == "generic" or key in TEXT_KEYS):
        # empty strings stay empty: a stream opens its text block with "" before the first delta
        first, state["first"] = state["first"], False
        return prompt if first or api == "generic" else ""
    return value
