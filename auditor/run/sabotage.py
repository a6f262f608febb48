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

``connection`` short-cuts all of it: ``"refused"`` (``down``) raises the client library's connect error
without a request, ``"reset"`` (``reset``) sends the real request and drops the connection after the first
chunk of the answer. ``status-flip`` turns a 4xx answer into a 200 success in the same API's shape.

Modes see library-neutral :class:`Request` and :class:`Reply` objects (bytes and lower-case headers); the
interceptor adapts them to httpx, httpx2 and requests. A user-defined mode (``[tool.auditor.probes.NAME]``)
is a built-in mode under its own name plus the environment its suite runs with (see ``docs/probes.md``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from auditor.run.wire import (
    NO_RETRY,
    SPARE_HEADER,
    STRUCTURAL_KEYS,
    TEXT_KEYS,
    Reply,
    Request,
    error_body,
    event_data,
    json_of,
    json_reply,
    map_event_data,
    success_body,
)

__all__ = [
    "BUILTIN_MODES",
    "SPARE_HEADER",
    "BuiltinMode",
    "EventRewriter",
    "Reply",
    "Request",
    "SabotageMode",
    "event_data",
    "get_mode",
    "json_of",
]

#: Rewrites one SSE event (its bytes, blank line included): the new bytes, ``b""`` to drop it, ``None`` to end
#: the stream there (the rest of the server's stream is discarded).
EventRewriter = Callable[[bytes], "bytes | None"]

_WORDS = ("apple", "river", "copper", "lantern", "orbit", "velvet", "meadow", "quartz", "harbor", "pepper",
          "signal", "tundra", "violin", "walnut", "yonder", "zephyr", "basalt", "cobalt", "ember", "fjord",
          "glacier", "hollow", "ivory", "juniper", "kettle", "lumen", "marble", "nectar", "oyster", "prism")


class SabotageMode(Protocol):
    """What :mod:`auditor.run.intercept` expects of a mode (see the module docstring for the order of calls)."""

    name: str
    #: The test sees every part of the answer this many times later than it arrived (1.0: no delay).
    stretch: float
    #: False when ``rewrite`` never changes a whole reply, so bodies need not be read ahead of the test.
    rewrites_bodies: bool
    #: ``"refused"`` or ``"reset"`` to fail the connection instead of answering; ``None`` otherwise.
    connection: str | None
    #: Seconds every answer is held back before the test sees it (0: none).
    delay: float

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
    connection: str | None = None
    delay = 0.0

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
            return Reply(200, {"content-type": "text/event-stream", **NO_RETRY})
        accept = request.headers.get("accept", "")
        if accept.startswith("text/") and "json" not in accept:
            return Reply(200, {"content-type": "text/plain; charset=utf-8", **NO_RETRY})
        return json_reply(200, {})


class Echo(BuiltinMode):
    """200 with the real response's shape, but its text fields hold the request's own prompt."""

    name = "echo"
    rewrites_bodies = True

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        data = json_of(reply.body)
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
        data = json_of(reply.body)
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


class HoldLast:
    """An event rewriter that passes each event on one event late, so the stream's last event is never sent."""

    def __init__(self) -> None:
        self.held = b""

    def __call__(self, event: bytes) -> bytes:
        previous, self.held = self.held, event
        return previous


class UnfinishedStream(BuiltinMode):
    """An SSE stream that ends one event early (``message_stop``, ``[DONE]`` never arrive); the rest unchanged.

    ``truncated-stream`` asks "does the test read the stream at all"; this asks the protocol question: does it
    notice that the stream did not finish? A test that only counts events or reads the text survives it.
    """

    name = "unfinished-stream"

    def rewrite_stream(self, request: Request, reply: Reply) -> EventRewriter | None:
        return HoldLast()


class Slow(BuiltinMode):
    """The same answer, ten times later: after each part arrives, wait nine times as long as it took."""

    name = "slow"
    stretch = 10.0


class Late(BuiltinMode):
    """Every answer arrives ten seconds late: a test that claims a time bound under ten seconds must fail.

    ``slow`` multiplies, which suits a benchmark's measured run; a test outside the benchmarks that claims a
    bound ("answers within 2 seconds") is asked the plainer question: would it notice an answer 10 s late?
    """

    name = "late"
    delay = 10.0


class Down(BuiltinMode):
    """The connection is refused: the server is down. Proves liveness and "does not crash" claims."""

    name = "down"
    connection = "refused"


class Reset(BuiltinMode):
    """The real request is sent, then the connection drops after the first chunk of the answer."""

    name = "reset"
    connection = "reset"


class StatusFlip(BuiltinMode):
    """A 4xx or 5xx answer becomes a 200 success of the API's own shape: proves an error contract is checked
    (and that a 5xx the test received was one it asked for)."""

    name = "status-flip"
    rewrites_bodies = True

    def rewrite(self, request: Request, reply: Reply) -> Reply | None:
        if not 400 <= reply.status < 600:
            return None
        return json_reply(200, success_body(request) or json_of(reply.body) or {}, reply.headers)


class Renamed(BuiltinMode):
    """A user-defined mode: a built-in mode's behaviour under the configured name."""

    def __init__(self, name: str, base: SabotageMode) -> None:
        self.name, self.base = name, base
        self.stretch, self.rewrites_bodies, self.connection = base.stretch, base.rewrites_bodies, base.connection
        self.delay = base.delay

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
    "unfinished-stream": UnfinishedStream,
    "slow": Slow,
    "late": Late,
    "down": Down,
    "reset": Reset,
    "status-flip": StatusFlip,
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
