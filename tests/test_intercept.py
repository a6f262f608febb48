"""auditor.run.intercept against a real local HTTP server: what is recorded, streaming, threads, the sabotage hook."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
import requests
from conftest import BIG_BODY

from auditor.run import intercept
from auditor.run.sabotage import BuiltinMode, Reply, Request


@pytest.fixture
def recording() -> Iterator[None]:
    """Patched transports for one test; leaves an outer installation (an audited run of this suite) alone."""
    was_installed = intercept.installed()
    intercept.install()
    yield
    intercept.stop_recording()
    intercept.set_sabotage(None)
    if not was_installed:
        intercept.uninstall()


def test_records_an_httpx_exchange_with_status_bytes_and_host_class(recording, http_server: str) -> None:
    intercept.start_recording()
    response = httpx.get(http_server + "/todo")
    exchanges = intercept.stop_recording()
    assert response.status_code == 501
    assert len(exchanges) == 1
    exchange = exchanges[0]
    assert (exchange.method, exchange.host_class, exchange.host, exchange.path, exchange.status, exchange.client) == (
        "GET", "loopback", "127.0.0.1", "/todo", 501, "httpx")
    assert exchange.bytes == len(b'{"error": "not implemented"}')
    assert exchange.duration > 0


def test_records_requests_and_async_httpx(recording, http_server: str) -> None:
    async def fetch() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(http_server + "/big")).status_code

    intercept.start_recording()
    assert requests.post(http_server + "/v1/messages", json={"a": 1}, timeout=10).status_code == 501
    assert asyncio.run(fetch()) == 200
    exchanges = intercept.stop_recording()
    assert [(x.client, x.method, x.path, x.status) for x in exchanges] == [
        ("requests", "POST", "/v1/messages", 501), ("httpx", "GET", "/big", 200)]
    assert exchanges[1].bytes == len(BIG_BODY)


def test_streaming_body_is_left_to_the_test_and_measured_when_closed(recording, http_server: str) -> None:
    intercept.start_recording()
    with httpx.Client() as client, client.stream("GET", http_server + "/lines") as response:
        lines = response.iter_lines()
        first = next(lines)
        rest = list(lines)
    exchanges = intercept.stop_recording()
    assert first == "line 0"
    assert rest == ["line 1", "line 2", "line 3", "line 4"]
    assert exchanges[0].bytes == len("".join(f"line {i}\n" for i in range(5)))


def test_unread_stream_counts_zero_bytes(recording, http_server: str) -> None:
    intercept.start_recording()
    with httpx.Client() as client, client.stream("GET", http_server + "/big") as response:
        status = response.status_code
    exchanges = intercept.stop_recording()
    assert status == 200
    assert (exchanges[0].status, exchanges[0].bytes) == (200, 0)


def test_in_process_transports_are_classed_in_process(recording) -> None:
    def wsgi_app(environ, start_response):
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"wsgi"]

    async def asgi_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def call_asgi() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi_app), base_url="http://testserver") as client:
            return (await client.get("/a")).status_code

    intercept.start_recording()
    with httpx.Client(transport=httpx.WSGITransport(app=wsgi_app), base_url="http://app") as client:
        assert client.get("/w").text == "wsgi"
    assert asyncio.run(call_asgi()) == 204
    exchanges = intercept.stop_recording()
    assert [(x.host_class, x.path, x.status) for x in exchanges] == [("in-process", "/w", 200), ("in-process", "/a", 204)]


def test_exchanges_from_other_threads_are_recorded(recording, http_server: str) -> None:
    statuses: list[int] = []
    intercept.start_recording()
    workers = [threading.Thread(target=lambda: statuses.append(httpx.get(http_server + "/ok").status_code))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    exchanges = intercept.stop_recording()
    assert statuses == [200, 200, 200, 200]
    assert [x.status for x in exchanges] == [200, 200, 200, 200]


def test_nothing_is_recorded_outside_a_recording(recording, http_server: str) -> None:
    assert httpx.get(http_server + "/ok").status_code == 200
    intercept.start_recording()
    assert intercept.stop_recording() == ()
    assert intercept.is_recording() is False


def test_install_is_idempotent_and_uninstall_restores(http_server: str) -> None:
    if intercept.installed():
        pytest.skip("an outer audited run owns the patches")  # conditional: only under `auditor run` of this suite
    original = httpx.HTTPTransport.handle_request
    intercept.install()
    patched = httpx.HTTPTransport.handle_request
    intercept.install()
    assert httpx.HTTPTransport.handle_request is patched
    assert patched is not original
    intercept.uninstall()
    assert httpx.HTTPTransport.handle_request is original
    assert requests.adapters.HTTPAdapter.send.__name__ == "send"
    assert not hasattr(requests.adapters.HTTPAdapter.send, "__auditor_original__")


class _Answer503(BuiltinMode):
    """A sabotage mode: the server is asked, then every reply becomes a 503 with an empty body."""

    name = "answer-503"
    rewrites_bodies = True

    def rewrite(self, request: Request, reply: Reply) -> Reply:
        return Reply(503, {"content-type": "text/plain"}, b"")


def test_sabotage_hook_rewrites_responses_and_none_is_a_no_op(recording, http_server: str) -> None:
    intercept.set_sabotage(_Answer503())
    intercept.start_recording()
    sabotaged = (httpx.get(http_server + "/ok").status_code, requests.get(http_server + "/ok", timeout=10).status_code)
    changed = intercept.sabotaged()
    intercept.set_sabotage(None)
    honest = httpx.get(http_server + "/ok").status_code
    exchanges = intercept.stop_recording()
    assert sabotaged == (503, 503)
    assert changed == 2
    assert honest == 200
    assert intercept.sabotaged() == 0
    assert [x.status for x in exchanges] == [503, 503, 200]


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", "loopback"), ("localhost", "loopback"), ("::1", "loopback"), ("[::1]", "loopback"),
     ("10.1.2.3", "private"), ("192.168.0.4", "private"), ("8.8.8.8", "external"), ("api.example.com", "external")],
)
def test_host_class(host: str, expected: str) -> None:
    assert intercept.host_class(host) == expected
