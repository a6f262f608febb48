"""False alarms of the value rules (status, sign, length, truthiness, type, literal, own computation) and of the
structure rules (skip, empty body, benchmark, collection) that the labelled strangers' tests showed
(bench/blind/wild/, the tuning halves): each on the form the rule must leave alone and on the weak form it must
still report."""

from __future__ import annotations

from pathlib import Path

from auditor.collect.rules import catalogue  # noqa: F401 - registers every rule
from auditor.collect.rules.registry import lookup
from tests.test_claim_families import flagged


def test_a_route_under_a_version_prefix_or_scheme_is_a_status_claim(tmp_path: Path) -> None:
    source = """
        def test_bp_group_use_bp(app):
            _, response = app.test_client.get("/v1.1")
            assert response.status == 200

        def testDecoratorForceHttps(self):
            response = self.client.get("/noforcehttps")
            self.assertEqual(response.status_code, 200)

        def test_chat_valid_schema_reaches_provider(client):
            assert client.post("/v1/chat", json={"model": "m"}).status_code == 200

        def test_no_content_length(client):
            resp = client.get("/no-length")
            assert resp.status_code == 200
    """
    assert flagged(tmp_path, source, "AUD104") == {"test_no_content_length"}


def test_a_fed_counter_or_a_score_threshold_is_more_than_a_sign(tmp_path: Path) -> None:
    source = """
        def test_soft_cancel_tracks_usage(runner):
            result = runner.run("hi")
            assert result.usage.requests > 0

        def test_big5_scores_high_on_big5_data():
            score = structural_score(BIG5_BYTES, "big5hkscs")
            assert score > 0.7

        def test_gpt4o_and_gpt4_differ():
            '''The two tokenizers should give different counts on long text.'''
            a = count(TEXT, tokenizer="gpt-4o")
            b = count(TEXT, tokenizer="gpt-4")
            assert a > 0 and b > 0

        def test_response_body_size(metrics):
            assert float(metrics.body_size) > 0.1
    """
    assert flagged(tmp_path, source, "AUD148") == {"test_gpt4o_and_gpt4_differ", "test_response_body_size"}


def test_a_length_that_must_differ_or_counts_a_written_out_list_is_not_a_format(tmp_path: Path) -> None:
    source = """
        def test_stdout_callback_no_wait(run):
            lines = run_in_background(run)
            assert len(lines) != 5

        def test_auto_object_proxy():
            assert len(Proxy([1, 2, 3])) == 3

        def test_set_tab_color():
            assert len(set_tab_color("#1f1f1f")) == 84
    """
    assert flagged(tmp_path, source, "AUD151") == {"test_set_tab_color"}


def test_a_skip_because_the_machine_lacks_a_capability_is_not_a_hidden_failure(tmp_path: Path) -> None:
    source = """
        import os
        import pytest

        def test_symlink_escape_is_rejected(tmp_path):
            try:
                os.symlink("/etc", tmp_path / "link")
            except OSError as exc:
                pytest.skip(f"symlink unavailable: {exc}")
            with pytest.raises(EscapeError):
                resolve(tmp_path / "link")

        def test_live(client):
            try:
                assert client.get("/health").json() == {"ok": True}
            except ConnectionError:
                pytest.skip("server unavailable")
    """
    assert flagged(tmp_path, source, "AUD112") == {"test_live"}


def test_a_literal_that_is_only_the_start_value_is_not_self_written(tmp_path: Path) -> None:
    source = """
        def test_finds_the_dos_group():
            groups = compute_groups()
            found = None
            for group in groups:
                if "cp437" in group:
                    found = group
            assert found is not None

        def test_two_of_three_succeed(responses):
            ok = 0
            for response in responses:
                if response.status_code == 200:
                    ok += 1
            assert ok == 2

        def test_debug_setting():
            settings = {"debug": True}
            assert settings["debug"] == True
    """
    assert flagged(tmp_path, source, "AUD117") == {"test_debug_setting"}


def test_an_item_set_on_a_fixture_or_a_wrapping_decorator_keeps_the_product_in_the_test(tmp_path: Path) -> None:
    source = """
        import datetime
        import os

        def test_reversed(cache):
            for num in range(10):
                cache[num] = num
            assert list(cache) == list(reversed(list(reversed(cache))))

        @freeze_time("2012-01-14", auto_tick_seconds=15)
        def test_auto_tick():
            first = datetime.datetime.now()
            second = datetime.datetime.now()
            assert first + datetime.timedelta(seconds=15) == second

        def test_destinations(tmp_path):
            allowed = {}
            for arg in ["img=img", "doc=../doc"]:
                key, rel = arg.split("=", 1)
                if not os.path.normpath(rel).startswith(".."):
                    allowed[key] = os.path.join(tmp_path, rel)
            assert list(allowed) == ["img"]
    """
    assert flagged(tmp_path, source, "AUD142") == {"test_destinations"}


