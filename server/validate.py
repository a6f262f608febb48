"""Request validation shared by both APIs: every bad field becomes an :class:`ApiError`, never a 500."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A client error; each API renders it in its own error shape."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.headers = headers or {}


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def text_of(content: Any, where: str) -> str:
    """Text of a message content: a string, or a list of text blocks/parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for index, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != "text":
                kind = block.get("type") if isinstance(block, dict) else type(block).__name__
                raise ApiError(400, f"{where}[{index}]: only text content is supported, got {kind!r}", param=where)
            if not isinstance(block.get("text"), str):
                raise ApiError(400, f"{where}[{index}].text: must be a string", param=f"{where}[{index}].text")
            parts.append(block["text"])
        return "".join(parts)
    raise ApiError(400, f"{where}: must be a string or a list of text blocks", param=where)


def integer(body: dict[str, Any], key: str, *, required: bool, minimum: int, maximum: int | None) -> int | None:
    """An integer field within bounds (booleans are not integers here)."""
    if key not in body or body[key] is None:
        if required:
            raise ApiError(400, f"{key}: field required", param=key)
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{key}: must be an integer", param=key)
    if value < minimum:
        raise ApiError(400, f"{key}: must be at least {minimum}, got {value}", param=key)
    if maximum is not None and value > maximum:
        raise ApiError(400, f"{key}: must be at most {maximum} (the server's limit), got {value}", param=key)
    return value


def number(body: dict[str, Any], key: str, *, default: float, minimum: float, maximum: float) -> float:
    """A float field within bounds, or its default."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"{key}: must be a number", param=key)
    if not minimum <= value <= maximum:
        raise ApiError(400, f"{key}: must be between {minimum} and {maximum}, got {value}", param=key)
    return float(value)


def boolean(body: dict[str, Any], key: str) -> bool:
    """A boolean field, false when absent."""
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"{key}: must be true or false", param=key)
    return value


def string_list(value: Any, key: str) -> tuple[str, ...]:
    """A string or a list of strings (stop sequences)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item for item in value if item)
    raise ApiError(400, f"{key}: must be a string or a list of strings", param=key)


@dataclass(frozen=True)
class Chat:
    """A validated conversation, normalised for the engine."""

    system: str | None
    messages: list[dict[str, str]]


def merge_turns(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Consecutive turns of one role become one turn, as both APIs specify."""
    merged: list[dict[str, str]] = []
    for role, text in turns:
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n\n" + text
        else:
            merged.append({"role": role, "content": text})
    return merged
