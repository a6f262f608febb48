"""Fixtures for the benchmark suite: the model measured, a dedicated server, and a recorder into
reports/benchmarks.json.

By default the benchmarks run on the fixture model, whose exact answers are checked. With
``SUITES_BENCH_MODEL=1`` (or a model folder path) they run on the benchmark-size random-weight model of
``make bench-model``, which never ends early: every answer must then be exactly ``max_tokens`` long.
"""

from __future__ import annotations

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
from suites.stress.calls import Ask, Reply, failures

Recorder = Callable[[str, dict[str, Any]], None]
BENCH_MODEL_ENV = "SUITES_BENCH_MODEL"
BENCH_MODEL_DIR = REPO_ROOT / ".cache" / "bench-model"
# Enough generated tokens to time decoding, few enough that the whole suite stays within minutes on
# the benchmark model (about 150 tokens/s for one stream on the development machine).
BENCH_MODEL_MAX_TOKENS = 16


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


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory: pytest.TempPathFactory, target: Target) -> Iterator[ServerProcess]:
    """A fresh server with its own cache dir, so no other suite's traffic warms or loads it."""
    workdir = tmp_path_factory.mktemp("bench_server")
    server = ServerProcess(log_path=workdir / "server.log", cache_dir=workdir / "cache", model=target.model)
    try:
        server.start()
    except ServerStartError as error:
        pytest.fail(f"benchmark server did not come up\n{error}", pytrace=False)
    yield server
    assert server.stop() == 0, server.log_tail()


@pytest.fixture
def record_benchmark(request: pytest.FixtureRequest, target: Target) -> Recorder:
    """Record numbers under ``suites/<model>/<name>``, with the command and node id that produced them."""
    env = f"{BENCH_MODEL_ENV}={os.environ[BENCH_MODEL_ENV]} " if not target.exact else ""
    command = f"{env}{Path(sys.executable).name} -m pytest {request.node.nodeid}"

    def write(name: str, numbers: dict[str, Any]) -> None:
        record(f"suites/{target.name}/{name}", {"model": target.name, **numbers}, command=command)

    return write
