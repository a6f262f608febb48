"""Source of small pytest projects that the run/plugin/results tests write to tmp_path."""

from __future__ import annotations

#: conftest.py for fixture projects: a real stdlib server that answers 200 on /ok and 501 elsewhere.
SERVER_CONFTEST = '''
import http.server, json, threading
import pytest

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200 if self.path == "/ok" else 501
        body = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

@pytest.fixture(scope="session")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
'''
