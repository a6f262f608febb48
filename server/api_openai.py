"""OpenAI Chat Completions API: ``POST /v1/chat/completions`` (plain and streamed chunks)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from server.api_common import first_event, output_tokens, timing_header
from server.engine import Finished, GenerationRequest, TextDelta
from server.validate import ApiError, boolean, integer, merge_turns, number, parse_json_object, string_list, text_of

router = APIRouter()

FINISH_REASONS = {"stop": "stop", "length": "length", "stop_sequence": "stop"}
ROLES = ("system", "developer", "user", "assistant")


def parse_messages(body: dict[str, Any]) -> tuple[str | None, list[dict[str, str]]]:
    """(system text, user/assistant turns) from an OpenAI ``messages`` list."""
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "messages: field required", param="messages")
    if not isinstance(messages, list):
        raise ApiError(400, "messages: must be a list of message objects", param="messages")
    if not messages:
        raise ApiError(400, "messages: at least one message is required", param="messages")
    system_parts, turns = [], []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ApiError(400, f"{where}: must be an object", param=where)
        role = message.get("role")
        if role not in ROLES:
            raise ApiError(400, f"{where}.role: must be one of {', '.join(ROLES)}, got {role!r}", param=f"{where}.role")
        content = message.get("content")
        if content is None:
            raise ApiError(400, f"{where}.content: field required", param=f"{where}.content")
        text = text_of(content, f"{where}.content")
        if role in ("system", "developer"):
            system_parts.append(text)
        else:
            turns.append((role, text))
    if not turns or turns[-1][0] != "user":
        raise ApiError(400, "messages: the last message must be from the user", param="messages")
    return ("\n\n".join(system_parts) or None), merge_turns(turns)


def usage(done: Finished) -> dict[str, Any]:
    return {
        "prompt_tokens": done.prompt_tokens,
        "completion_tokens": output_tokens(done),
        "total_tokens": done.prompt_tokens + output_tokens(done),
        "prompt_tokens_details": {"cached_tokens": done.cached_tokens},
    }


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Any:
    started = time.perf_counter()
    body = parse_json_object(await request.body())
    engine = request.app.state.engine
    limit = request.app.state.settings.max_tokens_limit
    n = integer(body, "n", required=False, minimum=1, maximum=None)
    if n not in (None, 1):
        raise ApiError(400, f"n: only 1 choice per request is supported, got {n}", param="n")
    max_tokens = integer(body, "max_completion_tokens", required=False, minimum=1, maximum=limit)
    if max_tokens is None:
        max_tokens = integer(body, "max_tokens", required=False, minimum=1, maximum=limit)
    system, turns = parse_messages(body)
    stream = boolean(body, "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "stream_options: must be an object", param="stream_options")
    include_usage = boolean(options, "include_usage")
    model = body.get("model") if isinstance(body.get("model"), str) and body.get("model") else engine.model_id
    prompt = engine.encode_chat(turns, system)
    if max_tokens is None:  # OpenAI's default: whatever fits, within the server's limit
        max_tokens = max(1, min(limit, engine.context_length - len(prompt)))
    user = body.get("user")
    agent = request.headers.get("x-agent-id") or (user if isinstance(user, str) and user else None)
    generation = GenerationRequest(
        prompt_tokens=prompt,
        max_tokens=max_tokens,
        temperature=number(body, "temperature", default=0.0, minimum=0.0, maximum=2.0),
        top_p=number(body, "top_p", default=1.0, minimum=0.0, maximum=1.0),
        stop_sequences=string_list(body.get("stop"), "stop"),
        agent_id=agent,
    )
    events, first = await first_event(engine, generation)
    completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
    created = int(time.time())
    if stream:
        return StreamingResponse(_chunks(completion_id, created, model, events, first, include_usage),
                                 media_type="text/event-stream", headers={"cache-control": "no-cache"})
    text, event = "", first
    while isinstance(event, TextDelta):
        text += event.text
        event = await events.__anext__()
    result = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": FINISH_REASONS[event.reason], "logprobs": None}],
        "usage": usage(event),
    }
    return JSONResponse(result, headers={"server-timing": timing_header(event, time.perf_counter() - started)})


def _chunk(completion_id: str, created: int, model: str, choices: list, usage_value: Any = None) -> bytes:
    data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None, "choices": choices, "usage": usage_value}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _chunks(completion_id: str, created: int, model: str, events: AsyncIterator, first, include_usage: bool) -> AsyncIterator[bytes]:
    try:
        delta: dict[str, Any] = {"role": "assistant", "content": ""}
        event = first
        while isinstance(event, TextDelta):
            if event.text:
                delta["content"] = event.text
                yield _chunk(completion_id, created, model, [{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}])
                delta = {}
            event = await events.__anext__()
        final_delta = delta if delta else {}
        yield _chunk(completion_id, created, model,
                     [{"index": 0, "delta": final_delta, "finish_reason": FINISH_REASONS[event.reason], "logprobs": None}])
        if include_usage:
            yield _chunk(completion_id, created, model, [], usage(event))
        yield b"data: [DONE]\n\n"
    except Exception as exc:  # noqa: BLE001 - after a 200 the error travels in the stream
        error = {"error": {"message": f"generation failed: {exc}", "type": "server_error", "param": None, "code": None}}
        yield f"data: {json.dumps(error)}\n\n".encode()
    finally:
        await events.aclose()
