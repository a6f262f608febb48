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

# The client's latency against the server's own account of the same request (``server-timing``). At 64
# and 128 clients on the fixture model most of a request's time is spent before the handler starts (the
# client's and the server's HTTP layers sharing two cores), so the median ratio grows with the client
# count (about 4 and 8 on the development machine); the fastest tenth of the requests still arrive
# within 1.3x of the server's time. A client that sees every response much later than the server sent
# it (a slowed network, a stalled client) puts every request, the fastest tenth included, far above.
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
