"""Every built-in sabotage mode on real clients (httpx sync, async and streaming; requests) against the real server.

The server is the repo's reference inference server (``python -m server`` on the fixture model), so the
replies being sabotaged are real Anthropic and OpenAI bodies and event streams with known exact answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
import requests

from auditor.run import intercept
from auditor.config import ProbeModeConfig
from auditor.run.sabotage import SPARE_HEADER, Request, SabotageMode, get_mode
from server.fixture.facts import FACTS
from suites.serverproc import ServerProcess
from suites.wire import (
    ANTHROPIC_HEADERS,
    anthropic_body,
    anthropic_stream_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    parse_sse,
)

FACT = FACTS[0]
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The reference server on a free 127.0.0.1 port, for this module."""
    workdir = tmp_path_factory.mktemp("sabotage_server")
    server = ServerProcess(log_path=workdir / "server.log")
    server.start()
    yield server.base_url
    assert server.stop() == 0, server.log_tail()


@pytest.fixture
def sabotage() -> Iterator[object]:
    """``sabotage(name)`` switches a built-in mode on for the rest of the test; it is always switched off."""
    was_installed = intercept.installed()
    intercept.install()

    def switch(name: str) -> SabotageMode:
        mode = get_mode(name)
        intercept.set_sabotage(mode)
        return mode

    yield switch
    intercept.set_sabotage(None)
    if not was_installed:
        intercept.uninstall()


def _anthropic(client: httpx.Client, *, stream: bool = False) -> httpx.Response:
    return client.post("/v1/messages", json=anthropic_body(FACT.question, stream=stream), headers=ANTHROPIC_HEADERS)


def _stream_events(client: httpx.Client, path: str, body: dict, headers: dict | None = None) -> tuple[int, list]:
    with client.stream("POST", path, json=body, headers=headers or {}) as response:
        text = "".join(response.iter_text())
        return response.status_code, list(parse_sse(text))


def test_honest_replies_are_the_exact_answers(base_url: str) -> None:
    # The baseline every sabotaged reply below is compared with.
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        message = _anthropic(client).json()
        status, events = _stream_events(client, "/v1/messages", anthropic_body(FACT.question, stream=True),
                                        ANTHROPIC_HEADERS)
    assert message["content"][0]["text"] == FACT.answer
    assert (status, anthropic_stream_text(events)) == (200, FACT.answer)


def test_not_implemented_answers_501_in_each_apis_error_shape_without_the_server(base_url: str, sabotage) -> None:
    sabotage("not-implemented")
    intercept.start_recording()
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        anthropic = _anthropic(client)
        openai = client.post("/v1/chat/completions", json=openai_body(FACT.question))
        generic = client.get("/health")
    via_requests = requests.post(base_url + "/v1/messages", json=anthropic_body(FACT.question),
                                 headers=ANTHROPIC_HEADERS, timeout=TIMEOUT)
    exchanges = intercept.stop_recording()
    assert [r.status_code for r in (anthropic, openai, generic, via_requests)] == [501, 501, 501, 501]
    assert anthropic.json() == {"type": "error", "error": {"type": "api_error", "message": "Not Implemented"}}
    assert openai.json()["error"]["code"] == "501"
    assert generic.json() == {"detail": "Not Implemented"}
    assert via_requests.json()["error"]["type"] == "api_error"
    assert anthropic.headers["x-should-retry"] == "false"  # the SDKs must not retry a made-up 5xx
    assert intercept.sabotaged() == 4
    assert [x.status for x in exchanges] == [501, 501, 501, 501]


def test_server_error_is_a_500_the_anthropic_sdk_does_not_retry(base_url: str, sabotage) -> None:
    import anthropic

    sabotage("server-error")
    client = anthropic.Anthropic(base_url=base_url, api_key="unused", max_retries=3)
    with pytest.raises(anthropic.InternalServerError) as raised:
        client.messages.create(model="fixture", max_tokens=32, messages=[{"role": "user", "content": FACT.question}])
    assert raised.value.status_code == 500
    assert intercept.sabotaged() == 1  # one request: no retry with back-off


