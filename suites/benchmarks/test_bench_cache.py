"""Benchmark: time to first token cold, warm and after a restart, and the cache-hit speedup, for an agent
with a history of over 1,000 tokens."""

from __future__ import annotations

import asyncio
import statistics
import uuid

import pytest

from suites.benchmarks.conftest import Recorder, Target
from suites.serverproc import ServerProcess
from suites.stress.calls import (
    SHORT_FACTS,
    Ask,
    Reply,
    ask,
    async_client,
    fact_ask,
    history_ask,
)

pytestmark = pytest.mark.benchmark

# The bar: with its cache warm (or reloaded from disk after a restart) an agent's first token
# comes at least this many times sooner than with no cache.
MIN_SPEEDUP = 5.0
# A whole answer also pays for decoding, detokenising and HTTP, which no cache removes: on the fixture
# model with OpenBLAS (server/blas.py) that is ~25 ms of a ~130 ms cold request. What must hold there is
# that the cache still saves most of the time; the 5x bar is on time to first token, above.
MIN_WHOLE_SPEEDUP = 2.5
# After a restart the agent's next turn must read at least this share of its prompt (all of it but the
# newest turn) from disk; a warm turn reads as much from memory.
MIN_CACHE_READ = 0.9
# See test_bench_throughput: the client's latency against the server's own timing of the same request.
CLIENT_OVER_SERVER_LIMIT = 3.0
# History lengths (turns) the fixture model answers exactly; 16 turns after the system prompt is over
# 1,000 tokens, and the agent's next turns extend it.
HISTORY_TURNS = 30
CACHE_HIT_TURNS = 22


def _one(base_url: str, request: Ask) -> Reply:
    async def go() -> Reply:
        async with async_client(base_url, 1) as client:
            return await ask(client, request)

    return asyncio.run(go())


def _agent() -> str:
    return f"bench-{uuid.uuid4().hex}"


def _timing_bound(reply: Reply) -> float:
    return round(reply.latency_s / reply.server_timing["total"], 3)


def _cache_share(reply: Reply) -> float:
    return reply.cached_tokens / reply.prompt_tokens


def test_time_to_first_token_cold_warm_and_after_restart(
    bench_server: ServerProcess, record_benchmark: Recorder, target: Target
) -> None:
    agent = _agent()
    base = bench_server.base_url
    cold = _one(base, target.prepare(history_ask(HISTORY_TURNS, api="anthropic", stream=True, agent=agent)))
    # The same history for a second new agent, whole: the server's own timing of a cold request.
    cold_whole = _one(base, target.prepare(history_ask(HISTORY_TURNS, api="anthropic", agent=_agent())))
    warm = _one(base, target.prepare(history_ask(HISTORY_TURNS + 1, api="anthropic", stream=True, agent=agent)))
    bench_server.restart()
    # One unrelated request first: the server's own first-call costs are not the cache's to carry.
    warm_up = _one(bench_server.base_url, target.prepare(fact_ask(SHORT_FACTS[0], 0)))
    restarted = _one(bench_server.base_url,
                     target.prepare(history_ask(HISTORY_TURNS + 2, api="openai", stream=True, agent=agent)))
    assert target.wrong([cold, cold_whole, warm, warm_up, restarted]) == []
    assert cold.prompt_tokens >= 1000
    assert (cold.cached_tokens, cold_whole.cached_tokens) == (0, 0)
    shares = {"warm": _cache_share(warm), "after_restart": _cache_share(restarted)}
    assert min(shares.values()) >= MIN_CACHE_READ, shares
    assert cold.ttft_s is not None and warm.ttft_s is not None and restarted.ttft_s is not None
    numbers = {
        "history_tokens": cold.prompt_tokens,
        "ttft_cold_ms": round(cold.ttft_s * 1000, 2),
        "ttft_warm_ms": round(warm.ttft_s * 1000, 2),
        "ttft_after_restart_ms": round(restarted.ttft_s * 1000, 2),
        "warm_speedup": round(cold.ttft_s / warm.ttft_s, 2),
        "after_restart_speedup": round(cold.ttft_s / restarted.ttft_s, 2),
        "after_restart_over_warm": round(restarted.ttft_s / warm.ttft_s, 2),
        "warm_cache_read_share": round(shares["warm"], 4),
        "after_restart_cache_read_share": round(shares["after_restart"], 4),
        "cold_server_prefill_ms": round(cold_whole.server_timing["prefill"] * 1000, 2),
        "cold_client_over_server": _timing_bound(cold_whole),
    }
    assert numbers["cold_client_over_server"] <= CLIENT_OVER_SERVER_LIMIT, numbers
    # The streamed cold request did the same work as the whole one the server timed.
    assert cold.ttft_s <= CLIENT_OVER_SERVER_LIMIT * cold_whole.server_timing["total"], numbers
    assert numbers["warm_speedup"] >= MIN_SPEEDUP, numbers
    assert numbers["after_restart_speedup"] >= MIN_SPEEDUP, numbers
    # Only numbers that passed their checks are recorded: a disturbed run must not overwrite a sound one.
    record_benchmark("ttft", numbers)


def test_cache_hit_speedup_for_a_long_history(
    bench_server: ServerProcess, record_benchmark: Recorder, target: Target
) -> None:
    base = bench_server.base_url
    agents = [_agent() for _ in range(3)]
    # Three new agents with the same long history compute it from scratch; each then takes two more
    # turns that read its own cache. Medians keep one scheduling hiccup from deciding the ratio.
    cold = [_one(base, target.prepare(history_ask(CACHE_HIT_TURNS, api="openai", agent=agent))) for agent in agents]
    warm = [_one(base, target.prepare(history_ask(CACHE_HIT_TURNS + turn, api="openai", agent=agent)))
            for agent in agents for turn in (1, 2)]
    assert target.wrong(cold + warm) == []
    assert [reply.cached_tokens for reply in cold] == [0, 0, 0]
    short = [reply.describe() for reply in warm if _cache_share(reply) < MIN_CACHE_READ]
    assert short == []
    cold_s = statistics.median(reply.latency_s for reply in cold)
    warm_s = statistics.median(reply.latency_s for reply in warm)
    numbers = {
        "history_tokens": cold[0].prompt_tokens,
        "cold_latency_ms": round(cold_s * 1000, 2),
        "warm_latency_ms": round(warm_s * 1000, 2),
        "speedup": round(cold_s / warm_s, 2),
        "cold_server_total_ms": round(statistics.median(r.server_timing["total"] for r in cold) * 1000, 2),
        "warm_server_total_ms": round(statistics.median(r.server_timing["total"] for r in warm) * 1000, 2),
        "cold_client_over_server": round(statistics.median(_timing_bound(reply) for reply in cold), 3),
    }
    assert numbers["cold_client_over_server"] <= CLIENT_OVER_SERVER_LIMIT, numbers
    assert numbers["speedup"] >= MIN_WHOLE_SPEEDUP, numbers
    record_benchmark("cache_hit_speedup", numbers)
