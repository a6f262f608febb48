"""Shared fixtures: a real local HTTP server and small pytest projects written to tmp_path."""

from __future__ import annotations

import http.server
import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

#: Body of GET /big: large enough to need several reads.
BIG_BODY = b"0123456789" * 5000


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /ok -> 200 JSON, /todo and any POST -> 501, /big -> 50 kB, /lines -> chunked text."""

    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/ok":
            self._send(200, json.dumps({"ok": True}).encode())
        elif self.path == "/big":
            self._send(200, BIG_BODY, "application/octet-stream")
        elif self.path == "/lines":
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for index in range(5):
                chunk = f"line {index}\n".encode()
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(501, json.dumps({"error": "not implemented"}).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self._send(501, json.dumps({"error": "not implemented"}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """Base URL of a real stdlib HTTP server on 127.0.0.1 (see :class:`_Handler` for its routes)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write ``{relative path: source}`` (dedented) under a fresh project folder and return it."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root

    return write

