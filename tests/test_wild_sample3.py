"""False alarms that the third blind sample of strangers' flagged tests showed (bench/blind/wild/sample3.json,
a tuning set since it was read): each on the form the rule must leave alone and on the weak form it must still
report."""

from __future__ import annotations

from pathlib import Path

from auditor.collect.rules import catalogue  # noqa: F401 - registers every rule
from auditor.collect.rules.registry import lookup
from tests.test_claim_families import flagged


def test_a_mypy_testing_case_is_checked_by_its_plugin(tmp_path: Path) -> None:
    source = """
        import pytest
        from pydash import repeat

        @pytest.mark.mypy_testing
        def test_mypy_repeat() -> None:
            reveal_type(repeat("a", 3))  # R: builtins.str

        def test_repeat_prints():
            print(repeat("a", 3))
    """
    assert flagged(tmp_path, source, "AUD107") == {"test_repeat_prints"}
    assert flagged(tmp_path, source, "AUD115") == set()


def test_a_class_named_as_a_base_is_inherited_elsewhere_not_lost(tmp_path: Path) -> None:
    source = """
        class BaseCacheTest:
            def test_all_methods(self, session):
                assert session.get("/get").from_cache is False

        class CacheTests:
            def test_expiry(self, session):
                assert session.get("/get").from_cache is False
    """
    assert flagged(tmp_path, source, "AUD124") == {"test_expiry"}


def test_a_helper_that_compares_answers_yes_or_no(tmp_path: Path) -> None:
    source = """
        def test_create_parser():
            parser = create_parser(cfg)
            assert parsers_args_equal(expected, parser)

        def test_parse_args():
            options = parse_args(["--x", "1"])
            assert options
    """
    assert flagged(tmp_path, source, "AUD138") == {"test_parse_args"}


def test_a_skip_for_a_feature_the_provider_lacks_is_the_environment(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_notrequired_fail(typing_provider):
            try:
                NotRequired = typing_provider.NotRequired
            except AttributeError:
                pytest.skip(f"'NotRequired' not found in {typing_provider.__name__!r}")
            with pytest.raises(TypeCheckError, match="key 'y'"):
                check_type({"y": "foo"}, make_dict(NotRequired))

        def test_live(client):
            try:
                assert client.get("/users/1").json()["id"] == 1
            except KeyError:
                pytest.skip("user not found")
    """
    assert flagged(tmp_path, source, "AUD112") == {"test_live"}


def test_a_permission_grant_is_a_status_claim(tmp_path: Path) -> None:
    source = """
        def test_is_admin_grants_staff_user(client):
            assert client.get("/admin/").status_code == 200

        def test_admin_page(client):
            assert client.get("/admin/").status_code == 200
    """
    assert flagged(tmp_path, source, "AUD104") == {"test_admin_page"}


def test_a_name_that_claims_something_triggers_or_resolves_claims_existence(tmp_path: Path) -> None:
    source = """
        def test_recommended_profile_triggers_style_rules(run):
            assert len(run("--profile", "recommended")["BS"]) > 0

        def test_lint_report(run):
            assert len(run("--profile", "recommended")["BS"]) > 0
    """
    assert flagged(tmp_path, source, "AUD137") == {"test_lint_report"}


def test_a_length_alone_is_a_remark_since_counts_are_often_the_claim() -> None:
    assert lookup("AUD151").severity == "low"


def test_within_is_a_timing_claim_only_before_a_time(tmp_path: Path) -> None:
    source = """
        def test_backend_path_within_tree(tmp_path):
            BuildBackendHookCaller(str(tmp_path), "dummy", backend_path=["../pkg"])

        def test_answers_within_2s(client):
            client.get("/slow")
    """
    assert flagged(tmp_path, source, "AUD107") == {"test_answers_within_2s"}


def test_a_spread_above_zero_is_the_claim_of_a_no_constant_test(tmp_path: Path) -> None:
    source = """
        def test_no_section_is_constant_across_variants(design):
            assert design.matrix().std(axis=0).min() > 0

        def test_design_matrix(design):
            assert design.matrix().std(axis=0).min() > 0
    """
    assert flagged(tmp_path, source, "AUD148") == {"test_design_matrix"}


def test_an_error_that_exists_is_the_claim_of_a_failure_test(tmp_path: Path) -> None:
    source = """
        def test_a_stream_with_no_completed_turn_is_a_failure():
            assert parse_events(EVENTS[:2]).error is not None

        def test_parse_events():
            assert parse_events(EVENTS).result is not None
    """
    assert flagged(tmp_path, source, "AUD137") == {"test_parse_events"}
