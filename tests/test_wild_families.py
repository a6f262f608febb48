"""False alarms that a blind sample of flagged tests from strangers' suites showed (bench/blind/wild/): each on
the form the rule must leave alone and on the weak form it must still report."""

from __future__ import annotations

from pathlib import Path

from auditor.collect.rules import catalogue  # noqa: F401 - registers every rule
from auditor.collect.rules.registry import lookup
from tests.test_claim_families import flagged
from tests.test_rules import scan_source


def test_a_sure_chain_is_a_check_and_no_misspelt_mock_assertion(tmp_path: Path) -> None:
    source = """
        from sure import expect

        def test_passes_through_getpeername(s):
            expect(s.getpeername).called_with().should_not.throw(AttributeError)

        def test_querystring(last_request):
            last_request.querystring.should.equal({"foo": ["bar"]})

        def test_notifies(mailer):
            send_welcome(mailer)
            mailer.send.called_once_with("hi")
    """
    assert flagged(tmp_path, source, "AUD129") == {"test_notifies"}
    assert flagged(tmp_path, source, "AUD107") == set()


def test_comparing_a_value_with_itself_is_the_point_of_some_tests(tmp_path: Path) -> None:
    source = """
        def test_comparison_methods_for_abs_min():
            assert abs_min <= abs_min

        def test_caching(raw):
            meta = Metadata.from_raw(raw)
            assert meta.version is meta.version

        def test_slugify_title():
            value = slugify("Hello World")
            assert value == value
    """
    assert flagged(tmp_path, source, "AUD108") == {"test_slugify_title"}


def test_not_none_after_a_construction_that_must_not_raise(tmp_path: Path) -> None:
    source = """
        def test_connect_without_openai_key(monkeypatch):
            monkeypatch.delenv("OPENAI_API_KEY", raising=False)
            # This should not raise an error
            chat = ChatAzure()
            assert chat is not None

        def test_connect_returns_a_chat(monkeypatch):
            chat = connect(model="x")
            assert chat is not None
    """
    assert flagged(tmp_path, source, "AUD137") == {"test_connect_returns_a_chat"}


def test_acceptance_is_a_status_claim(tmp_path: Path) -> None:
    source = """
        def test_authorized_api_key(client):
            response = client.post("/predict", headers={"X-API-Key": "abcd"}, json={"input": 4.0})
            assert response.status_code == 200

        def test_allows_requests_within_limit(client):
            for _ in range(3):
                assert client.get("/").status_code == 200

        def test_predict(client):
            response = client.post("/predict", json={"input": 4.0})
            assert response.status_code == 200
    """
    assert flagged(tmp_path, source, "AUD104") == {"test_predict"}


def test_a_named_absence_is_the_claim_of_a_negative_test(tmp_path: Path) -> None:
    source = """
        def test_does_not_inject_extra_body(hook):
            out = hook(model="kimi-k3", tool_choice="required")
            assert "extra_body" not in out

        def test_reply_has_no_error(client):
            r = client.post("/chat", json={"q": "hi"})
            assert "error" not in r.text
    """
    assert flagged(tmp_path, source, "AUD119") == {"test_reply_has_no_error"}


def test_a_skip_of_one_known_failure_that_re_raises_the_rest(tmp_path: Path) -> None:
    source = """
        import pytest

        def test_max_example():
            try:
                assert maximum([2, 5, 1]) == 5
            except TypeError as e:
                if "_NoValueType" in str(e):
                    pytest.skip("numpy too old")
                raise

        def test_live(client):
            try:
                assert client.get("/health").json() == {"ok": True}
            except ConnectionError:
                pytest.skip("server not running")
    """
    assert flagged(tmp_path, source, "AUD112") == {"test_live"}


def test_a_loose_message_check_beside_an_exact_one_is_a_remark(tmp_path: Path) -> None:
    source = """
        def test_timeout_handling(tool):
            result = tool.run()
            assert "error" in result.lower() or "occurred" in result.lower()
            assert result == "An error occurred while running the tool."

        def test_list_civilizations(bot):
            text = bot.reply("/list")
            assert "/britons" in text or "/celts" in text
    """
    assert flagged(tmp_path, source, "AUD140") == {"test_list_civilizations"}


def test_conditional_assertion_and_broad_raises_are_smells_not_weak_tests() -> None:
    assert lookup("AUD110").severity == "low"
    assert lookup("AUD122").severity == "low"


def test_an_integration_folder_alone_does_not_make_a_suite_real_infrastructure(tmp_path: Path) -> None:
    source = """
        import responses

        @responses.activate
        def test_replays_a_recorded_cassette():
            responses.add(responses.GET, "http://example.com", body="ok")
            assert fetch("http://example.com") == "ok"
    """
    for folder, expected in (("integration", set()), ("e2e", {"AUD120"})):  # a library's integration/ mocks on purpose
        (tmp_path / folder).mkdir()
        found = scan_source(tmp_path, source, name=f"{folder}/test_cassette.py")
        assert {f.rule for f in found} & {"AUD120"} == expected


def test_a_class_on_an_imported_test_case_base_may_be_collected(tmp_path: Path) -> None:
    source = """
        from cherrypy.test import helper
        from . import test_es

        class ObjectMappingTest(helper.CPWebCase):
            def test_index(self):
                self.getPage("/")
                self.assertBody("world")

        class Num2WordsESCOTest(test_es.Num2WordsESTest):
            def test_number(self):
                self.assertEqual(num2words(1, lang="es_CO"), "uno")

        class ApiChecks:
            def test_health(self):
                assert get("/health").status_code == 200
    """
    assert flagged(tmp_path, source, "AUD124") == {"test_health"}


