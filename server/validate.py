"""Request validation shared by both APIs: every bad body or field becomes an :class:`ApiError`, never a 500."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

# The deepest JSON a request may nest: arrays and objects open at once, the top-level object counted.
# No request of either API needs more than a handful of levels (a tool's JSON schema, a few dozen);
# Python's JSON parser recurses once per level and fails near 1,000, so deeper bodies are refused
# with a 400 before they are parsed (issue 14, item 8).
MAX_JSON_DEPTH = 128

# Nesting is measured on the quotes and brackets of a body only: every other byte is dropped ...
_NOT_QUOTE_OR_BRACKET = bytes(sorted(set(range(256)) - set(b'"[]{}')))
# ... but backslashes, and every letter one may escape, are kept when a body has escapes.
_NOT_ESCAPE_QUOTE_OR_BRACKET = bytes(sorted(set(range(256)) - set(b'"[]{}\\/bfnrtu')))
# +1 for an opening bracket, -1 for a closing one, 0 for anything else, indexed by byte value.
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[list(b"[{")] = 1
_BRACKET_STEP[list(b"]}")] = -1
_QUOTE = ord('"')
_DEPTH_CHUNK = 1 << 20


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


def nests_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` has more than ``limit`` arrays/objects open at once (brackets in strings are text).

    Linear passes in C, never a recursion: ``bytes.translate`` keeps the quotes and brackets (a few
    percent of a body), numpy sums the brackets outside strings. A body with no more than ``limit``
    opening brackets, almost every request, costs the one ``translate``.
    """
    if b"\x00" in raw and json.detect_encoding(raw) not in ("utf-8", "utf-8-sig"):
        # UTF-16/32 (JSON in UTF-8 has no NUL byte): a character's bytes can look like a bracket or a
        # quote, so measure the text in UTF-8.
        try:
            raw = raw.decode(json.detect_encoding(raw), "surrogatepass").encode("utf-8", "surrogatepass")
        except UnicodeError:
            return False  # not decodable: the parser rejects it as invalid JSON
    syntax = raw.translate(None, _NOT_QUOTE_OR_BRACKET)
    if syntax.count(b"[") + syntax.count(b"{") <= limit:
        return False  # no more openers than the limit: it cannot nest deeper
    if b"\\" in raw:
        # Each backslash keeps the letter it escapes right after it, so escapes pair up left to right
        # as JSON reads them; once the escaped quotes are gone, every quote opens or closes a string.
        escapes = raw.translate(None, _NOT_ESCAPE_QUOTE_OR_BRACKET).replace(b"\\\\", b"").replace(b'\\"', b"")
        syntax = escapes.translate(None, _NOT_QUOTE_OR_BRACKET)
    depth, in_string = 0, 0
    for start in range(0, len(syntax), _DEPTH_CHUNK):
        chars = np.frombuffer(syntax, dtype=np.uint8, count=min(_DEPTH_CHUNK, len(syntax) - start), offset=start)
        opened = np.cumsum(chars == _QUOTE, dtype=np.int32) + in_string
        steps = np.where(opened & 1, 0, _BRACKET_STEP[chars])  # a bracket after an odd number of quotes is text
        running = np.cumsum(steps, dtype=np.int32) + depth
        if int(running.max()) > limit:
            return True
        depth, in_string = int(running[-1]), int(opened[-1]) & 1
    return False


def _too_deep() -> ApiError:
    return ApiError(400, f"the request body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object")
    if nests_deeper_than(raw, MAX_JSON_DEPTH):
        raise _too_deep()
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
    except RecursionError:  # not reachable past the depth check; should it ever be, a 400, never a 500
        raise _too_deep() from None
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
