"""False alarms the third sealed half (bench/blind/fresh3/) and wild samples 5 and 6 showed once read: each on the form
the rule must leave alone and on the weak form it must still report."""

from __future__ import annotations

from pathlib import Path

from tests.test_claim_families import flagged


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


def test_helpers_of_a_base_class_are_not_lost_tests(tmp_path: Path) -> None:
    """mistletoe's ``BaseRendererTest.markdownResultTest`` (wild sample 6), called by subclasses in other modules."""
    source = """
        import unittest

        class BaseRendererTest(unittest.TestCase):
            def markdownResultTest(self, markdown, expected):
                self.assertEqual(self.renderer.render(Document(markdown)), expected)

        class Renderers(unittest.TestCase):
            def checkTest(self):
                self.assertEqual(render("*a*"), "<em>a</em>")
    """
    assert flagged(tmp_path, source, "AUD124") == {"checkTest"}


def test_checks_that_the_rules_misread_in_wild_sample_6(tmp_path: Path) -> None:
    source = """
        import pytest

        @pytest.mark.parametrize("lst, expected", CASES)
        def test_not_in_special_lists(lst, expected):
            with expected:
                "foo" not in lst

        def test_reflection(snapshot_json):
            assert snapshot_json == snapshot_json

        def test_not_in_list(lst):
            "foo" not in lst

        def test_build(self):
            a = SubBits()
            assert isinstance(a, SubBits)
    """
    assert flagged(tmp_path, source, "AUD127") == {"test_not_in_list"}
    assert flagged(tmp_path, source, "AUD108") == {"test_build"}


def test_what_the_product_reads_writes_or_decodes_is_no_self_written_value(tmp_path: Path) -> None:
    """The `path` project's ``Path`` and latexcodec's registered codec (wild sample 6)."""
    source = """
        import pathlib
        import path

        class TestReadWriteText:
            def test_read_write(self, tmpdir):
                file = path.Path(tmpdir) / "filename"
                file.write_text("hello world", encoding="utf-8")
                assert file.read_text(encoding="utf-8") == "hello world"

        def test_install_example_1():
            import latexcodec

            text_latex = b"\\\\'el\\\\`eve"
            assert text_latex.decode("latex") == "élève"

        def test_stdlib_round_trip(tmp_path):
            file = pathlib.Path(tmp_path) / "f"
            file.write_text("hello")
            assert file.read_text() == "hello"

        def test_utf8_literal():
            text = b"caf\\xc3\\xa9"
            assert text.decode("utf-8") == "café"
    """
    assert flagged(tmp_path, source, "AUD117") == {"test_stdlib_round_trip", "test_utf8_literal"}


def test_an_empty_body_under_a_project_decorator_is_the_decorators_test(tmp_path: Path) -> None:
    """mistletoe's ``@filesBasedTest`` renders a sample file and compares it (wild sample 6)."""
    source = """
        class TestJiraRenderer(BaseRendererTest):
            @filesBasedTest
            def test_render__quotes(self):
                pass

            def test_render__lists(self):
                pass
    """
    assert flagged(tmp_path, source, "AUD107") == set()
    assert flagged(tmp_path, source, "AUD114") == {"test_render__lists"}


def test_a_pattern_that_matches_is_not_a_mere_existence_check(tmp_path: Path) -> None:
    """omegaconf's ``SIMPLE_INTERPOLATION_PATTERN.match(expression) is not None`` (wild sample 6); a pattern the
    test writes itself is a format check of the product's output."""
    source = """
        import re

        def test_regex(expression):
            assert grammar_parser.SIMPLE_INTERPOLATION_PATTERN.match(expression) is not None

        def test_lookup(registry):
            assert registry.find("x") is not None

        def test_get_file_creation_date_formatted(path):
            assert re.match(r"\\d{4}-\\d{2}-\\d{2}", get_date(path)) is not None
    """
    assert flagged(tmp_path, source, "AUD137") == {"test_lookup", "test_get_file_creation_date_formatted"}


def test_a_value_returned_to_a_project_decorator_is_read_by_it(tmp_path: Path) -> None:
    """tinycss2's ``@json_test()`` compares the returned value with a JSON file (bench/blind/fresh4, spent)."""
    source = """
        import pytest

        @json_test()
        def test_declaration_list(input):
            return parse_declaration_list(input, skip_comments=True)

        @pytest.mark.parametrize("input", CASES)
        def test_rule_list(input):
            return parse_rule_list(input)
    """
    assert flagged(tmp_path, source, "AUD107") == {"test_rule_list"}


def test_a_class_nested_in_a_testcase_is_test_data(tmp_path: Path) -> None:
    """unittest-xml-reporting's ``XMLTestRunnerTestCase.DummyTest`` (wild sample 7): pytest collects only the
    TestCase's own methods, so the nested dummy's skips and empty bodies are inputs for the runner tests."""
    source = """
        import unittest

        class XMLTestRunnerTestCase(unittest.TestCase):
            class DummyTest(unittest.TestCase):
                @unittest.skip("demonstrating skipping")
                def test_skip(self):
                    pass

                def test_pass(self):
                    pass

            def test_basic_unittest_constructs(self):
                self.assertEqual(run(self.DummyTest), 2)

        class TestPlain:
            class TestInner:
                def test_inner(self):
                    pass
    """
    assert flagged(tmp_path, source, "AUD113") == set()
    assert flagged(tmp_path, source, "AUD114") == {"test_inner"}
