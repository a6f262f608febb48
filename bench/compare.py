"""Benchmark: our server against stock `mlx_lm.server` on the same model and prompts, in one run.

Usage: python bench/compare.py [--model DIR] [--clients 64,128] [--rounds 2] [--max-tokens 32]
                               [--modes nonstream,stream] [--level-timeout 300] [--json FILE]

Both servers run on 127.0.0.1 from this venv, one after the other, on the same model (default: the
benchmark model of `make bench-model` if it exists, else the fixture model). Each is driven through
the OpenAI Chat Completions API, the one both speak, at each client count: ``rounds x clients``
requests with the same prompts (each unique, so no request is served from another's cache), after two
warm-up requests. Every level is bounded in count (those requests) and in time (``--level-timeout``:
requests not finished by then count as errors). Prints errors, connection resets, output tokens/s and
requests/s per server and the ratios ours/stock, then the issue's acceptance checks (ours: zero errors
and resets at 128 clients; output tokens/s at 64 clients at least 2x stock); writes

Ours preloads the system's OpenBLAS when there is one (server/blas.py; ``SERVER_BLAS`` is honoured).
Stock is then measured twice: as shipped (MLX's bundled reference BLAS, what a user of ``mlx_lm.server``
gets) and with the same library preloaded, so one ratio is what a user sees and the other isolates the
servers themselves. Both are printed and checked; neither hides the other.

reports/bench_compare_<model>.json and the summary into reports/benchmarks.json (``bench/compare/<model>``).
Exits 1 when an acceptance check fails, 2 when a server does not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from tokenizers import Tokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from server import blas
from suites.benchmarks.record import machine, record
from suites.serverproc import HOST, ServerProcess, ServerStartError, free_port

BENCH_MODEL = REPO_ROOT / ".cache" / "bench-model"
FIXTURE_MODEL = REPO_ROOT / "server" / "fixture" / "model"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "the", "library", "cat",
         "sleeps", "on", "the", "atlas", "shelf")
RESETS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ConnectError)


@dataclass
class Outcome:
    """One request: did it come back whole, how many tokens, and why not if it failed."""

    ok: bool
    reset: bool
    text: str
    latency_s: float
    error: str | None = None


@dataclass
class Level:
    """The numbers of one server at one client count and mode."""

    server: str
    clients: int
    mode: str
    requests: int
    errors: int
    resets: int
    wall_s: float
    requests_per_s: float
    output_tokens_per_s: float
    latency_p50_s: float | None
    first_errors: list[str]


# mlx_lm.server serves --model under this name (any other name makes it try to load that model).
MODEL_NAME = "default_model"


def prompt(index: int) -> str:
    return f"request {index}: " + " ".join(WORDS[(index + k) % len(WORDS)] for k in range(12))


async def one(client: httpx.AsyncClient, index: int, stream: bool, max_tokens: int) -> Outcome:
    body: dict[str, Any] = {"model": MODEL_NAME, "messages": [{"role": "user", "content": prompt(index)}],
                            "max_tokens": max_tokens, "temperature": 0.0, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    started = time.perf_counter()
    try:
        if not stream:
            response = await client.post("/v1/chat/completions", json=body)
            if response.status_code != 200:
                return Outcome(False, False, "", time.perf_counter() - started, f"HTTP {response.status_code}")
            text = response.json()["choices"][0]["message"]["content"]
            return Outcome(True, False, text, time.perf_counter() - started)
        pieces, done = [], False
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            if response.status_code != 200:
                return Outcome(False, False, "", time.perf_counter() - started, f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators and ': keepalive' comments
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                for choice in json.loads(data).get("choices") or []:
                    pieces.append((choice.get("delta") or {}).get("content") or "")
        error = None if done else "stream ended without [DONE]"
        return Outcome(error is None, False, "".join(pieces), time.perf_counter() - started, error)
    except RESETS as error:
        return Outcome(False, True, "", time.perf_counter() - started, f"{type(error).__name__}: {error}")
    except httpx.TimeoutException as error:
        return Outcome(False, False, "", time.perf_counter() - started, f"{type(error).__name__}: {error}")


def count_tokens(tokenizer: Tokenizer, text: str) -> int:
    # The servers count differently (ours leaves EOS out of usage); the text both delivered is counted
    # one way, with the model's own tokenizer.
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


async def drive(base_url: str, server: str, clients: int, requests: int, stream: bool, max_tokens: int,
                tokenizer: Tokenizer, timeout_s: float) -> Level:
    pending = list(range(requests))
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url, limits=limits,
                                 timeout=httpx.Timeout(timeout_s, connect=30.0)) as client:

        async def worker() -> None:
            while pending and time.monotonic() < deadline:
                outcomes.append(await one(client, pending.pop(0), stream, max_tokens))
            # Requests the deadline left unsent are lost to the server's slowness: errors, not skipped.
            while pending:
                pending.pop(0)
                outcomes.append(Outcome(False, False, "", 0.0, f"not sent within the {timeout_s:g}s level timeout"))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
    ok = [o for o in outcomes if o.ok]
    return Level(
        server=server, clients=clients, mode="stream" if stream else "nonstream", requests=requests,
        errors=len(outcomes) - len(ok), resets=sum(o.reset for o in outcomes), wall_s=round(wall, 3),
        requests_per_s=round(len(ok) / wall, 2), output_tokens_per_s=round(sum(count_tokens(tokenizer, o.text) for o in ok) / wall, 1),
        latency_p50_s=round(statistics.median(o.latency_s for o in ok), 4) if ok else None,
        first_errors=[o.error for o in outcomes if o.error][:3],
    )


class StockServer:
    """`python -m mlx_lm.server` from this venv on a free 127.0.0.1 port."""

    def __init__(self, model: Path, log_path: Path, preload: str | None = None) -> None:
        self.model = model
        self.log_path = log_path
        self.preload = preload
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        argv = [sys.executable, "-m", "mlx_lm.server", "--model", str(self.model), "--host", HOST,
                "--port", str(self.port)]
        # As shipped, MLX runs on its bundled reference BLAS; ``preload`` gives stock the library ours uses.
        env = {key: value for key, value in os.environ.items() if key != "LD_PRELOAD"}
        if self.preload:
            env["LD_PRELOAD"] = self.preload
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)  # not listening yet
        self.stop()
        raise RuntimeError(f"mlx_lm.server did not come up; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # It handles only SIGINT (KeyboardInterrupt); SIGKILL if that does not end it.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def warm_up(base_url: str, max_tokens: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=600.0) as client:
        for index in range(2):
            outcome = await one(client, 10_000_000 + index, False, max_tokens)
            if not outcome.ok:
                raise RuntimeError(f"warm-up request to {base_url} failed: {outcome.error}")


def measure(name: str, base_url: str, args: argparse.Namespace, tokenizer: Tokenizer) -> list[Level]:
    asyncio.run(warm_up(base_url, args.max_tokens))
    levels = []
    for clients in args.clients:
        for mode in args.modes:
            level = asyncio.run(drive(base_url, name, clients, args.rounds * clients, mode == "stream", args.max_tokens,
                                      tokenizer, args.level_timeout))
            print(f"# {name} c={clients} {mode}: {level.output_tokens_per_s} tok/s, {level.requests_per_s} req/s, "
                  f"errors={level.errors} resets={level.resets}", file=sys.stderr, flush=True)
            levels.append(level)
    return levels


def ratio(ours: float, stock: float) -> float | None:
    return round(ours / stock, 2) if stock else None


def table(ours: list[Level], stocks: dict[str, list[Level]]) -> tuple[str, list[dict[str, Any]]]:
    """One row per level: ours, then each stock variant with the ratio ours / that variant."""
    header = ["clients", "mode", "ours err/reset", "ours tok/s", "ours req/s"]
    for label in stocks:
        header += [f"{label} err/reset", f"{label} tok/s", "tok/s x", "req/s x"]
    rows, summary = [], []
    for index, mine in enumerate(ours):
        row = [str(mine.clients), mine.mode, f"{mine.errors}/{mine.resets}", f"{mine.output_tokens_per_s:,.0f}",
               f"{mine.requests_per_s:,.1f}"]
        entry: dict[str, Any] = {"clients": mine.clients, "mode": mine.mode, "ours_errors": mine.errors,
                                 "ours_resets": mine.resets, "ours_output_tokens_per_s": mine.output_tokens_per_s,
                                 "ours_requests_per_s": mine.requests_per_s, "against": {}}
        for label, levels in stocks.items():
            theirs = levels[index]
            tok = ratio(mine.output_tokens_per_s, theirs.output_tokens_per_s)
            req = ratio(mine.requests_per_s, theirs.requests_per_s)
            row += [f"{theirs.errors}/{theirs.resets}", f"{theirs.output_tokens_per_s:,.0f}", f"{tok}", f"{req}"]
            entry["against"][label] = {"errors": theirs.errors, "resets": theirs.resets,
                                       "output_tokens_per_s": theirs.output_tokens_per_s,
                                       "requests_per_s": theirs.requests_per_s,
                                       "output_tokens_per_s_ratio": tok, "requests_per_s_ratio": req}
        rows.append(row)
        summary.append(entry)
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    lines = [" | ".join(h.rjust(w) for h, w in zip(header, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    return "\n".join(lines), summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_model = BENCH_MODEL if (BENCH_MODEL / "config.json").is_file() else FIXTURE_MODEL
    parser.add_argument("--model", type=Path, default=default_model)
    parser.add_argument("--clients", default="64,128", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=2, help="requests per client at each level")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--modes", default="nonstream,stream")
    parser.add_argument("--level-timeout", type=float, default=300.0, help="seconds allowed per server and level")
    parser.add_argument("--json", type=Path, default=None, help="default: reports/bench_compare_<model>.json")
    args = parser.parse_args(argv)
    try:
        args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--clients: not a list of integers: {args.clients!r}")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.clients or min(args.clients) < 1 or args.rounds < 1 or args.max_tokens < 1 or args.level_timeout <= 0:
        parser.error("--clients, --rounds, --max-tokens and --level-timeout must be positive")
    if not args.modes or set(args.modes) - {"nonstream", "stream"}:
        parser.error("--modes: a comma-separated subset of nonstream,stream")
    if not (args.model / "config.json").is_file():
        parser.error(f"--model: {args.model} is not a model folder (no config.json); try `make bench-model`")
    return args


# The acceptance bars, checked on the numbers of this one run.
MIN_TOKENS_RATIO_AT_64 = 2.0


def acceptance(summary: list[dict[str, Any]], stock_names: dict[str, str]) -> list[dict[str, Any]]:
    """Each acceptance check the run's levels allow: what was measured and whether it met the bar."""
    checks = []
    for row in summary:
        if row["clients"] == 128:
            lost = row["ours_errors"] + row["ours_resets"]
            stock_lost = ", ".join(f"{label} {v['errors']}/{v['resets']}" for label, v in row["against"].items())
            checks.append({"check": f"128 clients ({row['mode']}): zero errors and resets for ours",
                           "measured": f"ours {row['ours_errors']}/{row['ours_resets']}, {stock_lost} (errors/resets)",
                           "met": lost == 0})
        if row["clients"] == 64:
            for label, against in row["against"].items():
                tok = against["output_tokens_per_s_ratio"]
                checks.append({"check": f"64 clients ({row['mode']}): output tokens/s ours >= "
                                        f"{MIN_TOKENS_RATIO_AT_64:g}x {stock_names[label]}",
                               "against": label, "measured": f"{tok}x",
                               "met": tok is not None and tok >= MIN_TOKENS_RATIO_AT_64})
    return checks


