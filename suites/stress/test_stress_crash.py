"""Stress: kill -9 while agents' caches are being written, then restart: nothing corrupt is ever served."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from server.cache_format import CACHE_SUFFIX, TEMP_PREFIX, agent_file_name
from suites.stress.calls import Reply, ask, async_client, failures, history_ask
from suites.stress.conftest import ServerFactory

pytestmark = pytest.mark.stress

AGENTS = 12
# Agent i walks its conversation from history length FIRST_TURN + i % 4 on: every length it reaches, up to
# FIRST_TURN + 3 + TURNS, is one the fixture model answers exactly.
FIRST_TURN = 8
TURNS = 6
FILES_BEFORE_KILL = 6


def _start(index: int) -> int:
    return FIRST_TURN + index % 4


def _agent(index: int) -> str:
    return f"crash-agent-{index}"


def _cache_files(cache_dir: Path) -> list[Path]:
    return sorted(path for path in cache_dir.iterdir()
                  if path.name.endswith(CACHE_SUFFIX) and not path.name.startswith(TEMP_PREFIX))


async def _converse(base_url: str, index: int, done: list[Reply]) -> None:
    """One agent's turns, one after another, until the server dies under it or its turns run out."""
    async with async_client(base_url, 1) as client:
        for turn in range(TURNS):
            request = history_ask(_start(index) + turn, api="anthropic", agent=_agent(index))
            try:
                done.append(await ask(client, request))
            except httpx.TransportError:
                # The kill cut this request; the turns that completed before it are checked.
                return


async def _load_until_killed(base_url: str, cache_dir: Path, kill: Callable[[], None]) -> list[Reply]:
    done: list[Reply] = []
    agents = [asyncio.create_task(_converse(base_url, index, done)) for index in range(AGENTS)]
    deadline = time.monotonic() + 60.0
    # Kill while agents are mid-conversation: once some files exist, more are being written every turn.
    # Waiting on is pointless once every agent has finished or one got an error: no more files will come.
    while (len(_cache_files(cache_dir)) < FILES_BEFORE_KILL and time.monotonic() < deadline
           and not all(agent.done() for agent in agents) and not failures(done)):
        await asyncio.sleep(0.01)
    kill()
    await asyncio.gather(*agents)
    return done


def test_kill_during_cache_writes_then_restart_serves_only_sound_caches(fresh_server: ServerFactory) -> None:
    server = fresh_server("crash")
    assert server.cache_dir is not None
    cache_dir = server.cache_dir
    done = asyncio.run(_load_until_killed(server.base_url, cache_dir, server.kill))
    assert server.process.returncode == -9
    assert failures(done) == []
    survivors = _cache_files(cache_dir)
    assert len(survivors) >= FILES_BEFORE_KILL

    # A torn file under a final name (what a non-atomic writer would leave) must be discarded, not read.
    on_disk = {index for index in range(AGENTS) if cache_dir / agent_file_name(_agent(index)) in survivors}
    torn_agent = min(on_disk)
    torn = cache_dir / agent_file_name(_agent(torn_agent))
    torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 2])

    server.start()
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(TEMP_PREFIX)] == []
    turns_done = {index: sum(reply.ask.agent == _agent(index) for reply in done) for index in range(AGENTS)}

    async def next_turns() -> list[Reply]:
        async with async_client(server.base_url, AGENTS) as client:
            asks = [history_ask(_start(index) + turns_done[index], api="openai", agent=_agent(index))
                    for index in range(AGENTS)]
            return list(await asyncio.gather(*(ask(client, request) for request in asks)))

    after = asyncio.run(next_turns())
    assert failures(after) == []
    assert "discarding prompt cache file" in server.log_text()
    # An agent whose file landed whole continues from it (any of its turns covers over 80% of this
    # prompt); the torn one and those whose write the kill cut start cold.
    resumed = {index for index, reply in enumerate(after) if reply.cached_tokens >= 0.8 * reply.prompt_tokens}
    cold = {index for index, reply in enumerate(after) if reply.cached_tokens == 0}
    assert (resumed, cold) == (on_disk - {torn_agent}, set(range(AGENTS)) - on_disk | {torn_agent})
