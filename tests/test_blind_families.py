"""Families that the retired test half of the blind set (bench/blind/README.md) showed the static rules
getting wrong once it was opened for tuning: each on its bad form and on the good form it must leave alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.claims import static_claims
from tests.test_claim_families import flagged
from tests.test_rules import scan_source


@pytest.mark.parametrize(("name", "said"), [
    ("test_default_client_creation", "Ensure that the client can be initialized without any exceptions"),
    ("test_guard_skips_uninspectable", "must be treated as can't tell, don't block, rather than crashing."),
    ("test_hookspec_with_self", "A hookspec with self does not emit a DeprecationWarning."),
    ("test_hookspec_with_self_no_warning", None),
    ("test_multi_init", "test that the middleware is happy being initialised multiple times"),
])
def test_stated_does_not_raise_claims(name: str, said: str | None) -> None:
    assert "does-not-raise" in static_claims(name, said)


@pytest.mark.parametrize(("name", "said"), [
    ("test_pickling_bug", "prior to the fix, this would raise an AttributeError"),
    ("test_lri_cache_eviction", "will error here since we evict key1"),
    ("test_simple", "Instantiation works."),
])
def test_a_raise_mentioned_is_not_a_does_not_raise_claim(name: str, said: str) -> None:
    assert "does-not-raise" not in static_claims(name, said)


def test_a_trailing_comment_states_the_claim(tmp_path: Path) -> None:
    source = """
        def test_unregister_unknown_key(registry):
            registry.unregister("never-registered")  # should not raise

        def test_unregister_unknown_key_logs(registry):
            registry.unregister("never-registered  # should not raise")
    """
    assert flagged(tmp_path, source, "AUD153") == {"test_unregister_unknown_key_logs"}


def test_checks_run_by_a_base_test_or_a_helper_instance_count(tmp_path: Path) -> None:
    source = """
        class Pair:
            def send(self, event):
                assert self.peer.receive(event) == [event]

        class TestCookies:
            def test_valid(self):
                assert decode(encode({"a": 1})) == {"a": 1}

        class TestPickledCookies(TestCookies):
            def test_valid(self):
                super().test_valid()

        def test_spontaneous_timeout():
            p = Pair()
            p.send(Response(status_code=408))

        def test_send_to_a_product_connection():
            c = Connection()
            c.send(Response(status_code=408))
    """
    assert flagged(tmp_path, source, "AUD107") == {"test_send_to_a_product_connection"}


def test_a_missing_build_artefact_is_an_environment_skip(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_translations():
            try:
                activate("fr")
                assert naturaltime(3) == "il y a 3 secondes"
            except FileNotFoundError:
                pytest.skip("compile the catalogs first")

        def test_live_server(client):
            try:
                assert client.get("/health").json() == {"ok": True}
            except ConnectionError:
                pytest.skip("server not running")
    """
    assert flagged(tmp_path, source, "AUD112") == {"test_live_server"}


def test_a_text_in_its_own_str_is_a_tautology(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_custom_message():
            expected = "4 is not one of 1, 2, 3"
            with pytest.raises(ValidationError):
                one_of(4)
            assert expected in str(expected)

        def test_custom_message_is_used():
            expected = "4 is not one of 1, 2, 3"
            with pytest.raises(ValidationError) as caught:
                one_of(4)
            assert expected in str(caught.value)
    """
    # pytest.raises still checks the error's class, so the dead line is reported as a stray one (AUD154, LOW)
    assert flagged(tmp_path, source, "AUD154") == {"test_custom_message"}
    assert flagged(tmp_path, source, "AUD108") == set()


def test_signs_joined_by_and_are_sign_only(tmp_path: Path) -> None:
    source = """
        def test_gpt4o_and_gpt4_counts(text):
            a = count(text, tokenizer="gpt-4o")
            b = count(text, tokenizer="gpt-4")
            assert a > 0 and b > 0

        def test_response_body_size(metrics):
            assert float(metrics.value("response_body_bytes")) > 0.1

        def test_gpt4o_and_gpt4_counts_pinned(text):
            a = count(text, tokenizer="gpt-4o")
            assert a > 0 and a == 14
    """
    assert flagged(tmp_path, source, "AUD148") == {"test_gpt4o_and_gpt4_counts", "test_response_body_size"}
