"""Stress: the server's resident memory stays flat over 1,000 mixed requests."""

from __future__ import annotations

import asyncio
import itertools

import psutil
import pytest

from server.fixture.facts import CONVERSATIONS, SYSTEM_PROMPT
from suites.stress.calls import (
    LONG_FACTS,
    SHORT_FACTS,
    Ask,
    ask_all,
    fact_ask,
    failures,
    history_ask,
)
from suites.stress.conftest import ServerFactory

pytestmark = pytest.mark.stress

BLOCK = 100
BLOCKS = 10
# The acceptance bound of the issue: RSS after 1,000 requests within 10% of RSS after the first 100.
RSS_GROWTH_LIMIT = 1.10


def mixed_asks(block: int) -> list[Ask]:
    """One block of requests: both APIs, whole and streamed, anonymous and agent-keyed, short and long."""
    asks: list[Ask] = []
    facts = itertools.cycle(SHORT_FACTS[block % 7 :] + LONG_FACTS)
    for index in range(BLOCK):
        serial = block * BLOCK + index
        kind = index % 10
        if kind < 5:
            asks.append(fact_ask(next(facts), serial))
        elif kind < 7:
            asks.append(fact_ask(next(facts), serial, system=SYSTEM_PROMPT, agent=f"rss-agent-{serial % 20}"))
        elif kind < 9:
            conversation = CONVERSATIONS[serial % len(CONVERSATIONS)]
            asks.append(Ask(api=("openai", "anthropic")[serial % 2], turns=conversation.turns,
                            expected=conversation.answer, stream=serial % 3 == 0, agent=f"rss-talk-{serial % 10}"))
        else:
            asks.append(history_ask(8 + serial % 5, api="anthropic", agent=f"rss-history-{serial % 10}"))
    return asks


def test_rss_after_a_thousand_mixed_requests_stays_near_its_warm_baseline(fresh_server: ServerFactory) -> None:
    server = fresh_server("rss")
    process = psutil.Process(server.pid)
    samples = []
    for block in range(BLOCKS):
        results = asyncio.run(ask_all(server.base_url, mixed_asks(block), concurrency=8))
        assert failures(results) == [], f"block {block}"
        samples.append(process.memory_info().rss)
    baseline, final = samples[0], samples[-1]
    megabytes = [round(sample / 2**20, 1) for sample in samples]
    assert final <= RSS_GROWTH_LIMIT * baseline, f"RSS per 100 requests (MiB): {megabytes}"