def test_a_test_without_checks_is_no_assertion_only_when_it_shows_it_wanted_one(tmp_path: Path) -> None:
    source = '''
        import logging

        log = logging.getLogger(__name__)

        def test_abstract_maker(writer):
            text = writer.run()
            print(text)

        def test_query_logs(db):
            log.info("rows: %s", db.query("select 1"))

        def test_show_changes(capsys, changes):
            show_template_changes(changes)

        def test_issue40():
            jsonpatch.make_patch([1, 2], [2, 1])
            repr(jsonpatch.JsonPatch([]))

        def test_static_files(client):
            client.get("/static/")

        def test_serialize_request(request):
            payload = serialize(request)

        def test_embedders(embedder):
            embedder.store(["a"])
            return True

        def test_sleep(retry):
            # sleep a tiny amount so that code coverage is happy
            retry.sleep()

        def test_render_background(qr):
            qr.make_image(back_color="red")

        def test_cancel_does_not_crash_the_server(client):
            client.cancel_stream()
    '''
    assert flagged(tmp_path, source, "AUD107") == {
        "test_abstract_maker", "test_query_logs", "test_show_changes", "test_issue40", "test_static_files",
        "test_serialize_request", "test_embedders", "test_sleep", "test_render_background",
        "test_cancel_does_not_crash_the_server"}
    assert flagged(tmp_path, source, "AUD153") == set()


def test_a_test_without_checks_and_without_a_wanted_check_is_a_smoke_test(tmp_path: Path) -> None:
    source = '''
        import attr

        def test_parses_setuptools_legacy(marker_string):
            Marker(marker_string)

        def test_frozen_on_setattr_nops(nop):
            @attr.s(frozen=True)
            class C:
                x = attr.ib(on_setattr=nop)

        def test_vacuum(db):
            db["data"].insert({"a": 1})
            db.vacuum()

        def test_unicode(grammar):
            """Smoke-test the conversion of expressions to rules."""
            str(grammar)

        def test_close_twice_does_not_raise(conn):
            conn.close()
            conn.close()
    '''
    assert flagged(tmp_path, source, "AUD153") == {
        "test_parses_setuptools_legacy", "test_frozen_on_setattr_nops", "test_vacuum"}
    assert flagged(tmp_path, source, "AUD107") == set()
    assert lookup("AUD153").severity == "low"


def test_a_vacuous_line_beside_real_checks_is_a_stray_line_not_a_weak_test(tmp_path: Path) -> None:
    source = '''
        import time
        from contextlib import suppress

        def test_main(runner, tmp_path):
            result = runner.invoke(app, ["write"])
            assert "Config line written"
            assert result.exit_code == 0

        def test_written():
            assert "Config line written"

        def test_scale(manager):
            manager.scale(3)
            manager.kill.call_count == 2
            assert len(manager.transient) == 3

        def test_errstr():
            MAX_ERROR_STR_LEN == 50

        def test_tz_offset_with_time(frozen):
            assert frozen.now() == EXPECTED
            assert time.monotonic() >= 0

        def test_request_latency(client):
            start = time.perf_counter()
            assert client.get("/").status_code == 200
            assert time.perf_counter() - start < 1e9

        def test_portal_cancels(portal):
            with suppress(Exception):
                assert portal.start() is None
            assert portal.cancelled == 2

        def test_reply(client):
            try:
                assert client.get("/x").json() == {"a": 1}
            except Exception:
                pass
    '''
    assert flagged(tmp_path, source, "AUD108") == {"test_written"}
    assert flagged(tmp_path, source, "AUD127") == {"test_errstr"}
    # a timing claim is what the unbreakable bound was for, however exactly the status is compared
    assert flagged(tmp_path, source, "AUD109") == {"test_request_latency"}
    assert flagged(tmp_path, source, "AUD111") == {"test_reply"}
    assert flagged(tmp_path, source, "AUD154") == {
        "test_main", "test_scale", "test_tz_offset_with_time", "test_portal_cancels"}
    assert lookup("AUD154").severity == "low"


def test_exiting_the_code_under_test_a_doctest_and_a_retry_loop_are_not_defects(tmp_path: Path) -> None:
    source = '''
        def test_exit(bus):
            bus.exit()
            assert bus.state == "EXITING"

        def test_exit_early():
            pytest.exit("done")
            assert compute() == 1

        def test_kwonly_no_args():
            """
            >>> f()
            calling f with args (), {}
            """

        def test_resource_warning():
            got_warning = False
            while got_warning is False:
                try:
                    with check_warnings(("", ResourceWarning)):
                        collect()
                except AssertionError:
                    pass
                else:
                    got_warning = True

        def test_eq_equal():
            """Benchmark comparing two equal instances for equality."""
            for _ in range(1000):
                C() == C()
    '''
    assert flagged(tmp_path, source, "AUD131") == {"test_exit_early"}
    assert flagged(tmp_path, source, "AUD114") == set()
    assert flagged(tmp_path, source, "AUD111") == set()
    assert flagged(tmp_path, source, "AUD127") == set()


def test_a_yes_or_no_answer_is_not_a_truthy_object(tmp_path: Path) -> None:
    source = '''
        async def test_samefile(tmp_path):
            result = await aiofiles.os.path.samefile(tmp_path, tmp_path)
            assert result

        def test_readable():
            assert FakeCGIBody({}, "multipart/form-data").readable()

        def test_sign_then_verify(algo, key):
            result = algo.verify(b"m", key, algo.sign(b"m", key))
            assert result

        def test_color_empty_str():
            assert Color("").isreset

        def test_through_queue(queue):
            assert queue.get()

        def test_issue_list(tracker):
            assert tracker.issues
    '''
    assert flagged(tmp_path, source, "AUD138") == {"test_through_queue", "test_issue_list"}
