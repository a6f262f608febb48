"""What a test read of its answers: real httpx and requests calls to a real local HTTP server.

The server is the standard library's, on 127.0.0.1; the responses are the clients' own objects, tracked the
way the interceptor tracks them (a recording is started, the request made, the reads noted).
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import requests

from auditor.run import intercept, reads
from auditor.run.touched import changed_paths, subjects_touched

BODY = {"type": "message", "content": [{"type": "text", "text": "Paris."}], "usage": {"input_tokens": 7}}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        payload = json.dumps(BODY).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    server.shutdown()


@pytest.fixture
def recording() -> Iterator[None]:
    installed = intercept.installed()
    intercept.install()
    intercept.start_recording()
    yield
    intercept.stop_recording()
    reads.track_json_paths(False)
    if not installed:
        intercept.uninstall()


def _reads() -> tuple[str, ...]:
    return intercept.snapshot()[0].reads


def test_a_status_check_reads_only_the_status(url: str, recording: None) -> None:
    assert httpx.get(url).status_code == 200
    assert _reads() == ("status",)


def test_raise_for_status_and_ok_read_the_status(url: str, recording: None) -> None:
    httpx.get(url).raise_for_status()
    assert requests.get(url, timeout=10).ok
    assert [x.reads for x in intercept.snapshot()] == [("status",), ("status",)]


def test_the_librarys_own_reads_are_not_the_tests(url: str, recording: None) -> None:
    # httpx reads the status to log it and requests reads the body for the client: neither is the test's
    httpx.get(url)
    requests.get(url, timeout=10)
    assert [x.reads for x in intercept.snapshot()] == [(), ()]


def test_an_observed_run_hands_over_the_parsed_json_itself(url: str, recording: None) -> None:
    body = httpx.get(url).json()
    assert type(body) is dict  # outcome parity: exactly what the library parsed
    assert _reads() == ("body",)


def test_probe_sessions_note_each_json_path_read(url: str, recording: None) -> None:
    reads.track_json_paths(True)
    body = httpx.get(url).json()
    assert body["content"][0]["type"] == "text"
    assert "usage" in body
    assert len(body["content"]) == 1
    assert set(_reads()) == {"$.content[0].type", "$.#keys", "$.content.#len"}


def test_a_whole_comparison_reads_the_whole_subtree(url: str, recording: None) -> None:
    reads.track_json_paths(True)
    body = requests.get(url, timeout=10).json()
    assert body["content"] == [{"type": "text", "text": "Paris."}]
    assert body == BODY
    assert {"$.content", "$"} <= set(_reads())


def test_proxies_copy_pickle_and_serialise_as_plain_values(url: str, recording: None) -> None:
    reads.track_json_paths(True)
    body = httpx.get(url).json()
    assert json.loads(json.dumps(body)) == BODY
    assert type(pickle.loads(pickle.dumps(body))) is dict
    assert pickle.loads(pickle.dumps(body["content"])) == BODY["content"]
    assert body.copy() == BODY


def test_reading_the_request_sent_counts_only_from_the_projects_code(url: str, recording: None) -> None:
    response = httpx.get(url, headers={"x-agent-id": "a"})
    assert response.request.headers["x-agent-id"] == "a"
    assert "request" in _reads()


def test_a_changed_leaf_is_seen_only_by_a_test_that_read_it() -> None:
    garbled = {**BODY, "content": [{"type": "text", "text": "apple river"}]}
    changed = changed_paths(BODY, garbled)
    assert changed == {"$.content[0].text"}
    assert subjects_touched({"$.content[0].type", "$.#keys"}, changed) == set()
    assert subjects_touched({"$.content[0].text"}, changed) == {"content"}
    assert subjects_touched({"$.content"}, changed) == {"content"}  # a whole comparison sees inside it
    assert subjects_touched({"body"}, changed) == {"content"}


def test_a_made_up_answer_touches_the_status_only_where_it_differs() -> None:
    assert subjects_touched({"status"}, {"body"}) == set()  # empty: 200 stays 200
    assert subjects_touched({"status"}, {"status", "body"}) == {"status"}
    assert subjects_touched({"$.#keys"}, {"body"}) == {"shape"}
    assert subjects_touched(set(), {"connection"}) == {"connection"}


def test_a_clock_imported_by_name_is_seen_while_watched_and_restored_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import importlib.util
    import time

    source = tmp_path / "timing_helpers.py"
    source.write_text("from time import perf_counter as now\n\n\ndef elapsed(since):\n    return now() - since\n")
    spec = importlib.util.spec_from_file_location("timing_helpers", source)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["timing_helpers"] = module
    project = list(reads._project)
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        reads.set_project_root(str(tmp_path))
        reads.watch_clock(True)
        try:
            assert module.elapsed(0.0) > 0
            assert reads.clock_read()
        finally:
            reads.watch_clock(False)
        assert module.now is time.perf_counter
    finally:
        del sys.modules["timing_helpers"]
        reads._project[:] = project
