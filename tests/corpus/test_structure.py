"""How tests are set up to run: skips, xfail, empty bodies, sleeps, broad raises, retries, benchmarks."""

import asyncio
import json
import sys
import time

import httpx
import pytest

from myapp import export, parse, withdraw

HAS_LZMA = True


# expect: AUD113
@pytest.mark.skip(reason="flaky on CI")
def test_upload_skipped(client):
    assert client.post("/upload", content=b"x").json() == {"size": 1}


# expect: AUD113
@pytest.mark.skipif(True, reason="not implemented yet")
def test_streaming_skipped(client):
    assert list(client.stream("GET", "/stream")) == ["a"]


# expect: AUD113
def test_skip_in_body():
    pytest.skip("TODO: rewrite for v2 API")
    assert export() == b""


# expect: AUD113 AUD133
@pytest.mark.skip
def test_skip_without_reason():
    assert parse("1") == 1


# expect: AUD114
def test_placeholder_pass():
    pass


# expect: AUD114
def test_placeholder_docstring():
    """Test that large uploads are chunked."""


# expect: AUD114
def test_placeholder_ellipsis(client):
    ...


# expect: AUD115
def test_throughput_printed(client):
    start = time.perf_counter()
    for _ in range(50):
        client.get("/health")
    print(f"50 requests in {time.perf_counter() - start:.3f}s")


# expect: AUD115
def test_tokens_per_second(generate):
    t0 = time.time()
    tokens = generate("hello", max_tokens=64)
    rate = len(tokens) / (time.time() - t0)
    print("tokens/s", rate)


# expect: AUD116
def test_sleep_then_check(client):
    client.post("/jobs", json={"n": 1})
    time.sleep(2)
    assert client.get("/jobs/1").json()["state"] == "done"


# expect: AUD116
async def test_async_sleep_then_check(async_client):
    await async_client.post("/jobs", json={"n": 2})
    await asyncio.sleep(1.5)
    assert (await async_client.get("/jobs/2")).json()["state"] == "done"


# expect: AUD112
def test_skip_when_server_down(live_url):
    try:
        r = httpx.get(f"{live_url}/health")
    except httpx.ConnectError:
        pytest.skip("server not running")
    assert r.json() == {"status": "ok"}


# expect: AUD122
def test_withdraw_raises_anything():
    with pytest.raises(Exception):
        withdraw(-5)


# expect: AUD122
def test_parse_raises_base_exception():
    with pytest.raises(BaseException):
        parse(None)


# expect: AUD123
@pytest.mark.xfail(reason="rounding bug #12")
def test_round_half_even():
    assert parse("2.5") == 2


# expect: AUD134
@pytest.mark.parametrize("case", [])
def test_cases_empty(case):
    assert parse(case) == 0


# expect: AUD135
@pytest.mark.flaky(reruns=5)
def test_stream_retry(client):
    assert client.get("/stream").text == "a\nb\n"


# expect: strong
@pytest.mark.skipif(sys.platform == "win32", reason="uses fork")
def test_fork_on_posix(spawn):
    assert spawn().wait() == 0


# expect: strong
@pytest.mark.skipif(not HAS_LZMA, reason="needs lzma")
def test_export_lzma():
    assert export(compression="xz")[:6] == b"\xfd7zXZ\x00"


# expect: strong
@pytest.mark.xfail(reason="known bug #7", strict=True)
def test_strict_xfail():
    assert parse("1e3") == 1000


# expect: strong
def test_raises_with_match():
    with pytest.raises(ValueError, match="must be positive"):
        withdraw(-5)


# expect: strong
def test_raises_exception_with_match():
    with pytest.raises(Exception, match="insufficient funds"):
        withdraw(10**9)


# expect: strong
def test_polls_with_deadline(client):
    client.post("/jobs", json={"n": 3})
    for _ in range(100):
        if client.get("/jobs/3").json()["state"] == "done":
            break
        time.sleep(0.05)
    assert client.get("/jobs/3").json()["result"] == 6


# expect: strong
def test_optional_dependency_skip():
    try:
        import lzma  # noqa: F401
    except ImportError:
        pytest.skip("lzma not available")
    assert export(compression="xz")


# expect: strong
def test_benchmark_records_result(client, tmp_path):
    start = time.perf_counter()
    for _ in range(50):
        client.get("/health")
    seconds = time.perf_counter() - start
    (tmp_path / "bench.json").write_text(json.dumps({"seconds": seconds}))


# expect: strong
def test_benchmark_fixture(benchmark):
    result = benchmark(parse, "1 + 2")
    assert result == 3


# expect: strong
def test_conditional_platform_skip_inside(tmp_path):
    if sys.platform == "win32":
        pytest.skip("symlinks need admin rights on Windows")
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert link.is_symlink()


# expect: strong
@pytest.mark.parametrize("text, value", [("1", 1), ("2", 2)])
def test_parse_cases(text, value):
    assert parse(text) == value


# expect: strong
def test_sleep_zero_yields(loop_runner):
    loop_runner.start()
    time.sleep(0)
    assert loop_runner.pending() == 0


# expect: AUD147
@pytest.mark.skipif(sys.version_info > (2, 7), reason="leaks on Python 3")
def test_copy_does_not_leak():
    assert leaked_bytes(copy_client) == 0


# expect: strong
@pytest.mark.skipif(sys.version_info >= (3, 14), reason="uses a module removed in 3.14")
def test_old_module_roundtrip():
    assert roundtrip(b"x") == b"x"
