"""Static claims (auditor/collect/claims.py) and the rules that ask for them before calling a construct weak."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.claims import static_claims, words
from tests.test_rules import rule_ids, scan_source


def test_names_split_on_underscores_and_case_changes() -> None:
    assert words("test_closeTwice_doesNotRaise") == ("test", "close", "twice", "does", "not", "raise")


@pytest.mark.parametrize(
    ("name", "docstring", "claim"),
    [
        ("test_close_twice_does_not_raise", None, "does-not-raise"),
        ("test_template_hash", None, "does-not-raise"),
        ("test_echo_no_streams", "echo should not fail when stdout is None.", "does-not-raise"),
        ("test_public_names_are_importable", None, "existence"),
        ("test_unknown_route_returns_404", None, "status"),
        ("test_health_after_burst", None, "liveness"),
        ("test_first_token_latency", None, "timing"),
    ],
)
def test_a_claim_is_read_from_the_name_or_the_docstring(name: str, docstring: str | None, claim: str) -> None:
    assert claim in static_claims(name, docstring)


def test_a_test_that_states_no_special_claim_claims_content() -> None:
    assert static_claims("test_create_order", "Orders are created.") == frozenset({"content"})


def test_no_assertion_is_weak_for_a_content_claim_and_right_for_a_does_not_raise_claim(tmp_path: Path) -> None:
    source = """
        from shop import Template

        def test_render_order_page():
            Template("{{ order }}").render(order=1)

        def test_template_is_hashable():
            hash(Template("x"))
    """
    found = {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == "AUD107"}
    assert found == {"test_render_order_page"}


def test_existence_only_is_right_when_existence_is_the_claim(tmp_path: Path) -> None:
    source = """
        import shop

        def test_parser_is_importable():
            assert shop.parser is not None

        def test_parser_parses():
            assert shop.parser.parse("1") is not None
    """
    found = {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == "AUD137"}
    assert found == {"test_parser_parses"}


def test_isinstance_of_an_object_just_built_is_a_tautology(tmp_path: Path) -> None:
    source = """
        import unittest
        from shop import Cart, make_cart

        class TestCart(unittest.TestCase):
            def setUp(self):
                self.cart = Cart()

            def test_cart(self):
                self.assertIsInstance(self.cart, Cart)

        def test_factory_builds_a_cart():
            assert isinstance(make_cart(), Cart)
    """
    found = {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == "AUD108"}
    assert found == {"test_cart"}


def test_a_redundant_not_none_beside_a_real_check_is_not_a_weak_test(tmp_path: Path) -> None:
    source = """
        from shop import Offset

        def test_offset_compares_with_foreign_objects():
            utc = Offset(0)
            assert utc is not None
            assert utc != "spam"

        def test_offset_exists():
            utc = Offset(0)
            assert utc is not None
    """
    found = {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == "AUD108"}
    assert found == {"test_offset_exists"}


def test_a_factory_helper_is_not_a_check_and_a_checking_helper_called_for_its_checks_is(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(
        "def make_app():\n    app = object()\n    assert app\n    return app\n\n"
        "def check_reply(reply):\n    assert reply == 1\n",
        encoding="utf-8",
    )
    source = """
        from helpers import check_reply, make_app

        def test_app_serves_pages():
            app = make_app()
            app.get("/")

        def test_reply_is_checked():
            check_reply(make_app())
    """
    assert {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == "AUD107"} == {
        "test_app_serves_pages"
    }


def test_an_asserting_fake_handed_to_the_code_counts_as_a_check(tmp_path: Path) -> None:
    source = """
        from shop import Client

        def fake_request(method, url):
            assert url == "/search"

        def test_search_sends_its_query(monkeypatch):
            monkeypatch.setattr(Client, "_request", fake_request)
            Client().search("q")
    """
    assert "AUD107" not in rule_ids(scan_source(tmp_path, source))


def test_a_method_call_on_a_local_object_is_not_a_project_helper_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("def close(thing):\n    assert thing.closed\n", encoding="utf-8")
    source = """
        import asyncio

        def test_lifespan_off():
            loop = asyncio.new_event_loop()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
    """
    assert "AUD153" in rule_ids(scan_source(tmp_path, source))


def test_building_a_test_client_is_not_a_check(tmp_path: Path) -> None:
    source = """
        from fastapi.testclient import TestClient
        from shop import app

        def test_static_files_are_served():
            client = TestClient(app)
            client.get("/static/")
    """
    assert "AUD107" in rule_ids(scan_source(tmp_path, source))


def test_broad_raises_pinned_by_the_caught_exception_is_not_broad(tmp_path: Path) -> None:
    source = """
        import pytest
        from shop import call

        def test_callback_error_reaches_the_caller():
            error = Exception()
            with pytest.raises(Exception) as caught:
                call(error)
            assert caught.value is error

        def test_rejects_negative():
            with pytest.raises(Exception):
                call(-5)
    """
    found = {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == "AUD122"}
    assert found == {"test_rejects_negative"}


def test_a_non_strict_xfail_is_weak_unless_it_expects_failure_only_somewhere(tmp_path: Path) -> None:
    source = """
        import sys
        import pytest
        from shop import rounding

        @pytest.mark.xfail(reason="bug 12")
        def test_round_half_up():
            assert rounding(2.5) == 3

        @pytest.mark.xfail(sys.implementation.name == "pypy", reason="no _files on pypy")
        def test_round_half_down():
            assert rounding(3.5) == 3
    """
    found = {(f.test_id.split("::")[-1], f.severity) for f in scan_source(tmp_path, source) if f.rule == "AUD123"}
    assert found == {("test_round_half_up", "medium")}


@pytest.mark.parametrize(("name", "doc", "claims"), [
    # the streams are what is done to the server; the claim is that it still serves
    ("test_still_healthy_after_a_burst_of_streams", None, {"liveness"}),
    # a request claim needs a client as its subject
    ("test_sdk_sends_stream_true", None, {"request"}),
    ("test_server_sends_no_cors_headers", None, {"content"}),
    ("test_every_response_carries_a_request_id", None, {"content"}),
    # completion: the last event, the order, from the name or the docstring
    ("test_stream_event_order", None, {"streaming", "completion"}),
    ("test_sse_events_are_parsed", "A well-formed sequence of events ending in message_stop.", {"streaming", "completion"}),
    ("test_create_order", None, {"content"}),
    ("test_messages_unmatched_stop_sequence_ends_the_turn", None, {"content"}),
])
def test_claims_separate_the_stimulus_and_the_subject(name: str, doc: str | None, claims: set[str]) -> None:
    assert static_claims(name, doc) == frozenset(claims)
