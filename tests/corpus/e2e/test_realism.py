"""Real-infrastructure category (e2e): mocks and in-process clients do not count."""

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from unittest import mock

from myapp.main import app


@pytest.fixture
def inprocess_client():
    with TestClient(app) as client:
        yield client


@pytest.fixture
def live_server(tmp_path):
    proc = start_server_subprocess(tmp_path)
    yield f"http://127.0.0.1:{proc.port}"
    proc.terminate()


# expect: AUD120
@respx.mock
def test_login_respx():
    respx.post("http://api.local/login").respond(200, json={"ok": True})
    assert httpx.post("http://api.local/login").json() == {"ok": True}


# expect: AUD120
def test_patch_http_get():
    with mock.patch("myapp.client.httpx.get") as get:
        get.return_value.json.return_value = {"ok": True}
        assert fetch_status() == {"ok": True}


# expect: AUD120
def test_mock_transport():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    client = httpx.Client(transport=transport)
    assert client.get("http://x/health").json() == {"ok": True}


# expect: AUD121
def test_health_testclient():
    client = TestClient(app)
    assert client.get("/health").json() == {"status": "ok"}


# expect: AUD121
def test_models_via_inprocess_fixture(inprocess_client):
    assert inprocess_client.get("/v1/models").json()["data"][0]["id"] == "tiny"


# expect: AUD121
async def test_asgi_transport():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/health")).json() == {"status": "ok"}


# expect: strong
def test_health_live(live_server):
    r = httpx.get(f"{live_server}/health", timeout=5)
    assert r.json() == {"status": "ok"}


# expect: strong
def test_chat_live(live_server):
    r = httpx.post(f"{live_server}/v1/chat/completions", json={"messages": [{"role": "user", "content": "2+2"}]})
    assert r.json()["choices"][0]["message"]["content"] == "4"


# expect: strong
def test_monkeypatch_env_is_not_a_mock(live_server, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert httpx.get(f"{live_server}/v1/models").json()["data"][0]["id"] == "tiny"
