"""Fixtures for the benchmark suite: the model measured, a dedicated server, and a recorder into
reports/benchmarks.json.

By default the benchmarks run on the fixture model, whose exact answers are checked. With
``SUITES_BENCH_MODEL=1`` (or a model folder path) they run on the benchmark-size random-weight model of
``make bench-model``, which never ends early: every answer must then be exactly ``max_tokens`` long.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from suites.benchmarks.record import REPO_ROOT, record
from suites.serverproc import ServerProcess, ServerStartError
from suites.stress.calls import SHORT_FACTS, Ask, Reply, ask_all, fact_ask, failures, history_ask

Recorder = Callable[[str, dict[str, Any]], None]
BENCH_MODEL_ENV = "SUITES_BENCH_MODEL"
BENCH_MODEL_DIR = REPO_ROOT / ".cache" / "bench-model"
# Enough generated tokens to time decoding, few enough that the whole suite stays within minutes on
# the benchmark model (about 150 tokens/s for one stream on the development machine).
BENCH_MODEL_MAX_TOKENS = 16
# OpenBLAS, which the server preloads on Linux (server/blas.py), splits a product over one thread per core
# and the threads wait for each other spinning, then keep spinning for a while after it. On a 2-core
# machine any other busy process then holds up every split product for scheduler time slices, and the
# spinning threads take the server's own second core: a short request (a cached turn: a few new tokens,
# a few decode steps) became 2-5x slower with a CPU hog beside it, a cold one barely slower, and the
# cache's measured speed-up fell to 2.3x (whole answers, bound 2.5) and 5.7x (first token after a
# restart, fastest of six, bound 5). In-process, a warm turn's forward pass (30 new tokens after 1,362
# cached): median 10.6 ms quiet, 52-62 ms beside a hog, 9th decile 96-216 ms; on one thread 6.9 ms quiet
# and 14-17 ms beside the hog (9th decile 44-54 ms), while a cold pass is no slower on one thread (419
# against 457 ms). The benchmarks measure the server's caching and batching, not that, so their server
# runs OpenBLAS on one thread unless OPENBLAS_NUM_THREADS says otherwise; each record says which.
BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"
# The warm-up agent's history: as long as the longest the benchmarks measure (test_bench_cache), so the
# warm-up runs the same shapes and code paths, the prompt cache's included.
WARM_UP_AGENT = "bench-warm-up"
WARM_UP_HISTORY = 30


@dataclass(frozen=True)
class Target:
    """The model under measurement and how its answers are checked."""

    name: str  # "fixture" or the benchmark model folder's name, a key in reports/benchmarks.json
    model: str | None  # None: the server's default, the fixture model
    exact: bool  # True: the fixture model's exact answers; False: exactly ``max_tokens`` tokens, no EOS

    def prepare(self, request: Ask) -> Ask:
        """The ask as sent to this model: a random-weight model is held to a length, not to an answer."""
        return request if self.exact else dataclasses.replace(request, max_tokens=BENCH_MODEL_MAX_TOKENS)

    def wrong(self, results: Sequence[Reply | BaseException]) -> list[str]:
        """One line per result that is not what this model must deliver."""
        if self.exact:
            return failures(results)
        lines = []
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                lines.append(f"#{index}: {type(result).__name__}: {result}")
            elif not (result.status == 200 and result.complete and result.finish == "length"
                      and result.output_tokens == result.ask.max_tokens and result.text):
                lines.append(f"#{index}: {result.describe()} output_tokens={result.output_tokens}")
        return lines


@pytest.fixture(scope="session")
def target() -> Target:
    """The fixture model, or the benchmark model when ``SUITES_BENCH_MODEL`` asks for it."""
    setting = os.environ.get(BENCH_MODEL_ENV, "").strip()
    if setting in ("", "0"):
        return Target("fixture", None, True)
    folder = BENCH_MODEL_DIR if setting == "1" else Path(setting).expanduser().resolve()
    if not (folder / "config.json").is_file():
        pytest.fail(f"{BENCH_MODEL_ENV}={setting}: no model in {folder}; run `make bench-model`", pytrace=False)
    return Target(folder.name, str(folder), False)


def blas_threads() -> str:
    """The OpenBLAS thread count the benchmark server runs with (see ``BLAS_THREADS_ENV``)."""
    return os.environ.get(BLAS_THREADS_ENV, "1")


def warm_up(server: ServerProcess, target: Target, *, turn: int = 0) -> None:
    """Pay a freshly started server's first-call costs before anything is measured.

    The first answers of a new server process cost far more than any later one, for reasons no cache and
    no client can change: on a machine where MLX has not yet built its fused CPU kernels (mlx-lm's
    ``mx.compile`` activations; MLX keeps them under ``$TMPDIR/mlx``) the first forward pass runs the
    system's C++ compiler, and every new process then loads and traces them, allocates its buffers and
    runs each route's code for the first time. Measured on the 2-core machine: the first cold request
    of a fresh server took 2.0 s and 1.8 s on a machine without those kernels and 0.7 s with them, then
    0.35-0.5 s. One short whole answer and one long streamed turn of an agent of its own (``turn`` 1 after
    a restart: its cache is read back from disk) leave none of that to the requests measured after them.
    """
    asks = [target.prepare(fact_ask(SHORT_FACTS[0], 0, api="anthropic", stream=False)),
            target.prepare(history_ask(WARM_UP_HISTORY + turn, api="openai", stream=True, agent=WARM_UP_AGENT))]
    wrong = target.wrong(asyncio.run(ask_all(server.base_url, asks, concurrency=1)))
    assert wrong == [], f"warm-up of the benchmark server failed: {wrong}\n{server.log_tail()}"


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory: pytest.TempPathFactory, target: Target) -> Iterator[ServerProcess]:
    """A fresh server with its own cache dir, so no other suite's traffic warms or loads it, warmed up."""
    workdir = tmp_path_factory.mktemp("bench_server")
    server = ServerProcess(log_path=workdir / "server.log", cache_dir=workdir / "cache", model=target.model,
                           env={BLAS_THREADS_ENV: blas_threads()})
    try:
        server.start()
    except ServerStartError as error:
        pytest.fail(f"benchmark server did not come up\n{error}", pytrace=False)
    try:
        warm_up(server, target)
    except BaseException:
        server.kill()
        raise
    yield server
    assert server.stop() == 0, server.log_tail()


@pytest.fixture
def record_benchmark(request: pytest.FixtureRequest, target: Target) -> Recorder:
    """Record numbers under ``suites/<model>/<name>``, with the command and node id that produced them."""
    env = f"{BENCH_MODEL_ENV}={os.environ[BENCH_MODEL_ENV]} " if not target.exact else ""
    command = f"{env}{Path(sys.executable).name} -m pytest {request.node.nodeid}"

    def write(name: str, numbers: dict[str, Any]) -> None:
        record(f"suites/{target.name}/{name}", {"model": target.name, "openblas_threads": blas_threads(), **numbers},
               command=command)

    return write
