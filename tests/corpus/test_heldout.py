"""Held-out part of the corpus: written after the rules were tuned, and never tuned against.

Patterns seen while reviewing public suites (httpx, fastapi, requests, starlette, networkx), rewritten.
"""

import contextlib
import math
import shutil
import time
import timeit
import unittest
from unittest import mock

import httpx
import pytest

from myapp import compute, make_graph, ancestors


def helper_assert_ok(response):
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


# expect: AUD101
def test_set_literal_with_503(client):
    resp = client.get("/v1/models")
    assert resp.status_code in {200, 503}


# expect: AUD101
def test_chained_range_to_600(client):
    r = client.post("/v1/embeddings", json={"input": "x"})
    assert 200 <= r.status_code < 600


# expect: AUD101
def test_not_in_gateway_errors(client):
    r = client.get("/v1/models")
    assert r.status_code not in [500, 502]


# expect: AUD101
def test_not_500(client):
    response = client.post("/v1/completions", json={"prompt": "a"})
    assert response.status_code != 500


class TestUnittestStyle(unittest.TestCase):
    # expect: AUD101
    def test_assert_in_with_501(self):
        r = self.client.post("/v1/completions", json={})
        self.assertIn(r.status_code, (200, 501))

    # expect: AUD127
    def test_bare_compare_in_method(self):
        G = make_graph(5)
        ancestors(G, 2) == {0, 1}

    # expect: strong
    def test_assert_equal_status(self):
        r = self.client.get("/missing")
        self.assertEqual(r.status_code, 404)


# expect: AUD105
async def test_async_truthy(async_client):
    resp = await async_client.get("/health")
    assert resp


# expect: AUD110
def test_only_when_choices_present(client):
    data = client.post("/v1/completions", json={"prompt": "a"}).json()
    if "choices" in data:
        assert data["choices"][0]["text"] == "b"


# expect: AUD110
def test_stream_lines_each_checked(client):
    with client.stream("POST", "/v1/completions", json={"stream": True}) as r:
        for line in r.iter_lines():
            assert line.startswith("data:")


# expect: AUD111
def test_except_tuple_with_assertion_error(client):
    try:
        assert client.get("/x").json()["ok"] is True
    except (AssertionError, KeyError):
        pass


# expect: AUD111
def test_suppress_assertion_error():
    with contextlib.suppress(AssertionError):
        assert compute(2) == 4


# expect: AUD107
def test_post_and_log(client, caplog):
    client.post("/v1/completions", json={"prompt": "hi"})
    caplog.set_level("INFO")


# expect: AUD107
def test_json_parsed_only(client):
    client.get("/v1/models").json()


@pytest.mark.skip(reason="flaky")
class TestSkippedClass:
    # expect: AUD113
    def test_inside_skipped_class(self):
        assert compute(1) == 1


# expect: AUD113
def test_raise_skiptest():
    raise unittest.SkipTest("todo")
    assert compute(3) == 9


# expect: AUD116
def test_sleep_after_spawn(server_process, client):
    server_process.start()
    time.sleep(5)
    assert client.get("/health").json() == {"status": "ok"}


# expect: AUD122
def test_raises_tuple_with_exception():
    with pytest.raises((ValueError, Exception)):
        compute(-1)


class TestRaisesUnittest(unittest.TestCase):
    # expect: AUD122
    def test_assert_raises_exception(self):
        self.assertRaises(Exception, compute, -1)


# expect: AUD115
def test_timeit_printed():
    seconds = timeit.timeit(lambda: compute(10), number=1000)
    print(f"compute: {seconds:.4f}s")


# expect: AUD109
def test_latency_power_bound(client):
    t0 = time.perf_counter()
    client.get("/health")
    latency_ms = (time.perf_counter() - t0) * 1000
    assert latency_ms < 10**9


# expect: AUD109
def test_elapsed_non_negative(client):
    t0 = time.time()
    client.get("/health")
    elapsed = time.time() - t0
    assert elapsed >= 0


# expect: AUD129
def test_mock_assert_attribute_not_called():
    hook = mock.Mock()
    compute(1, hook=hook)
    hook.assert_called_once_with


# expect: AUD137
def test_models_list_non_empty(client):
    r = client.get("/v1/models")
    assert len(r.json()["data"]) >= 1


# expect: AUD137
def test_completion_data_truthy(client):
    data = client.post("/v1/completions", json={"prompt": "a"}).json()
    assert data


# expect: AUD119
def test_no_internal_error_text(client):
    r = client.get("/")
    assert "Internal Server Error" not in r.text


# expect: AUD123
@pytest.mark.xfail(strict=False, reason="rounding")
def test_xfail_strict_false():
    assert compute(0.5) == 0


# expect: AUD128
def test_returns_status_check(client):
    return client.get("/").status_code == 200


# expect: strong
def test_status_with_message_and_body(client):
    r = client.get("/v1/models")
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "list"


# expect: strong
def test_success_range_and_body(client):
    r = client.get("/v1/models")
    assert 200 <= r.status_code < 300
    assert r.json()["data"][0]["id"] == "tiny"


# expect: strong
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_needs_binary(tmp_path):
    assert compute(tmp_path) == 0


# expect: strong
def test_importorskip_then_check():
    np = pytest.importorskip("numpy")
    assert compute(np.arange(3)) == 3


# expect: strong
def test_polls_with_helper(client, wait_until):
    client.post("/jobs", json={"n": 1})
    assert wait_until(lambda: client.get("/jobs/1").json()["state"] == "done", timeout=5)


# expect: strong
def test_loop_after_length(client):
    items = client.get("/items").json()["items"]
    assert len(items) == 3
    for item in sorted(items, key=str):
        assert item["id"] > 0


# expect: strong
def test_accepted_with_location(client):
    r = client.post("/jobs", json={"n": 1})
    assert r.status_code == 202
    assert r.headers["location"] == "/jobs/1"


# expect: strong
def test_helper_defined_in_file(client):
    helper_assert_ok(client.get("/v1/models"))


# expect: strong
def test_raise_for_status_501(client):
    r = client.post("/v1/fine-tunes", json={})
    with pytest.raises(httpx.HTTPStatusError) as excinfo:
        r.raise_for_status()
    assert excinfo.value.response.status_code == 501


# expect: strong
def test_isclose():
    assert math.isclose(compute(0.1) + compute(0.2), 0.3)


# expect: strong
def test_threads_no_errors(run_threads):
    errors = run_threads(compute, n=8)
    assert not errors


# expect: strong
def test_p95_against_slo(client, slo):
    latencies = []
    for _ in range(200):
        t0 = time.perf_counter()
        client.get("/health")
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    assert latencies[int(0.95 * len(latencies))] < slo.p95_seconds
