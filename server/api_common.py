"""What both APIs do with a generation: start it (admission errors as ApiErrors), count its output, time it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from server.engine import Engine, Finished, GenerationRequest, TextDelta
from server.errors import engine_error


async def first_event(engine: Engine, request: GenerationRequest) -> tuple[AsyncIterator, TextDelta | Finished]:
    """The engine's event iterator and its first event; admission errors become ApiErrors.

    Awaiting the first event before answering makes errors surface as HTTP errors before any streamed byte.
    """
    events = engine.generate(request)
    try:
        first = await events.__anext__()
    except Exception as exc:  # noqa: BLE001 - mapped to a client-facing error, re-raised if unknown
        await events.aclose()
        raise engine_error(exc) from None
    return events, first


def timing_header(done: Finished, total_seconds: float) -> str:
    """``server-timing`` from the server's own clock, so clients can check their measurements."""
    queue_ms = done.queue_seconds * 1000
    prefill_ms = done.prefill_seconds * 1000
    total_ms = total_seconds * 1000
    return f"queue;dur={queue_ms:.1f}, prefill;dur={prefill_ms:.1f}, total;dur={total_ms:.1f}"


def output_tokens(done: Finished) -> int:
    """Generated tokens the client received as text: the EOS that ended the answer is not text."""
    return done.completion_tokens - (1 if done.reason == "stop" else 0)
