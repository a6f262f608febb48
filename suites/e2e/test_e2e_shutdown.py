"""E2E: SIGTERM mid-stream lets streams finish exactly; the server exits 0 and stops listening."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.fixture.facts import FACTS, SYSTEM_PROMPT
from suites.serverproc import ServerProcess
from suites.wire import (
    ANTHROPIC_HEADERS,
    HTTP_TIMEOUT_S,
    anthropic_body,
    anthropic_stream_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    parse_sse,
)

pytestmark = pytest.mark.e2e

# The longest answer (about 70 tokens) keeps the streams open for the longest time.
STORY = max(FACTS, key=lambda fact: len(fact.answer))


def read_until(chunks: Iterator[str], marker: str) -> str:
    """Read streamed text until `marker` has arrived; return everything read so far."""
    seen = ""
    for chunk in chunks:
        seen += chunk
        if marker in seen:
            return seen
    raise AssertionError(f"stream ended before {marker!r}: {seen[-300:]!r}")


def test_sigterm_mid_stream_completes_the_streams_and_exits_zero(tmp_path: Path) -> None:
    server = ServerProcess(log_path=tmp_path / "server.log")
    with server:
        with (
            httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT_S) as first,
            httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT_S) as second,
            first.stream(
                "POST", "/v1/messages", headers=ANTHROPIC_HEADERS,
                json=anthropic_body(STORY.question, system=SYSTEM_PROMPT, stream=True),
            ) as anthropic_reply,
            second.stream(
                "POST", "/v1/chat/completions",
                json=openai_body(STORY.question, system=SYSTEM_PROMPT, stream=True),
            ) as openai_reply,
        ):
            assert (anthropic_reply.status_code, openai_reply.status_code) == (200, 200)
            anthropic_chunks = anthropic_reply.iter_text()
            openai_chunks_iter = openai_reply.iter_text()
            anthropic_body_text = read_until(anthropic_chunks, "content_block_delta")
            assert "message_stop" not in anthropic_body_text  # the signal really lands mid-stream
            server.send_signal(signal.SIGTERM)
            anthropic_body_text += "".join(anthropic_chunks)
            openai_body_text = "".join(openai_chunks_iter)
        exit_code = server.wait(timeout=30)

    assert exit_code == 0, server.log_tail()
    anthropic_events = parse_sse(anthropic_body_text)
    assert anthropic_stream_text(anthropic_events) == STORY.answer
    assert anthropic_events[-1].event == "message_stop"
    chunks, last = openai_chunks(parse_sse(openai_body_text))
    assert openai_stream_text(chunks) == STORY.answer
    assert last == "[DONE]"
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5.0) as late:
        late.get(server.url("/health"))