def run_server(name: str, server: ServerProcess | StockServer, args: argparse.Namespace,
               tokenizer: Tokenizer) -> list[Level]:
    try:
        server.start()
        return measure(name, server.base_url, args, tokenizer)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run both servers and print the table and the acceptance checks; see the module docstring for exits."""
    args = parse_args(argv)
    model = args.model.resolve()
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    print(f"# model {model}", file=sys.stderr)
    ours_blas = blas.choose(blas.default_request())
    # "stock" is mlx_lm.server as a user runs it; "stock+blas" is the same server given the BLAS ours runs on,
    # so the second ratio measures the servers alone.
    stock_runs: dict[str, str | None] = {"stock": None}
    stock_names = {"stock": "stock as shipped (MLX's reference BLAS)"}
    if ours_blas.path is not None:
        stock_runs["stock+blas"] = ours_blas.path
        stock_names["stock+blas"] = f"stock on the same BLAS ({ours_blas.name})"
    print(f"# ours runs on BLAS: {ours_blas.name}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            ours = run_server("ours", ServerProcess(log_path=Path(tmp) / "ours.log", model=str(model)), args,
                              tokenizer)
            stocks = {label: run_server(label, StockServer(model, Path(tmp) / f"{label}.log", preload), args, tokenizer)
                      for label, preload in stock_runs.items()}
        except (ServerStartError, RuntimeError) as error:
            print(f"compare: {str(error).splitlines()[0]}", file=sys.stderr)
            return 2
    text, summary = table(ours, stocks)
    checks = acceptance(summary, stock_names)
    print(text)
    for check in checks:
        print(f"{'MET    ' if check['met'] else 'NOT MET'} {check['check']}: {check['measured']}")
    command = " ".join(["python", "bench/compare.py", *(argv if argv is not None else sys.argv[1:])])
    model_name = str(model.relative_to(REPO_ROOT) if model.is_relative_to(REPO_ROOT) else model)
    model_shape = {key: config.get(key) for key in ("hidden_size", "num_hidden_layers", "vocab_size")}
    document = {"model": model_name, "model_shape": model_shape, "blas": {"ours": ours_blas.name, **{
                    label: (ours_blas.name if preload else "reference") for label, preload in stock_runs.items()}},
                "config": {"clients": args.clients, "rounds": args.rounds, "max_tokens": args.max_tokens,
                           "modes": args.modes, "level_timeout_s": args.level_timeout},
                "command": command, "machine": machine(), "summary": summary, "acceptance": checks,
                "levels": [asdict(level) for level in ours + [lv for levels in stocks.values() for lv in levels]]}
    label = "fixture" if model == FIXTURE_MODEL.resolve() else model.name
    out = args.json or REPO_ROOT / "reports" / f"bench_compare_{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    record(f"bench/compare/{label}", {key: document[key] for key in
                                           ("model", "model_shape", "blas", "config", "summary", "acceptance")},
           command=command)
    print(f"wrote {out}", file=sys.stderr)
    return 0 if all(check["met"] for check in checks) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
