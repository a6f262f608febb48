"""A check of a caught error written inside its own ``pytest.raises`` block (AUD155): the form cbor2's
``test_encoders_load_type`` has (bench/blind/fresh2, labelled weak), and the forms that check the same thing alive."""

from __future__ import annotations

from pathlib import Path

from tests.test_claim_families import flagged


def test_a_message_check_inside_the_raises_block_never_runs(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_encoders_load_type(encoder):
            with pytest.raises(ValueError) as exc:
                encoder.encode(object())
                assert str(exc.value).endswith("invalid deferred encoder type")

        class TestNames(unittest.TestCase):
            def test_unknown_key(self):
                with self.assertRaises(KeyError) as cm:
                    lookup("k")
                    self.assertEqual(cm.exception.args, ("k",))

        def test_message_below_the_block(encoder):
            with pytest.raises(ValueError) as exc:
                encoder.encode(object())
            assert str(exc.value).endswith("invalid deferred encoder type")
    """
    assert flagged(tmp_path, source, "AUD155") == {"test_encoders_load_type", "test_unknown_key"}


def test_a_dead_line_that_repeats_what_the_block_checks_is_no_loss(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_type_again(decoder):
            with pytest.raises(ValueError) as exc:
                decoder.decode(b"\\xff")
                assert isinstance(exc.value, ValueError)

        def test_type_attribute(decoder):
            with pytest.raises(ValueError) as exc:
                decoder.decode(b"\\xff")
                assert exc.type is ValueError

        def test_message_matched_by_the_block(decoder):
            with pytest.raises(ValueError, match="invalid") as exc:
                decoder.decode(b"\\xff")
                assert "invalid" in str(exc.value)

        def test_helper_defined_in_the_block(decoder):
            with pytest.raises(ValueError) as exc:
                def later():
                    assert "invalid" in str(exc.value)
                decoder.decode(b"\\xff", on_error=later)
    """
    assert flagged(tmp_path, source, "AUD155") == set()
