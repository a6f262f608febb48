"""Weak-test families that the labelled claims suite (tests/fixtures/claims_project) showed the static rules
missing: each rule on its bad form and on the good form it must leave alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.claims import static_claims
from tests.test_rules import scan_source


def flagged(tmp_path: Path, source: str, rule: str) -> set[str]:
    return {f.test_id.split("::")[-1] for f in scan_source(tmp_path, source) if f.rule == rule}


@pytest.mark.parametrize(("name", "doc", "claims"), [
    # the server is what must survive: a client that raises nothing says nothing about it
    ("test_cancel_stream_does_not_crash", "Cancelling a stream half-way must not crash the server.", {"liveness"}),
    ("test_gives_up_early", "A client that gives up does not take the server down.", {"liveness"}),
    ("test_half_sent_request_does_not_crash_the_server", None, {"liveness"}),
    # the code called is what must not raise
    ("test_parser_does_not_crash", "Bad input must not crash the parser.", {"does-not-raise"}),
    ("test_close_twice_does_not_raise", None, {"does-not-raise"}),
])
def test_a_server_that_must_survive_is_a_liveness_claim(name: str, doc: str | None, claims: set[str]) -> None:
    assert static_claims(name, doc) == frozenset(claims)


def test_no_assertion_is_weak_when_the_server_must_survive(tmp_path: Path) -> None:
    source = '''
        def test_cancel_stream_does_not_crash(client):
            """Cancelling a stream half-way must not crash the server."""
            with client.stream("POST", "/v1/chat") as response:
                next(response.iter_lines())

        def test_closing_the_client_twice_does_not_raise(client):
            client.close()
            client.close()
    '''
    assert flagged(tmp_path, source, "AUD107") == {"test_cancel_stream_does_not_crash"}


def test_a_mock_the_test_calls_itself_proves_nothing(tmp_path: Path) -> None:
    source = """
        from unittest import mock

        from shop import Shop, checkout

        def test_sdk_called_with_the_order(sdk):
            with mock.patch.object(sdk.orders, "create") as create:
                sdk.orders.create(item="tea", count=2)
            create.assert_called_once_with(item="tea", count=2)

        def test_checkout_creates_the_order(sdk):
            with mock.patch.object(sdk.orders, "create") as create:
                checkout(sdk, basket={"tea": 2})
            create.assert_called_once_with(item="tea", count=2)
    """
    assert flagged(tmp_path, source, "AUD117") == {"test_sdk_called_with_the_order"}


def test_a_header_or_body_that_only_exists_is_existence_only(tmp_path: Path) -> None:
    source = """
        def test_prefill_time_is_bounded(client):
            response = client.post("/v1/messages", json={})
            assert "server-timing" in response.headers

        def test_client_sends_the_json_body(quill):
            sent = quill.ask("Say OK")
            assert sent.request.content

        def test_prefill_time_is_under_a_second(client):
            response = client.post("/v1/messages", json={})
            assert float(response.headers["server-timing"].split("dur=")[1]) < 1000

        def test_server_timing_header_is_present(client):
            response = client.post("/v1/messages", json={})
            assert "server-timing" in response.headers
    """
    found = flagged(tmp_path, source, "AUD137")
    assert found == {"test_prefill_time_is_bounded", "test_client_sends_the_json_body"}


def test_several_responses_checked_only_for_ok_are_status_only(tmp_path: Path) -> None:
    source = """
        import requests

        def test_state_persists_across_turns(base_url):
            r1 = requests.post(f"{base_url}/v1/messages", json={"q": 1})
            r2 = requests.post(f"{base_url}/v1/messages", json={"q": 2})
            assert r1.ok and r2.ok

        def test_second_turn_reads_the_cache(base_url):
            r1 = requests.post(f"{base_url}/v1/messages", json={"q": 1})
            r2 = requests.post(f"{base_url}/v1/messages", json={"q": 2})
            assert r1.ok and r2.json()["usage"]["cache_read_input_tokens"] > 0
    """
    assert flagged(tmp_path, source, "AUD104") == {"test_state_persists_across_turns"}


def test_a_success_range_spelt_with_and_is_one_status_assertion(tmp_path: Path) -> None:
    source = """
        def test_items(client):
            r = client.get("/items")
            assert r.status_code >= 200 and r.status_code < 300
            assert r.json() == []
    """
    assert not {f.rule for f in scan_source(tmp_path, source)} & {"AUD101", "AUD102", "AUD103", "AUD104"}


def test_a_test_pytest_misses_by_its_name_still_gets_its_other_findings(tmp_path: Path) -> None:
    # AUD124 says it never runs; AUD108 says what will be wrong with it the day it is renamed
    source = """
        def tset_totals():
            total = 3
            assert total == total

        class TestDisabled:
            __test__ = False

            def test_totals(self):
                total = 3
                assert total == total
    """
    found = {(f.rule, (f.test_id or "").split("::")[-1]) for f in scan_source(tmp_path, source)}
    assert ("AUD108", "tset_totals") in found
    assert not {rule for rule, name in found if name == "test_totals"} - {"AUD126"}


def test_a_comment_in_the_body_states_the_claim_as_a_docstring_would(tmp_path: Path) -> None:
    source = """
        from shop import Template

        def test_render_with_unicode_name():
            # just checking that rendering does not raise
            Template("{{ name }}").render(name="Zoë")

        def test_render_order_page():
            # the page for order 1
            Template("{{ order }}").render(order=1)
    """
    assert flagged(tmp_path, source, "AUD107") == {"test_render_order_page"}


def test_a_routing_word_exempts_status_only_as_a_word_not_inside_another(tmp_path: Path) -> None:
    source = """
        def test_mapping_is_created(client):
            r = client.post("/mappings", json={"a": 1})
            assert r.status_code == 201

        def test_unknown_route_is_not_found(client):
            r = client.get("/nowhere")
            assert r.status_code == 200

        def test_still_healthy_after_a_burst_of_streams(client):
            burst(client)
            r = client.get("/v1/models")
            assert r.status_code == 200
    """
    assert flagged(tmp_path, source, "AUD104") == {"test_mapping_is_created"}


def test_existence_read_through_hasattr_json_keys_and_unittest_asserts(tmp_path: Path) -> None:
    source = """
        import unittest

        from shop import Publisher

        def test_validation_error_names_the_field(client):
            r = client.post("/items", json={})
            assert "errors" in r.json()

        def test_validation_error_names_the_missing_field(client):
            r = client.post("/items", json={})
            assert r.json()["errors"][0]["field"] == "name"

        class TestPublisher(unittest.TestCase):
            def test_publish(self):
                self.assertTrue(hasattr(Publisher().publish, "__call__"))

            def test_has_publish(self):
                self.assertTrue(hasattr(Publisher(), "publish"))

            def test_publisher_is_built(self):
                self.assertIsNotNone(Publisher())
    """
    found = flagged(tmp_path, source, "AUD137")
    assert found == {"test_validation_error_names_the_field", "test_publish", "test_publisher_is_built"}
