"""Oracles: missing, always-true, conditional, swallowed, discarded, unreachable."""

import time
import unittest
from unittest import mock

import pytest

from myapp import parse, render, slugify


def assert_valid_invoice(invoice):
    assert invoice["total"] == sum(line["amount"] for line in invoice["lines"])


def build_invoice(lines):
    return {"lines": lines, "total": sum(line["amount"] for line in lines)}


# expect: AUD107
def test_create_user_no_check(client):
    client.post("/users", json={"name": "ada"})


# expect: AUD107
def test_render_runs():
    html = render("<b>x</b>")
    print(html)


# expect: AUD107
def test_report_lists_totals(capsys):
    print_report(build_invoice([{"amount": 2}]))


# expect: AUD154
def test_invoice_totals_with_and_without_lines():
    assert build_invoice([{"amount": 2}])["total"] == 2
    build_invoice([])["total"] == 0


# expect: AUD153
def test_invoice_built_but_never_checked():
    invoice = build_invoice([{"amount": 2}])
    invoice["lines"].append({"amount": 3})


# expect: AUD108
def test_parse_always_true():
    parse("1 + 1")
    assert True


# expect: AUD108
def test_tuple_assert():
    result = parse("2")
    assert (result == 2, "parse should return 2")


# expect: AUD108
def test_length_never_negative():
    tokens = parse("a b c")
    assert len(tokens) >= 0


# expect: AUD108
def test_slugify_title():
    value = slugify("Hello World")
    assert value == value


# expect: AUD108
def test_constructor_not_none():
    assert Parser() is not None


# expect: AUD108
def test_or_true():
    assert slugify("a b") == "a-b" or True


# expect: AUD109
def test_latency_under_a_billion(client):
    start = time.perf_counter()
    client.get("/health")
    latency = time.perf_counter() - start
    assert latency < 1e9


# expect: AUD109
def test_elapsed_positive(client):
    started = time.monotonic()
    client.post("/v1/completions", json={"prompt": "x"})
    elapsed = time.monotonic() - started
    assert elapsed > 0


# expect: AUD109
def test_duration_below_infinity(run_job):
    duration_s = run_job()
    assert duration_s < float("inf")


# expect: AUD110
def test_only_if_ok(client):
    r = client.get("/items")
    if r.status_code == 200:
        assert r.json()["items"] == ["a"]


# expect: AUD110
def test_loop_over_response(client):
    r = client.get("/items")
    for item in r.json()["items"]:
        assert item["price"] > 0


# expect: AUD110
def test_comprehension_all(client):
    items = client.get("/items").json()["items"]
    if items:
        assert all(i["id"] for i in items)


# expect: AUD110
def test_generated_templates_have_syntax(engine):
    attacks = [a for a in engine.generate(count=40) if a.name.startswith("smuggling-")]
    assert len(attacks) > 0
    markdown = [a for a in attacks if a.name == "smuggling-markdown"]
    if markdown:
        assert "[//]: #" in markdown[0].prompt


# expect: AUD110
def test_error_carries_request(client):
    try:
        client.get("/slow", timeout=1)
    except TimeoutError as exc:
        assert exc.request.url == "/slow"


# expect: strong
def test_error_raised_with_request(client):
    try:
        client.get("/slow", timeout=1)
    except TimeoutError as exc:
        assert exc.request.url == "/slow"
    else:
        pytest.fail("no timeout")


# expect: AUD111
def test_swallow_everything(client):
    try:
        r = client.get("/items")
        assert r.json() == {"items": []}
    except Exception:
        pass


# expect: AUD111
def test_swallow_assertion_error():
    try:
        assert slugify("A B") == "a-b"
    except AssertionError:
        print("slugify is broken")


# expect: AUD111
def test_bare_except_swallows():
    try:
        assert parse("3") == 3
    except:  # noqa: E722
        pass


# expect: AUD127
def test_forgot_assert(client):
    r = client.get("/items")
    r.status_code == 200
    r.json()["items"] == []


# expect: AUD128
def test_returns_comparison():
    return slugify("A") == "a"


# expect: AUD129
def test_mock_not_called():
    sender = mock.Mock()
    notify(sender, "hi")
    sender.send.assert_called_once


# expect: AUD129
def test_mock_misspelt():
    sender = mock.Mock()
    notify(sender, "hi")
    sender.send.called_once_with("hi")


# expect: AUD131
def test_assert_after_return():
    value = parse("4")
    return
    assert value == 4


# expect: AUD155
def test_bad_key_message():
    with pytest.raises(ValueError) as caught:
        load_config({"colour": "red"})
        assert "unknown key 'colour'" in str(caught.value)


# expect: strong
def test_bad_key_message_checked():
    with pytest.raises(ValueError) as caught:
        load_config({"colour": "red"})
    assert "unknown key 'colour'" in str(caught.value)


# expect: strong
def test_if_else_both_check(client):
    r = client.get("/items")
    if r.headers.get("x-cache") == "hit":
        assert r.json()["cached"] is True
    else:
        assert r.json()["cached"] is False


# expect: strong
def test_loop_over_literal_cases():
    for text, slug in [("A B", "a-b"), ("C", "c")]:
        assert slugify(text) == slug


# expect: strong
def test_helper_asserts():
    assert_valid_invoice(build_invoice([{"amount": 1}, {"amount": 2}]))


# expect: strong
def test_raises_is_a_check():
    with pytest.raises(ValueError, match="empty"):
        parse("")


# expect: strong
def test_mock_assertion_called():
    sender = mock.Mock()
    notify(sender, "hi")
    sender.send.assert_called_once_with("hi")


# expect: strong
def test_latency_against_budget(client, budget):
    start = time.perf_counter()
    client.get("/health")
    assert time.perf_counter() - start < budget.health_seconds


# expect: strong
def test_assert_false_in_else_branch(client):
    r = client.get("/items")
    if r.status_code != 200:
        pytest.fail(f"unexpected {r.status_code}")
    assert r.json() == {"items": []}


# expect: strong
def test_try_except_reraises():
    try:
        result = parse("5")
    except ValueError as exc:
        raise AssertionError("parse failed") from exc
    assert result == 5


# expect: strong
def test_len_exact():
    assert len(parse("a b c")) == 3


# expect: strong
def test_loop_after_length_check(client):
    items = client.get("/items").json()["items"]
    assert len(items) == 2
    for item in items:
        assert item["price"] > 0


class TestParserUnittest(unittest.TestCase):
    # expect: strong
    def test_unittest_assert_equal(self):
        self.assertEqual(parse("6"), 6)

    # expect: strong
    def test_unittest_raises(self):
        with self.assertRaises(ValueError):
            parse("")


# expect: strong
def test_while_polling_with_deadline(client):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if client.get("/jobs/1").json()["state"] == "done":
            break
        time.sleep(0.05)
    assert client.get("/jobs/1").json()["result"] == 42
