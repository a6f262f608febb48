"""Benchmark: requests/s and output tokens/s at 1, 4, 16, 64 and 128 concurrent clients."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time

import pytest

from suites.benchmarks.conftest import Recorder, Target
from suites.serverproc import ServerProcess
from suites.stress.calls import (
    LONG_FACTS,
    SHORT_FACTS,
    Reply,
    ask_all,
    fact_ask,
)

pytestmark = pytest.mark.benchmark

# The client's latency against the server's own account of the same request (``server-timing``), for
# the fastest tenth of the requests. What the server does not time (HTTP parsing on both sides, the
# client's event loop) adds a few milliseconds, which at 1-16 clients, where the server answers a request
# in 7-50 ms, puts the median at up to about 2; the fastest tenth stays within 1.3x at every level, with
# a CPU hog beside the 2-core machine too. (It reached 1.4-3.3 at 64 and 128 clients while ``ask_all``
# sent through one shared httpx pool, whose per-request cost grows with its size: the client, not the
# server, was the limit; each worker has its own connection now, see suites/stress/calls.py.) A client
# that sees every response much later than the server sent it (a slowed network, a stalled client) puts
# every request, the fastest tenth included, far above.
CLIENT_OVER_SERVER_LIMIT = 3.0


@pytest.mark.parametrize("clients", [1, 4, 16, 64, 128])
def test_throughput_at_concurrency(
    bench_server: ServerProcess, record_benchmark: Recorder, target: Target, clients: int
) -> None:
    count = max(32, 4 * clients)
    facts = itertools.islice(itertools.cycle(SHORT_FACTS[:20] + LONG_FACTS[:2]), count)
    asks = [target.prepare(fact_ask(fact, index, api=("anthropic", "openai")[index % 2], stream=False))
            for index, fact in enumerate(facts)]
    started = time.perf_counter()
    results = asyncio.run(ask_all(bench_server.base_url, asks, concurrency=clients))
    wall = time.perf_counter() - started
    assert target.wrong(results) == []
    replies = [reply for reply in results if isinstance(reply, Reply)]
    ratios = sorted(reply.latency_s / reply.server_timing["total"] for reply in replies)
    numbers = {
        "clients": clients,
        "requests": count,
        "wall_s": round(wall, 3),
        "requests_per_s": round(count / wall, 2),
        "output_tokens_per_s": round(sum(reply.output_tokens for reply in replies) / wall, 1),
        "latency_p50_s": round(statistics.median(reply.latency_s for reply in replies), 4),
        "server_total_p50_s": round(statistics.median(reply.server_timing["total"] for reply in replies), 4),
        "client_over_server_p10": round(ratios[len(ratios) // 10], 3),
        "client_over_server_p50": round(statistics.median(ratios), 3),
    }
    assert numbers["client_over_server_p10"] <= CLIENT_OVER_SERVER_LIMIT, numbers
    # Only numbers that passed their check are recorded: a disturbed run must not overwrite a sound one.
    record_benchmark(f"throughput/c{clients}", numbers)
