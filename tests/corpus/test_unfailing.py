"""Checks that pass whatever the code does: an unchanged value meets the bound, an exception skips the checks."""

import pytest

from myapp import agent_errors, make_request, sdk_errors


# expect: AUD143
def test_dashboard_shows_new_request(page):
    initial = page.inner_text("table")
    make_request("/users/789")
    page.reload()
    updated = page.inner_text("table")
    assert len(updated) >= len(initial)


# expect: AUD143
def test_counter_grows(counter):
    before = counter.value()
    counter.hit()
    assert counter.value() >= before


# expect: strong
def test_counter_never_decreases(counter):
    before = counter.value()
    counter.reset_soft()
    assert counter.value() >= before


# expect: strong
def test_dashboard_row_added(page):
    initial = page.inner_text("table")
    make_request("/users/789")
    page.reload()
    assert len(page.inner_text("table")) > len(initial)


# expect: AUD144
def test_exception_helpers_lazy_import():
    for helper in (sdk_errors, agent_errors):
        try:
            result = helper()
        except ImportError:
            continue
        assert all(issubclass(c, BaseException) for c in result)


# expect: AUD144
def test_optional_backend_renders():
    try:
        import fastbackend
    except ImportError:
        return
    assert fastbackend.render("x") == "<x>"


# expect: strong
def test_optional_backend_renders_or_skips():
    fastbackend = pytest.importorskip("fastbackend")
    assert fastbackend.render("x") == "<x>"


# expect: strong
def test_cases_that_apply(cases):
    for case in cases:
        try:
            value = case.build()
        except ValueError:
            continue
        assert value.check() == case.expected


# expect: AUD148
def test_estimate_cost_without_max_tokens(provider):
    cost = provider.estimate_cost(messages=[{"role": "user", "content": "hi"}])
    # should default to at least 1024 output tokens
    assert cost > 0


# expect: strong
def test_cost_is_positive_for_any_message(provider):
    assert provider.estimate_cost(messages=[{"role": "user", "content": "hi"}]) > 0


# expect: strong
def test_estimate_cost_default_output(provider):
    cost = provider.estimate_cost(messages=[{"role": "user", "content": "hi"}])
    assert cost == provider.price("in") * 1 + provider.price("out") * 1024
