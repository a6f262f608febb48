"""Run the inference server as a real `python -m server` subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# How often start() polls /health; it waits in Popen.wait, so an early exit is seen at once.
_POLL_INTERVAL_S = 0.05
_LOG_TAIL_CHARS = 4000


class ServerStartError(RuntimeError):
    """The server process exited or did not answer GET /health with 200 before the deadline."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A `python -m server` subprocess on a free 127.0.0.1 port, with its log in a file."""

    def __init__(
        self,
        *,
        log_path: Path,
        model: str | None = None,
        cache_dir: Path | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.log_path = Path(log_path)
        self.model = model
        self.cache_dir = cache_dir
        self.extra_args = tuple(extra_args)
        self.env = dict(env) if env is not None else {}
        self.port = 0
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._launch_offset = 0

    # -- attributes that only make sense while a process exists ---------------------------------

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The running (or last) Popen; raises if start() was never called."""
        if self._process is None:
            raise RuntimeError("ServerProcess.start() has not been called")
        return self._process

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self.process.pid

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this server."""
        return f"{self.base_url}{path}"

    # -- lifecycle ------------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The argv used to launch the server on the current port."""
        argv = [sys.executable, "-m", "server", "--host", HOST, "--port", str(self.port)]
        if self.model is not None:
            argv += ["--model", self.model]
        if self.cache_dir is not None:
            argv += ["--cache-dir", str(self.cache_dir)]
        argv += list(self.extra_args)
        return argv

    def start(self, timeout: float = 120.0) -> None:
        """Launch on a fresh free port and block until GET /health answers 200."""
        if self._process is not None and self._process.poll() is None:
            raise RuntimeError(f"server already running as pid {self._process.pid}")
        deadline = time.monotonic() + timeout
        # Another process may grab the port between free_port() and the server's bind; retry then.
        for _attempt in range(3):
            self._launch()
            outcome = self._wait_healthy(deadline)
            if outcome == "ready":
                return
            if outcome == "port-taken" and time.monotonic() < deadline:
                continue
            break
        tail = self.log_tail()
        code = self._process.poll() if self._process is not None else None
        self._terminate_quietly()
        state = f"exited with code {code}" if code is not None else f"not up after {timeout:.0f}s"
        argv = " ".join(self.command())
        raise ServerStartError(f"server {state}: {argv}\n--- log tail ---\n{tail}")

    def _launch(self) -> None:
        self._close_log()
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self._launch_offset = self._log.tell()
        self._log.write(f"=== launch: {' '.join(self.command())}\n".encode())
        self._log.flush()
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        self._process = subprocess.Popen(
            self.command(),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def _wait_healthy(self, deadline: float) -> str:
        process = self.process
        # The readiness poll is harness plumbing: `auditor probe` leaves requests with this header alone.
        with httpx.Client(base_url=self.base_url, timeout=2.0, headers={"x-auditor-spare": "readiness"}) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    this_launch = self.log_path.read_bytes()[self._launch_offset :]
                    taken = b"address already in use" in this_launch.lower()
                    return "port-taken" if taken else "exited"
                try:
                    if client.get("/health").status_code == 200:
                        return "ready"
                except httpx.TransportError:
                    pass  # not listening yet: keep polling until the deadline
                try:
                    process.wait(timeout=_POLL_INTERVAL_S)
                except subprocess.TimeoutExpired:
                    pass  # still alive, which is what we want while it loads
        return "timeout"

    def send_signal(self, signum: int) -> None:
        """Deliver a signal (e.g. SIGTERM) without waiting for the process."""
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit on its own; return its exit code (raises on timeout)."""
        code = self.process.wait(timeout=timeout)
        self._close_log()
        return code

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, wait up to `timeout`, SIGKILL if needed; return the exit code."""
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()
        return int(process.returncode)

    def kill(self) -> None:
        """SIGKILL and reap the process."""
        process = self.process
        if process.poll() is None:
            process.kill()
        process.wait()
        self._close_log()

    def restart(self, timeout: float = 120.0) -> None:
        """Stop, then start again on a new port with the same cache_dir and arguments."""
        self.stop()
        self.start(timeout=timeout)

    def _terminate_quietly(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._process is not None:
            self._process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- log ------------------------------------------------------------------------------------

    def log_text(self) -> str:
        """The whole log file so far (stdout and stderr of every launch)."""
        if not self.log_path.exists():
            return ""
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """The last `chars` characters of the log, for failure messages."""
        return self.log_text()[-chars:]

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self.stop()
