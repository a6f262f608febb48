"""Fixtures for the stress suite: dedicated servers (own cache dir, own log) besides the shared live one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from suites.serverproc import ServerProcess, ServerStartError

ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start dedicated servers on demand; each is stopped after the test and its log checked for tracebacks."""
    started: list[ServerProcess] = []

    def start(name: str = "server", **options: object) -> ServerProcess:
        server = ServerProcess(log_path=tmp_path / f"{name}.log", cache_dir=tmp_path / f"{name}-cache",
                               **options)  # type: ignore[arg-type]
        started.append(server)
        try:
            server.start()
        except ServerStartError as error:
            pytest.fail(f"dedicated server did not come up\n{error}", pytrace=False)
        return server

    yield start
    for server in started:
        server.stop()
        log = server.log_text()
        traceback_at = log.find("Traceback")
        assert traceback_at == -1, f"traceback in {server.log_path.name}:\n{log[traceback_at:][:4000]}"