def test_a_flag_a_looked_up_predicate_or_a_claimed_truth_is_an_answer(tmp_path: Path) -> None:
    source = """
        def test_cancel_scope_catches(scope_factory):
            cancel_scope = scope_factory()
            assert cancel_scope.cancelled_caught

        def test_conditions(data):
            assert getattr(conditions, data[0])(data[1], data[2])

        def test_bound_via_meta(form):
            assert getattr(form.entry, "_bound_via_meta", False)

        def test_flush_returns_nonzero(channel):
            result = channel.flush_some()
            assert result

        def test_split():
            parts = split_template("a{b}c")
            assert parts
    """
    assert flagged(tmp_path, source, "AUD138") == {"test_split"}


def test_a_stated_non_none_or_have_claim_is_existence(tmp_path: Path) -> None:
    source = """
        def test_pre_release_has_pre_segment(version):
            '''A pre-release version has a non-None pre attribute.'''
            assert version.pre is not None

        def test_have_about_data():
            assert __title__ is not None

        def test_sync_client_creation():
            '''get_sync_client returns an OpenAI client.'''
            client = get_sync_client("openai", "sk-test")
            assert client is not None
    """
    assert flagged(tmp_path, source, "AUD137") == {"test_sync_client_creation"}


def test_a_type_check_in_a_test_that_claims_nothing_raises_is_extra(tmp_path: Path) -> None:
    source = """
        def test_wrap_tabsize_zero_passes_through():
            '''wrap() accepts tabsize=0 without raising.'''
            assert isinstance(wrap("a\\tb", 3, tabsize=0), list)

        def test_machine_id():
            assert isinstance(get_machine_id(), bytes)
    """
    assert flagged(tmp_path, source, "AUD139") == {"test_machine_id"}


def test_a_clock_read_as_input_is_no_benchmark(tmp_path: Path) -> None:
    source = """
        import time

        def test_decode_skip_expiration_verification(jwt, payload):
            payload["exp"] = time.time() - 1
            jwt.decode(jwt.encode(payload, "secret"), "secret", options={"verify_exp": False})

        def test_speed(client):
            start = time.perf_counter()
            for _ in range(100):
                client.get("/x")
            print("took", time.perf_counter() - start)
    """
    assert flagged(tmp_path, source, "AUD115") == {"test_speed"}


def test_an_empty_test_under_a_product_decorator_tests_the_decorator(tmp_path: Path) -> None:
    source = """
        import pytest
        from unittest import mock

        @vcr.use_cassette("fixtures.yaml")
        def test_fixtures_with_use_cassette(random_fixture):
            # use_cassette must keep the signature, or pytest cannot inject random_fixture
            pass

        @pytest.mark.slow
        def test_todo():
            pass

        @mock.patch("app.send")
        def test_sends(send):
            pass
    """
    assert flagged(tmp_path, source, "AUD114") == {"test_todo", "test_sends"}


def test_a_check_less_function_with_test_inside_another_word_is_not_a_lost_test(tmp_path: Path) -> None:
    source = """
        class TestTaskStatusTyping:
            '''These are checked by the static type checker, not run.'''

            async def typetest_none(self, *, task_status):
                task_status.started()

            def tset_started(self, status):
                assert status.started() is None
    """
    assert {name.split("::")[-1] for name in flagged(tmp_path, source, "AUD124")} == {"tset_started"}


def test_a_pinned_status_beside_a_key_that_exists_is_still_existence_only(tmp_path: Path) -> None:
    source = """
        def test_validation_error_handler(client):
            response = client.post("/items", json={"name": "x"})
            assert response.status_code == 422
            assert "errors" in response.json()

        def test_create_by_deployment(client):
            prediction = client.predictions.create(deployment="app", input={"text": "x"})
            assert prediction.id is not None
            assert prediction.status == "starting"

        def test_validation_error_named(client):
            response = client.post("/items", json={"name": "x"})
            assert response.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY
            assert "errors" in response.json()

        def test_validation_error_lists_the_field(client):
            response = client.post("/items", json={"name": "x"})
            assert response.status_code == 422
            assert response.json()["errors"][0]["loc"] == ["body", "value"]
    """
    assert flagged(tmp_path, source, "AUD137") == {"test_validation_error_handler", "test_validation_error_named"}


def test_two_spellings_of_one_answer_are_common_enough_to_make_alternatives_a_remark() -> None:
    assert lookup("AUD140").severity == "low"
