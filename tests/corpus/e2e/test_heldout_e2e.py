"""Held-out real-infrastructure cases (written after tuning)."""

import httpx
import pytest
import responses
import requests


# expect: AUD120
@responses.activate
def test_responses_activate():
    responses.add(responses.GET, "http://api/health", json={"ok": True})
    assert requests.get("http://api/health").json() == {"ok": True}


# expect: AUD120
def test_respx_fixture(respx_mock):
    respx_mock.get("http://api/health").respond(json={"ok": True})
    assert httpx.get("http://api/health").json() == {"ok": True}


# expect: AUD121
async def test_asyncclient_app_kwarg():
    async with httpx.AsyncClient(app=app, base_url="http://t") as client:
        assert (await client.get("/health")).json() == {"ok": True}


# expect: strong
def test_requests_against_subprocess(server_url):
    assert requests.get(f"{server_url}/health", timeout=5).json() == {"ok": True}


# expect: strong
@pytest.mark.parametrize("path", ["/health", "/v1/models"])
def test_live_paths_json(server_url, path):
    assert httpx.get(server_url + path).headers["content-type"] == "application/json"
