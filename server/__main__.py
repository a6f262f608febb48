"""``python -m server``: serve a model over both APIs on 127.0.0.1 (by default)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from server import blas
from server.fixture import MODEL_DIR


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    factor = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512m, 2g)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--model", default=str(MODEL_DIR), help="mlx-lm model path or hub repo (default: the fixture model)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--cache-dir", default=None, help="persist per-agent prompt caches here (default: memory only)")
    parser.add_argument("--cache-max-bytes", type=_size, default=2 << 30)
    parser.add_argument("--cache-disk-max-bytes", type=_size, default=8 << 30)
    parser.add_argument("--api-key", default=os.environ.get("SERVER_API_KEY"), help="require this key (also SERVER_API_KEY)")
    parser.add_argument("--cors-origin", action="append", default=[], help="allow this browser origin (repeatable)")
    parser.add_argument("--max-tokens-limit", type=_positive, default=4096)
    parser.add_argument("--max-queue", type=_positive, default=256)
    parser.add_argument("--blas", default=blas.default_request(),
                        help="CPU matrix library for MLX on Linux: auto (system OpenBLAS if installed), reference, or a "
                             "library path (also SERVER_BLAS); see server/blas.py")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: {args.port} is not a TCP port")
    local = Path(args.model).expanduser()
    if not local.exists() and (args.model.startswith((".", "/", "~")) or args.model.count("/") != 1):
        parser.error(f"--model: {args.model} is neither a local directory nor a hub repo name")
    return args


def _server_class():
    import contextlib
    import signal

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM after shutdown, which exits -15; a drained shutdown exits 0."""

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if not self.started or not self.servers or not self.servers[0].sockets:
                return
            # One greppable line once the socket is bound: scripts and suites wait for it, and with
            # --port 0 it is the only place the chosen port is told.
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            model = self.config.app.state.engine.model_id
            print(f"server: listening on http://{host}:{port} model={model} blas={blas.active().name}", file=sys.stderr, flush=True)

    return GracefulServer


#: Top-level modules of the ``server`` extra (pyproject.toml) and of what they bring; the auditor needs none.
EXTRA_MODULES = frozenset({"mlx", "mlx_lm", "fastapi", "starlette", "uvicorn", "numpy", "anyio", "transformers"})
MISSING_EXTRA = "the server needs the 'server' extra: pip install 'auditor[server]' (or '.[server]' in a checkout)"


def main(argv: list[str] | None = None) -> int:
    try:
        import uvicorn

        from server.app import create_app
        from server.settings import Settings
    except ImportError as error:
        if (error.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        print(f"python -m server: error: {error.name} is not installed; {MISSING_EXTRA}", file=sys.stderr)
        return 2
    args = parse_args(argv)
    try:
        choice = blas.choose(args.blas)
    except blas.BlasError as error:
        print(f"python -m server: error: --blas: {error}", file=sys.stderr)
        return 2
    blas.reexec_with(choice, sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(
        model=args.model, host=args.host, port=args.port, cache_dir=args.cache_dir, cache_max_bytes=args.cache_max_bytes,
        cache_disk_max_bytes=args.cache_disk_max_bytes, api_key=args.api_key, cors_origins=tuple(args.cors_origin),
        max_tokens_limit=args.max_tokens_limit, max_queue=args.max_queue, log_level=args.log_level,
    )
    app = create_app(settings)
    _Server = _server_class()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level, backlog=4096,
                            timeout_keep_alive=30, timeout_graceful_shutdown=30, access_log=False)
    server = _Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0 if server.started else 1


if __name__ == "__main__":
    raise SystemExit(main())
