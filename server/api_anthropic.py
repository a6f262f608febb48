"""Anthropic Messages API: ``POST /v1/messages`` (plain and SSE) and ``/v1/messages/count_tokens``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from server.api_common import first_event, output_tokens, timing_header
from server.engine import Finished, GenerationRequest, TextDelta
from server.validate import ApiError, Chat, boolean, integer, merge_turns, number, parse_json_object, string_list, text_of

router = APIRouter()

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence"}


@dataclass(frozen=True)
class MessagesCall:
    model: str
    chat: Chat
    generation: GenerationRequest
    stream: bool


def parse_chat(body: dict[str, Any]) -> Chat:
    """``system`` + ``messages`` of an Anthropic body, validated and normalised."""
    system = body.get("system")
    if system is not None:
        system = text_of(system, "system") if isinstance(system, (str, list)) else _bad("system: must be a string or a list of text blocks", "system")
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "messages: field required", param="messages")
    if not isinstance(messages, list):
        raise ApiError(400, "messages: must be a list", param="messages")
    if not messages:
        raise ApiError(400, "messages: at least one message is required", param="messages")
    turns = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ApiError(400, f"{where}: must be an object", param=where)
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise ApiError(400, f"{where}.role: must be 'user' or 'assistant', got {role!r} (put system text in the top-level 'system' field)", param=f"{where}.role")
        if "content" not in message:
            raise ApiError(400, f"{where}.content: field required", param=f"{where}.content")
        turns.append((role, text_of(message["content"], f"{where}.content")))
    if turns[-1][0] != "user":
        raise ApiError(400, "messages: the last message must be from the user", param="messages")
    return Chat(system or None, merge_turns(turns))


def _bad(message: str, param: str):
    raise ApiError(400, message, param=param)


def parse_call(request: Request, body: dict[str, Any], limit: int) -> MessagesCall:
    engine = request.app.state.engine
    max_tokens = integer(body, "max_tokens", required=True, minimum=1, maximum=limit)
    chat = parse_chat(body)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model: field required (any name is served by the loaded model)", param="model")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ApiError(400, "metadata: must be an object", param="metadata")
    agent = request.headers.get("x-agent-id") or metadata.get("user_id")
    generation = GenerationRequest(
        prompt_tokens=engine.encode_chat(chat.messages, chat.system),
        max_tokens=max_tokens,
        temperature=number(body, "temperature", default=0.0, minimum=0.0, maximum=2.0),
        top_p=number(body, "top_p", default=1.0, minimum=0.0, maximum=1.0),
        top_k=int(number(body, "top_k", default=0, minimum=0, maximum=1e9)),
        stop_sequences=string_list(body.get("stop_sequences"), "stop_sequences"),
        agent_id=str(agent) if agent else None,
    )
    return MessagesCall(model, chat, generation, boolean(body, "stream"))


def usage(done: Finished) -> dict[str, int]:
    """Anthropic counts uncached input only in ``input_tokens``; reads and writes are separate."""
    return {
        "input_tokens": done.prompt_tokens - done.cached_tokens - done.cache_write_tokens,
        "output_tokens": output_tokens(done),
        "cache_read_input_tokens": done.cached_tokens,
        "cache_creation_input_tokens": done.cache_write_tokens,
    }


@router.post("/v1/messages")
async def messages(request: Request) -> Any:
    started = time.perf_counter()
    call = parse_call(request, parse_json_object(await request.body()), request.app.state.settings.max_tokens_limit)
    events, first = await first_event(request.app.state.engine, call.generation)
    message_id = "msg_" + uuid.uuid4().hex[:24]
    if call.stream:
        return StreamingResponse(_sse(call, message_id, events, first), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})
    text, done = "", None
    event = first
    while True:
        if isinstance(event, TextDelta):
            text += event.text
        else:
            done = event
            break
        event = await events.__anext__()
    body = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": STOP_REASONS[done.reason],
        "stop_sequence": done.stop_sequence,
        "usage": usage(done),
    }
    return JSONResponse(body, headers={"server-timing": timing_header(done, time.perf_counter() - started)})


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _sse(call: MessagesCall, message_id: str, events: AsyncIterator, first) -> AsyncIterator[bytes]:
    prompt = len(call.generation.prompt_tokens)
    start_usage = {"input_tokens": prompt, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    try:
        yield _event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": call.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
        yield _event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        yield _event("ping", {"type": "ping"})
        event = first
        while isinstance(event, TextDelta):
            if event.text:
                yield _event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                     "delta": {"type": "text_delta", "text": event.text}})
            event = await events.__anext__()
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield _event("message_delta", {"type": "message_delta",
                                       "delta": {"stop_reason": STOP_REASONS[event.reason], "stop_sequence": event.stop_sequence},
                                       "usage": usage(event)})
        yield _event("message_stop", {"type": "message_stop"})
    except Exception as exc:  # noqa: BLE001 - after a 200 the only honest signal left is an error event
        yield _event("error", {"type": "error", "error": {"type": "api_error", "message": f"generation failed: {exc}"}})
    finally:
        await events.aclose()


@router.post("/v1/messages/count_tokens")
async def count_tokens(request: Request) -> dict[str, int]:
    chat = parse_chat(parse_json_object(await request.body()))
    return {"input_tokens": request.app.state.engine.count_tokens(chat.messages, chat.system)}
