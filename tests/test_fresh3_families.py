"""False alarms the third sealed half (bench/blind/fresh3/) showed once its last look was spent: each on the form
the rule must leave alone and on the weak form it must still report."""

from __future__ import annotations

from pathlib import Path

from tests.test_claim_families import flagged


def test_a_regex_match_is_a_pattern_check_not_a_truthy_object(tmp_path: Path) -> None:
    source = r"""
        import re

        def test_output_force(capsys, tmp_path):
            render(tmp_path, overwrite=True)
            _, err = capsys.readouterr()
            assert re.search(r"conflict[^\s]*  config\.py", err)
            assert re.search(r"identical[^\s]*  pyproject\.toml", err)

        def test_version_string():
            assert VERSION_RE.fullmatch(get_version())

        def test_search_finds_the_page(index):
            hits = index.search("falcon")
            assert hits
    """
    assert flagged(tmp_path, source, "AUD138") == {"test_search_finds_the_page"}


def test_pytest_hooks_and_unittest_run_test_are_not_lost_tests(tmp_path: Path) -> None:
    """fastjsonschema's ``pytest_generate_tests`` and schedula's ``TestDoctest.runTest`` (wild sample 5)."""
    source = """
        import unittest

        def pytest_generate_tests(metafunc):
            assert metafunc.fixturenames
            metafunc.parametrize("case", CASES)

        class TestDoctest(unittest.TestCase):
            def runTest(self):
                failures, count = doctest.testfile("README.rst")
                self.assertGreater(count, 0)
                self.assertEqual(failures, 0)

        def Test_parse_hook():
            assert parse("1") == 1
    """
    assert flagged(tmp_path, source, "AUD124") == {"Test_parse_hook"}