def test_empty_is_an_empty_object_or_an_empty_stream(base_url: str, sabotage) -> None:
    sabotage("empty")
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        whole = _anthropic(client)
        status, events = _stream_events(client, "/v1/messages", anthropic_body(FACT.question, stream=True),
                                        ANTHROPIC_HEADERS)
    assert (whole.status_code, whole.json()) == (200, {})
    assert (status, events) == (200, [])


def test_echo_puts_the_prompt_into_the_answer_text_sync_and_streamed(base_url: str, sabotage) -> None:
    sabotage("echo")
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        message = _anthropic(client).json()
        completion = client.post("/v1/chat/completions", json=openai_body(FACT.question)).json()
        status, events = _stream_events(client, "/v1/messages", anthropic_body(FACT.question, stream=True),
                                        ANTHROPIC_HEADERS)
    assert (message["type"], message["content"][0]["text"]) == ("message", FACT.question)
    assert completion["choices"][0]["message"]["content"] == FACT.question
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert (status, anthropic_stream_text(events)) == (200, FACT.question)


def test_garbage_keeps_the_schema_and_changes_every_text_and_number(base_url: str, sabotage) -> None:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        honest = _anthropic(client).json()
        sabotage("garbage")
        garbled = _anthropic(client).json()
    assert garbled.keys() == honest.keys()
    assert (garbled["type"], garbled["role"], garbled["stop_reason"]) == ("message", "assistant", "end_turn")
    assert garbled["content"][0]["type"] == "text"
    assert garbled["content"][0]["text"] != FACT.answer
    assert garbled["usage"].keys() == honest["usage"].keys()
    assert garbled["usage"]["output_tokens"] != honest["usage"]["output_tokens"]
    assert garbled["usage"]["input_tokens"] != honest["usage"]["input_tokens"]


def test_garbage_on_an_async_openai_stream_keeps_the_chunk_shape(base_url: str, sabotage) -> None:
    async def read() -> tuple[int, str]:
        async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as client, client.stream(
                "POST", "/v1/chat/completions", json=openai_body(FACT.question, stream=True)) as response:
            return response.status_code, "".join([chunk async for chunk in response.aiter_text()])

    sabotage("garbage")
    status, body = asyncio.run(read())
    chunks, last = openai_chunks(parse_sse(body))
    assert status == 200
    assert last == "[DONE]"  # non-JSON data is left alone
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert openai_stream_text(chunks) not in ("", FACT.answer)


def test_truncated_stream_keeps_only_the_first_event_and_leaves_whole_replies_alone(base_url: str, sabotage) -> None:
    sabotage("truncated-stream")
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        whole = _anthropic(client)
        assert intercept.sabotaged() == 0  # nothing to truncate in a whole reply
        status, events = _stream_events(client, "/v1/messages", anthropic_body(FACT.question, stream=True),
                                        ANTHROPIC_HEADERS)
    assert whole.json()["content"][0]["text"] == FACT.answer
    assert status == 200
    assert [event.event for event in events] == ["message_start"]
    assert intercept.sabotaged() == 1


def test_truncated_stream_on_an_async_client(base_url: str, sabotage) -> None:
    async def read() -> str:
        async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as client, client.stream(
                "POST", "/v1/messages", json=anthropic_body(FACT.question, stream=True),
                headers=ANTHROPIC_HEADERS) as response:
            return "".join([chunk async for chunk in response.aiter_text()])

    sabotage("truncated-stream")
    assert [event.event for event in parse_sse(asyncio.run(read()))] == ["message_start"]


