"""E2E: a server started with --api-key and --cors-origin enforces both, in API-shaped errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from suites.serverproc import ServerProcess
from suites.wire import (
    ANTHROPIC_HEADERS,
    HTTP_TIMEOUT_S,
    SAY_OK,
    anthropic_body,
    anthropic_text,
    openai_body,
)

pytestmark = pytest.mark.e2e

API_KEY = "sk-e2e-4b1f0c2d"
ALLOWED_ORIGIN = "http://allowed.example"
OTHER_ORIGIN = "http://elsewhere.example"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second server that requires API_KEY and allows only ALLOWED_ORIGIN cross-origin."""
    workdir = tmp_path_factory.mktemp("guarded_server")
    server = ServerProcess(
        log_path=workdir / "server.log",
        extra_args=["--api-key", API_KEY, "--cors-origin", ALLOWED_ORIGIN],
    )
    server.start()
    yield server
    assert server.stop() == 0, server.log_tail()


@pytest.fixture
def client(guarded: ServerProcess) -> Iterator[httpx.Client]:
    """A client for the guarded server that sends no credentials by itself."""
    with httpx.Client(base_url=guarded.base_url, timeout=HTTP_TIMEOUT_S) as http:
        yield http


def say_ok(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    """POST the Say-OK fact to /v1/messages with the given extra headers."""
    body = anthropic_body(SAY_OK.question)
    return client.post("/v1/messages", json=body, headers={**ANTHROPIC_HEADERS, **headers})


def test_missing_key_is_an_anthropic_authentication_error(client: httpx.Client) -> None:
    response = say_ok(client, {})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"type", "error", "request_id"}
    assert (body["type"], body["error"]["type"]) == ("error", "authentication_error")


def test_missing_key_is_an_openai_authentication_error(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json=openai_body(SAY_OK.question))
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "authentication_error"


@pytest.mark.parametrize(
    "headers",
    [{"x-api-key": "sk-wrong"}, {"authorization": "Bearer sk-wrong"}, {"authorization": API_KEY}],
    ids=["x-api-key", "bearer", "bare-authorization"],
)
def test_wrong_key_is_rejected(client: httpx.Client, headers: dict[str, str]) -> None:
    response = say_ok(client, headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    "headers",
    [{"x-api-key": API_KEY}, {"authorization": f"Bearer {API_KEY}"}],
    ids=["x-api-key", "bearer"],
)
def test_right_key_is_accepted(client: httpx.Client, headers: dict[str, str]) -> None:
    response = say_ok(client, headers)
    assert response.status_code == 200
    assert anthropic_text(response.json()) == "OK"


def test_right_key_opens_chat_completions(client: httpx.Client) -> None:
    headers = {"authorization": f"Bearer {API_KEY}"}
    body = openai_body(SAY_OK.question)
    response = client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "OK"


def test_health_needs_no_key(client: httpx.Client) -> None:
    # Load balancers and the test harness probe /health without credentials.
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def preflight(client: httpx.Client, origin: str) -> httpx.Response:
    """A browser's CORS preflight for a JSON POST carrying an API key."""
    return client.options(
        "/v1/messages",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-api-key, anthropic-version",
        },
    )


def test_preflight_from_the_allowed_origin_is_granted_without_a_key(client: httpx.Client) -> None:
    response = preflight(client, ALLOWED_ORIGIN)
    assert response.status_code == 200
    assert response.text == "OK"  # the CORS middleware answered, not the route behind it
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert {"content-type", "x-api-key", "anthropic-version"} <= {
        name.strip() for name in allowed_headers.split(",")
    }


def test_preflight_from_another_origin_is_refused(client: httpx.Client) -> None:
    response = preflight(client, OTHER_ORIGIN)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cross_origin_post_is_labelled_only_for_the_allowed_origin(client: httpx.Client) -> None:
    allowed = say_ok(client, {"origin": ALLOWED_ORIGIN, "x-api-key": API_KEY})
    other = say_ok(client, {"origin": OTHER_ORIGIN, "x-api-key": API_KEY})
    assert (allowed.status_code, other.status_code) == (200, 200)
    assert (anthropic_text(allowed.json()), anthropic_text(other.json())) == (SAY_OK.answer, SAY_OK.answer)
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in other.headers


def test_the_shared_server_without_cors_origins_sends_no_cors_headers(http: httpx.Client) -> None:
    response = http.post(
        "/v1/messages",
        json=anthropic_body(SAY_OK.question),
        headers={**ANTHROPIC_HEADERS, "origin": ALLOWED_ORIGIN},
    )
    assert response.status_code == 200
    assert anthropic_text(response.json()) == SAY_OK.answer
    assert "access-control-allow-origin" not in response.headers
