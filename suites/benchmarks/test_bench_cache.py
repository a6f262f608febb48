"""Benchmark: time to first token cold, warm and after a restart, and the cache-hit speedup, for an agent
with a history of over 1,000 tokens."""

from __future__ import annotations

import asyncio
import statistics
import uuid

import pytest

from suites.benchmarks.conftest import Recorder, Target, warm_up
from suites.serverproc import ServerProcess
from suites.stress.calls import (
    Ask,
    Reply,
    ask,
    async_client,
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
# Agents measured: half of them streamed cold (time to first token), half whole (the server's timing),
# all of them warm (WARM_TURNS turns each) and after the restart, where three new agents are measured
# cold between them. Each time to first token compared is the fastest of its kind (as timeit does):
# other processes on the machine only ever add time, and they add far more to a 12 ms warm turn than to
# a 150 ms cold one. With two CPU hogs beside the 2-core machine, single warm turns took 11-35 ms,
# restarted ones 22-47 ms and cold ones 127-313 ms, so a ratio of single samples could land anywhere
# from under 3x to over 20x. (The server's own OpenBLAS threads made it worse still: see
# BLAS_THREADS_ENV in conftest.py.)
TTFT_AGENTS = 6
WARM_TURNS = 2


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


def _staggered(agents: int, turns: int) -> list[tuple[int, int]]:
    """(agent, turn) pairs in the order to send them: agent ``i`` takes its turn ``k`` at step ``i + k``, so
    each kind of turn (cold, warm, ...) is spread over the whole measurement, not bunched into one stretch
    of it. The machine's load changes from second to second (other jobs share its two cores); turns of
    every kind then meet its quiet moments and its busy ones alike."""
    return sorted(((agent, turn) for agent in range(agents) for turn in range(turns)),
                  key=lambda pair: (pair[0] + pair[1], pair[1]))


def test_time_to_first_token_cold_warm_and_after_restart(
    bench_server: ServerProcess, record_benchmark: Recorder, target: Target
) -> None:
    base = bench_server.base_url
    agents = [_agent() for _ in range(TTFT_AGENTS)]
    replies: dict[tuple[int, int], Reply] = {}
    for index, turn in _staggered(TTFT_AGENTS, 1 + WARM_TURNS):
        # Turn 0 is cold: every other agent's streamed (time to first token on the client's clock), the
        # others' whole (the server's own timing of the same work). Later turns are warm, streamed.
        replies[index, turn] = _one(base, target.prepare(history_ask(
            HISTORY_TURNS + turn, api="anthropic", stream=turn > 0 or index % 2 == 0, agent=agents[index])))
    cold = [replies[index, 0] for index in range(TTFT_AGENTS)]
    warm = [replies[index, turn] for index in range(TTFT_AGENTS) for turn in range(1, 1 + WARM_TURNS)]
    assert target.wrong(cold + warm) == []
    assert min(reply.prompt_tokens for reply in cold) >= 1000
    assert [reply.cached_tokens for reply in cold] == [0] * TTFT_AGENTS
    cold_streamed, cold_whole = cold[0::2], cold[1::2]
    assert all(reply.ttft_s is not None for reply in cold_streamed + warm)
    timing = {
        "cold_client_over_server": round(statistics.median(map(_timing_bound, cold_whole)), 3),
        # Each streamed cold turn did the same work as the whole one sent after it, which the server timed.
        "ttft_cold_over_server_total": round(statistics.median(
            streamed.ttft_s / whole.server_timing["total"]  # type: ignore[operator]
            for streamed, whole in zip(cold_streamed, cold_whole)), 3),
    }
    # Checked before the rest, which a client that sees the server's answers late would only slow down.
    assert max(timing.values()) <= CLIENT_OVER_SERVER_LIMIT, timing
    bench_server.restart()
    url = bench_server.base_url
    # The new process's first-call costs (its first cache file read included) are not the agents' to carry.
    warm_up(bench_server, target, turn=1)
    restarted: list[Reply] = []
    cold_after: list[Reply] = []  # new agents, cold, between the restarted turns: the same moments' cold time
    for index, agent in enumerate(agents):
        restarted.append(_one(url, target.prepare(
            history_ask(HISTORY_TURNS + 1 + WARM_TURNS, api="openai", stream=True, agent=agent))))
        if index % 2 == 0:
            cold_after.append(_one(url, target.prepare(
                history_ask(HISTORY_TURNS, api="anthropic", stream=True, agent=_agent()))))
    assert target.wrong(restarted + cold_after) == []
    assert [reply.cached_tokens for reply in cold_after] == [0] * len(cold_after)
    # Every warm and restarted turn, not only the fastest, read the agent's cache.
    shares = {"warm": min(map(_cache_share, warm)), "after_restart": min(map(_cache_share, restarted))}
    assert min(shares.values()) >= MIN_CACHE_READ, shares
    assert all(reply.ttft_s is not None for reply in restarted + cold_after)
    samples = {name: [round(reply.ttft_s * 1000, 2) for reply in replies]  # type: ignore[operator]
               for name, replies in (("cold", cold_streamed), ("warm", warm),
                                     ("cold_after_restart", cold_after), ("after_restart", restarted))}
    best = {name: min(values) for name, values in samples.items()}
    numbers = {
        "history_tokens": cold[0].prompt_tokens,
        "agents": TTFT_AGENTS,
        "ttft_cold_ms": best["cold"],
        "ttft_warm_ms": best["warm"],
        "ttft_cold_after_restart_ms": best["cold_after_restart"],
        "ttft_after_restart_ms": best["after_restart"],
        "warm_speedup": round(best["cold"] / best["warm"], 2),
        "after_restart_speedup": round(best["cold_after_restart"] / best["after_restart"], 2),
        "after_restart_over_warm": round(best["after_restart"] / best["warm"], 2),
        "warm_cache_read_share": round(shares["warm"], 4),
        "after_restart_cache_read_share": round(shares["after_restart"], 4),
        "cold_server_prefill_ms": round(min(reply.server_timing["prefill"] for reply in cold_whole) * 1000, 2),
        "cold_server_total_ms": round(min(reply.server_timing["total"] for reply in cold_whole) * 1000, 2),
        **timing,
        "ttft_median_ms": {name: round(statistics.median(values), 2) for name, values in samples.items()},
        "ttft_samples_ms": samples,
    }
    assert numbers["warm_speedup"] >= MIN_SPEEDUP, numbers
    assert numbers["after_restart_speedup"] >= MIN_SPEEDUP, numbers
    # Only numbers that passed their checks are recorded: a disturbed run must not overwrite a sound one.
    record_benchmark("ttft", numbers)


def test_cache_hit_speedup_for_a_long_history(
    bench_server: ServerProcess, record_benchmark: Recorder, target: Target
) -> None:
    base = bench_server.base_url
    agents = [_agent() for _ in range(3)]
    # Three new agents with the same long history compute it from scratch; each then takes four more
    # turns that read its own cache, the turns of all three staggered. As for time to first token, the
    # fastest of each kind is compared: with two CPU hogs beside the 2-core machine the median warm
    # answer took 77 ms (the server's own time: 71 ms) against 20-24 ms on a quiet one, the median cold
    # one 201 ms against 100-145, and the ratio of medians fell to 2.6x.
    replies = {(index, turn): _one(base, target.prepare(
                   history_ask(CACHE_HIT_TURNS + turn, api="openai", agent=agents[index])))
               for index, turn in _staggered(len(agents), 5)}
    cold = [replies[index, 0] for index in range(len(agents))]
    warm = [replies[index, turn] for index in range(len(agents)) for turn in range(1, 5)]
    assert target.wrong(cold + warm) == []
    assert [reply.cached_tokens for reply in cold] == [0, 0, 0]
    short = [reply.describe() for reply in warm if _cache_share(reply) < MIN_CACHE_READ]
    assert short == []
    samples = {name: [round(reply.latency_s * 1000, 2) for reply in replies]
               for name, replies in (("cold", cold), ("warm", warm))}
    cold_ms, warm_ms = min(samples["cold"]), min(samples["warm"])
    numbers = {
        "history_tokens": cold[0].prompt_tokens,
        "cold_latency_ms": cold_ms,
        "warm_latency_ms": warm_ms,
        "speedup": round(cold_ms / warm_ms, 2),
        "cold_server_total_ms": round(min(r.server_timing["total"] for r in cold) * 1000, 2),
        "warm_server_total_ms": round(min(r.server_timing["total"] for r in warm) * 1000, 2),
        "cold_client_over_server": round(statistics.median(_timing_bound(reply) for reply in cold), 3),
        "latency_median_ms": {name: round(statistics.median(values), 2) for name, values in samples.items()},
        "latency_samples_ms": samples,
    }
    assert numbers["cold_client_over_server"] <= CLIENT_OVER_SERVER_LIMIT, numbers
    assert numbers["speedup"] >= MIN_WHOLE_SPEEDUP, numbers
    record_benchmark("cache_hit_speedup", numbers)
