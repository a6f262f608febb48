"""False alarms that the fourth blind sample of strangers' flagged tests showed (bench/blind/wild/sample4.json,
a tuning set since it was read), four of them at HIGH: each on the form the rule must leave alone and on the weak
form it must still report."""

from __future__ import annotations

from pathlib import Path

from tests.test_claim_families import flagged


def test_suppressing_another_error_lets_a_failing_check_through(tmp_path: Path) -> None:
    source = """
        import contextlib

        def test_deep_copies_are_equal(calendar):
            with contextlib.suppress(UnknownTimeZoneError):
                assert_equal(copy.deepcopy(calendar), calendar)

        def test_copies_are_equal(calendar):
            with contextlib.suppress(Exception):
                assert_equal(copy.deepcopy(calendar), calendar)
    """
    assert flagged(tmp_path, source, "AUD111") == {"test_copies_are_equal"}


def test_a_cache_built_by_the_test_is_no_http_client(tmp_path: Path) -> None:
    source = """
        def test_has_and_delete():
            c = Cache()
            c.set("a", 1)
            assert c.delete("a")

        def test_delete_item(app):
            c = TestClient(app)
            assert c.delete("/items/1")
    """
    assert flagged(tmp_path, source, "AUD105") == {"test_delete_item"}


def test_excluding_not_found_is_the_claim_of_a_route_exists_test(tmp_path: Path) -> None:
    source = """
        async def test_route_exists(client, path, method):
            response = await client.request(method, path)
            assert response.status_code not in (404, 405)

        async def test_create_user(client):
            response = await client.post("/users", json={"email": "a@b.c"})
            assert response.status_code not in (404, 405)
    """
    assert flagged(tmp_path, source, "AUD101") == {"test_create_user"}


def test_a_constructed_value_that_exists_is_the_claim_of_an_import_test(tmp_path: Path) -> None:
    source = """
        def test_quickstart_spec_import():
            from bsl import BslSpec

            spec = BslSpec()
            assert spec is not None

        def test_spec_defaults():
            spec = BslSpec()
            assert spec is not None
    """
    assert flagged(tmp_path, source, "AUD108") == {"test_spec_defaults"}


def test_checks_of_an_assertion_library_or_a_verifying_mock_fixture_are_checks(tmp_path: Path) -> None:
    source = """
        from testfixtures import compare

        def test_delta_type(clock):
            compare(clock(), expected=978307200)

        def test_auth_header_signed(httpx_mock):
            httpx_mock.add_response(url="https://x/", match_headers={"Authorization": "AWS4 ..."})
            httpx.get("https://x/", auth=AWS4Auth("key", "secret"))

        def test_auth_header(client):
            response = client.get("https://x/", auth=AWS4Auth("key", "secret"))
            print(response.headers)
    """
    assert flagged(tmp_path, source, "AUD107") == {"test_auth_header"}


def test_a_comment_saying_why_a_test_is_weak_states_no_claim(tmp_path: Path) -> None:
    source = '''
        def test_parse_returns_something():
            # Weak on purpose: any non-None answer passes.
            assert parse("7") is not None

        def test_pre_release_has_pre_segment(version):
            """A pre-release version has a non-None pre attribute."""
            assert version.pre is not None
    '''
    assert flagged(tmp_path, source, "AUD137") == {"test_parse_returns_something"}
