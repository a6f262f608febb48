"""E2E: an agent's prompt cache is written to --cache-dir and read back after the server restarts.

``auditor probe`` runs this test with ``SERVER_FAULT_NO_CACHE_PERSIST=1`` (pyproject ``[tool.auditor.probes]``)
to prove it notices a server that keeps caches in memory only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from server.fixture.facts import SYSTEM_FACTS, SYSTEM_PROMPT
from suites.serverproc import ServerProcess
from suites.wire import ANTHROPIC_HEADERS, HTTP_TIMEOUT_S, anthropic_body

pytestmark = pytest.mark.e2e

AGENT = "e2e-persisted-agent"


def _turn(server: ServerProcess, turns: list[tuple[str, str]]) -> dict[str, Any]:
    headers = {**ANTHROPIC_HEADERS, "x-agent-id": AGENT}
    with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT_S) as client:
        response = client.post("/v1/messages", json=anthropic_body(turns, system=SYSTEM_PROMPT), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_agents_cache_is_read_back_after_a_restart(tmp_path: Path) -> None:
    first_q, second_q = SYSTEM_FACTS[0], SYSTEM_FACTS[1]
    cache_dir = tmp_path / "cache"
    server = ServerProcess(log_path=tmp_path / "server.log", cache_dir=cache_dir)
    with server:
        first = _turn(server, [("user", first_q.question)])
        assert first["content"][0]["text"] == first_q.answer
        first_prompt = sum(first["usage"][key] for key in
                           ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
        server.restart()
        turns = [("user", first_q.question), ("assistant", first_q.answer), ("user", second_q.question)]
        second = _turn(server, turns)
    assert second["content"][0]["text"] == second_q.answer
    # The restarted server can only know the first turn from the file it wrote before stopping.
    assert second["usage"]["cache_read_input_tokens"] >= first_prompt
    assert [path for path in cache_dir.rglob("*") if path.is_file()] != []
