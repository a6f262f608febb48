"""Smoke: each route of the live server answers with its exact shape and the exact model output."""

from __future__ import annotations

import os

import httpx
import pytest

from server import blas
from server.fixture import MODEL_DIR
from suites.serverproc import ServerProcess
from suites.wire import (
    ANTHROPIC_HEADERS,
    SAY_OK,
    anthropic_body,
    anthropic_stream_text,
    anthropic_text,
    openai_body,
    openai_chunks,
    openai_stream_text,
    post_stream,
    token_ids,
)

pytestmark = pytest.mark.smoke

HEALTH_KEYS = {
    "status", "model", "model_path", "loaded", "uptime_s", "active_requests", "queued_requests", "blas",
}


def test_health_reports_the_loaded_fixture_model(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert set(health) == HEALTH_KEYS
    assert health["status"] == "ok"
    assert health["model_path"] == str(MODEL_DIR.resolve())
    assert health["loaded"] is True
    assert isinstance(health["uptime_s"], float)
    assert health["uptime_s"] > 0.0
    assert health["active_requests"] == 0
    assert health["queued_requests"] == 0
    assert health["model"] == http.get("/v1/models").json()["data"][0]["id"]


def test_models_lists_exactly_the_served_model(http: httpx.Client) -> None:
    response = http.get("/v1/models")
    assert response.status_code == 200
    listing = response.json()
    assert set(listing) == {"object", "data"}
    assert listing["object"] == "list"
    assert len(listing["data"]) == 1
    entry = listing["data"][0]
    assert set(entry) == {"id", "object", "created", "owned_by"}
    assert entry["object"] == "model"
    assert entry["owned_by"] == "local"
    assert entry["id"] == http.get("/health").json()["model"]
    assert isinstance(entry["created"], int)


def test_messages_answers_say_ok(http: httpx.Client) -> None:
    body = anthropic_body(SAY_OK.question)
    response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200
    message = response.json()
    assert anthropic_text(message) == "OK"
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["output_tokens"] == len(token_ids("OK"))


def test_messages_streams_say_ok(http: httpx.Client) -> None:
    reply = post_stream(http, "/v1/messages", anthropic_body(SAY_OK.question, stream=True))
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert anthropic_stream_text(reply.events) == "OK"
    assert reply.events[-1].event == "message_stop"


def test_chat_completions_answers_say_ok(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json=openai_body(SAY_OK.question))
    assert response.status_code == 200
    completion = response.json()
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "OK"}
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["completion_tokens"] == len(token_ids("OK"))


def test_chat_completions_streams_say_ok(http: httpx.Client) -> None:
    reply = post_stream(http, "/v1/chat/completions", openai_body(SAY_OK.question, stream=True))
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    chunks, last = openai_chunks(reply.events)
    assert last == "[DONE]"
    assert openai_stream_text(chunks) == "OK"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_count_tokens_equals_the_input_tokens_of_the_same_request(http: httpx.Client) -> None:
    body = anthropic_body(SAY_OK.question)
    counted = http.post("/v1/messages/count_tokens", json=body, headers=ANTHROPIC_HEADERS)
    assert counted.status_code == 200
    assert set(counted.json()) == {"input_tokens"}
    message = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS).json()
    assert anthropic_text(message) == "OK"
    usage = message["usage"]
    # Anthropic reports cache reads/writes apart from input_tokens; together they are the prompt.
    total_input = (
        usage["input_tokens"]
        + usage["cache_read_input_tokens"]
        + usage["cache_creation_input_tokens"]
    )
    assert total_input == counted.json()["input_tokens"]


def test_messages_rejects_a_request_without_max_tokens(http: httpx.Client) -> None:
    body = anthropic_body(SAY_OK.question)
    del body["max_tokens"]
    response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"type", "error", "request_id"}
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in error["error"]["message"]
    assert error["request_id"] == response.headers["request-id"]


def test_count_tokens_rejects_empty_messages(http: httpx.Client) -> None:
    body = {"model": "fixture", "messages": []}
    response = http.post("/v1/messages/count_tokens", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"


def test_chat_completions_rejects_a_request_without_messages(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json={"model": "fixture"})
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"error"}
    assert set(error["error"]) == {"message", "type", "param", "code"}
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["param"] == "messages"


def test_health_rejects_post_with_405(http: httpx.Client) -> None:
    response = http.post("/health", json={})
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_server_announces_its_address_and_model_once(
    live_server: ServerProcess, http: httpx.Client
) -> None:
    health = http.get("/health").json()
    announced = f"server: listening on {live_server.base_url} model={health['model']} blas={health['blas']}"
    lines = live_server.log_text().splitlines()
    assert [line for line in lines if line.startswith("server: listening on ")] == [announced]


def test_server_runs_mlx_on_the_blas_it_reports(live_server: ServerProcess, http: httpx.Client) -> None:
    # The machine's best BLAS (OpenBLAS when installed) must really be mapped into the server process,
    # and the bundled reference one must be what it reports only when nothing better exists.
    expected = blas.choose(blas.default_request())
    assert http.get("/health").json()["blas"] == expected.name
    mapped = {os.path.realpath(library) for library in blas.loaded_libraries(live_server.pid)}
    candidates = {os.path.realpath(path) for path in blas.CANDIDATES}
    if expected.path is None:
        assert mapped.isdisjoint(candidates)
    else:
        assert os.path.realpath(expected.path) in mapped