def test_requests_whole_and_streamed_replies_are_sabotaged(base_url: str, sabotage) -> None:
    sabotage("echo")
    echoed = requests.post(base_url + "/v1/chat/completions", json=openai_body(FACT.question), timeout=TIMEOUT)
    sabotage("truncated-stream")
    with requests.post(base_url + "/v1/messages", json=anthropic_body(FACT.question, stream=True),
                       headers=ANTHROPIC_HEADERS, stream=True, timeout=TIMEOUT) as response:
        body = b"".join(response.iter_content(chunk_size=None)).decode()
    assert echoed.json()["choices"][0]["message"]["content"] == FACT.question
    assert [event.event for event in parse_sse(body)] == ["message_start"]


def _server_seconds(response: httpx.Response | requests.Response) -> float:
    total = [part for part in response.headers["server-timing"].split(",") if part.strip().startswith("total")]
    return float(total[0].split("dur=")[1]) / 1000


def test_slow_answers_the_same_at_least_ten_times_later(base_url: str, sabotage) -> None:
    # The client cannot have received the reply before the server finished it, so the server's own
    # clock is a lower bound of the real wait, and slow adds nine times the real wait.
    sabotage("slow")
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        started = time.perf_counter()
        response = _anthropic(client)
        seen = time.perf_counter() - started
    via_requests_started = time.perf_counter()
    via_requests = requests.post(base_url + "/v1/messages", json=anthropic_body(FACT.question),
                                 headers=ANTHROPIC_HEADERS, timeout=TIMEOUT)
    via_requests_seen = time.perf_counter() - via_requests_started
    assert response.json()["content"][0]["text"] == FACT.answer
    assert via_requests.json()["content"][0]["text"] == FACT.answer
    assert seen >= 10 * _server_seconds(response)
    assert via_requests_seen >= 10 * _server_seconds(via_requests)


def test_modes_see_the_api_and_prompt_of_a_request() -> None:
    body = json.dumps(anthropic_body([("user", "first"), ("assistant", "a"), ("user", "last")])).encode()
    request = Request("POST", "http://127.0.0.1:1/v1/messages", {"content-type": "application/json"}, body)
    assert (request.api, request.prompt, request.wants_stream) == ("anthropic", "last", False)
    openai = Request("POST", "http://h/v1/chat/completions", {}, json.dumps(openai_body("q", stream=True)).encode())
    assert (openai.api, openai.prompt, openai.wants_stream) == ("openai", "q", True)
    assert Request("GET", "http://h/health?x=1", {}).prompt == "/health?x=1"


def test_get_mode_knows_builtins_and_configured_modes_and_refuses_the_rest() -> None:
    probes = (ProbeModeConfig("fussy", base="garbage"), ProbeModeConfig("no-cache", env={"SERVER_FAULT_NO_CACHE": "1"}))
    assert get_mode("slow").stretch == 10.0
    renamed = get_mode("fussy", probes)
    assert (renamed.name, renamed.rewrites_bodies) == ("fussy", True)
    with pytest.raises(ValueError, match="only sets environment variables"):
        get_mode("no-cache", probes)
    with pytest.raises(ValueError, match="unknown sabotage mode 'nope'"):
        get_mode("nope", probes)


def test_no_mode_is_a_no_op(base_url: str, sabotage) -> None:
    sabotage("garbage")
    intercept.set_sabotage(None)
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        assert _anthropic(client).json()["content"][0]["text"] == FACT.answer
    assert intercept.sabotaged() == 0


def test_a_request_with_the_spare_header_is_never_sabotaged(base_url: str, sabotage) -> None:
    sabotage("not-implemented")
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        spared = client.get("/health", headers={SPARE_HEADER: "readiness"})
        sabotaged = client.get("/health")
    via_requests = requests.get(base_url + "/health", headers={SPARE_HEADER: "readiness"}, timeout=TIMEOUT)
    assert (spared.status_code, spared.json()["status"]) == (200, "ok")
    assert via_requests.json()["status"] == "ok"
    assert sabotaged.status_code == 501
    assert intercept.sabotaged() == 1
