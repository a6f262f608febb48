"""A check of a caught error written inside its own ``pytest.raises`` block: reported as a weak test (AUD155)
when the test claims the error's message, as a stray dead line (AUD154, LOW) when pytest.raises still checks
what it claims. From pyjwt's ``test_missing_crypto_library_good_error_message`` and cbor2's
``test_encoders_load_type`` (bench/blind/wild/sample5.json, bench/blind/fresh2)."""

from __future__ import annotations

from pathlib import Path

from tests.test_claim_families import flagged


def test_a_claimed_message_checked_inside_the_raises_block_is_never_checked(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_missing_crypto_library_good_error_message(jwk):
            with pytest.raises(NotImplementedError) as excinfo:
                PyJWK(jwk)
                assert "cryptography" in str(excinfo.value)

        class TestNames(unittest.TestCase):
            def test_unknown_key_message(self):
                with self.assertRaises(KeyError) as cm:
                    lookup("k")
                    self.assertEqual(cm.exception.args, ("k",))

        def test_missing_crypto_library_better_error_messages(jwk):
            with pytest.raises(NotImplementedError) as excinfo:
                PyJWK(jwk)
            assert "cryptography" in str(excinfo.value)
    """
    assert flagged(tmp_path, source, "AUD155") == {
        "test_missing_crypto_library_good_error_message", "test_unknown_key_message"}
    assert flagged(tmp_path, source, "AUD154") == set()


def test_without_a_message_claim_the_raised_error_is_still_checked(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_encoders_load_type(encoder):
            with pytest.raises(ValueError) as exc:
                encoder.encode(object())
                assert str(exc.value).endswith("invalid deferred encoder type")
    """
    assert flagged(tmp_path, source, "AUD155") == set()
    assert flagged(tmp_path, source, "AUD154") == {"test_encoders_load_type"}


def test_a_dead_line_that_repeats_what_the_block_checks_is_no_loss(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_type_again_message(decoder):
            with pytest.raises(ValueError) as exc:
                decoder.decode(b"\\xff")
                assert isinstance(exc.value, ValueError)

        def test_type_attribute_message(decoder):
            with pytest.raises(ValueError) as exc:
                decoder.decode(b"\\xff")
                assert exc.type is ValueError

        def test_message_matched_by_the_block(decoder):
            with pytest.raises(ValueError, match="invalid") as exc:
                decoder.decode(b"\\xff")
                assert "invalid" in str(exc.value)

        def test_message_helper_defined_in_the_block(decoder):
            with pytest.raises(ValueError) as exc:
                def later():
                    assert "invalid" in str(exc.value)
                decoder.decode(b"\\xff", on_error=later)
    """
    assert flagged(tmp_path, source, "AUD155") == set()
    assert flagged(tmp_path, source, "AUD154") == set()
