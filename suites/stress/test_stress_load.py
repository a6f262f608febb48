"""Stress: many agents, many workers, many streams at once; every answer exact, no error, no reset."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from server.fixture.facts import CONVERSATIONS, SYSTEM_PROMPT
from suites.serverproc import ServerProcess
from suites.stress.calls import (
    LONG_FACTS,
    SHORT_FACTS,
    Ask,
    Reply,
    ask,
    ask_all,
    async_client,
    at_once,
    fact_ask,
    failures,
    wait_idle,
)
from suites.wire import token_ids

pytestmark = pytest.mark.stress

AGENTS = 10
REQUESTS_PER_AGENT = 50
# After the first turn an agent's cache holds the system prompt, so only the new question (and the
# template around it) is computed: the longest question plus template is well under this.
UNCACHED_BUDGET = 48


async def _agent_run(base_url: str, agent: int) -> list[Reply]:
    """One agent's rapid requests, one after another on its own connection, alternating API and streaming."""
    replies = []
    async with async_client(base_url, 1) as client:
        for turn in range(REQUESTS_PER_AGENT):
            fact = SHORT_FACTS[(agent * 11 + turn) % len(SHORT_FACTS)]
            request = fact_ask(fact, agent + turn, system=SYSTEM_PROMPT, agent=f"stress-agent-{agent}")
            replies.append(await ask(client, request))
    return replies


def test_ten_agents_send_fifty_rapid_requests_each(live_server: ServerProcess) -> None:
    async def run() -> list[list[Reply]]:
        return list(await asyncio.gather(*(_agent_run(live_server.base_url, a) for a in range(AGENTS))))

    runs = asyncio.run(run())
    replies = [reply for run in runs for reply in run]
    assert len(replies) == AGENTS * REQUESTS_PER_AGENT
    assert failures(replies) == []
    # Every later turn reads the agent's own cache of the system prompt: only the question is computed.
    uncached = [(reply.ask.agent, reply.prompt_tokens, reply.cached_tokens) for run in runs for reply in run[1:]
                if reply.prompt_tokens - reply.cached_tokens > UNCACHED_BUDGET]
    assert uncached == []


def test_a_hundred_concurrent_workers_get_exact_answers(live_server: ServerProcess) -> None:
    facts = itertools.islice(itertools.cycle(SHORT_FACTS + LONG_FACTS), 300)
    asks = []
    for index, fact in enumerate(facts):
        system = SYSTEM_PROMPT if index % 6 == 0 else None
        agent = f"worker-agent-{index % 25}" if index % 5 == 0 else None
        asks.append(fact_ask(fact, index, system=system, agent=agent))
    for index, conversation in enumerate(CONVERSATIONS * 4):
        asks.append(Ask(api=("openai", "anthropic")[index % 2], turns=conversation.turns,
                        expected=conversation.answer, stream=index % 3 == 0))
    results = asyncio.run(ask_all(live_server.base_url, asks, concurrency=100))
    assert failures(results) == []
    assert wait_idle(live_server.base_url)["active_requests"] == 0


def test_128_streaming_clients_at_once_lose_nothing(live_server: ServerProcess) -> None:
    clients = 128
    # Long answers keep all streams open together; short ones interleave finishing with starting.
    facts = list(itertools.islice(itertools.cycle(LONG_FACTS + SHORT_FACTS[:10]), clients))
    asks = [fact_ask(fact, index, stream=True) for index, fact in enumerate(facts)]

    async def run() -> list[Reply | BaseException]:
        async with async_client(live_server.base_url, clients) as client:
            return await at_once([lambda request=request: ask(client, request) for request in asks])

    results = asyncio.run(run())
    assert failures(results) == []
    # Each stream's usage counts exactly the answer's tokens: no stream was cut or padded.
    miscounted = [reply.describe() for reply in results
                  if isinstance(reply, Reply) and reply.output_tokens != len(token_ids(reply.ask.expected))]
    assert miscounted == []
    state = wait_idle(live_server.base_url)
    assert (state["active_requests"], state["queued_requests"]) == (0, 0)
