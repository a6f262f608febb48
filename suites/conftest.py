"""Fixtures for the live-server suites: one real `python -m server` subprocess per session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from suites.serverproc import ServerProcess, ServerStartError
from suites.wire import HTTP_TIMEOUT_S


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The fixture model served on a free 127.0.0.1 port for the whole session."""
    workdir = tmp_path_factory.mktemp("live_server")
    server = ServerProcess(log_path=workdir / "server.log", cache_dir=workdir / "cache")
    try:
        server.start()
    except ServerStartError as error:
        pytest.fail(f"live server did not come up\n{error}", pytrace=False)
    yield server
    exit_code = server.stop()
    log = server.log_text()
    # A clean shutdown and a log free of tracebacks: bad input must never crash a handler.
    assert exit_code == 0, f"server exited with {exit_code}\n{server.log_tail()}"
    traceback_at = log.find("Traceback")
    assert traceback_at == -1, f"traceback in the server log:\n{log[traceback_at:][:4000]}"


@pytest.fixture
def http(live_server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client bound to the live server (closed after the test)."""
    with httpx.Client(base_url=live_server.base_url, timeout=HTTP_TIMEOUT_S) as client:
        yield client
