"""Rules for categories configured as real infrastructure: no HTTP mocks, no in-process clients."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk

_MOCK_DECORATORS = (
    "respx.mock",
    "responses.activate",
    "requests_mock.Mocker",
    "httpretty.activate",
    "vcr.use_cassette",
    "mark.vcr",
    "aioresponses",
    "patch",
    "patch.object",
    "mock.patch",
)
_MOCK_FIXTURES = {"respx_mock", "requests_mock", "httpx_mock", "httpserver_mock", "aioresponses", "mock_server"}
_MOCK_CALLS = {"MockTransport", "Mock", "MagicMock", "AsyncMock", "patch", "add_callback", "use_cassette", "Mocker"}
_IN_PROCESS = {"TestClient", "ASGITransport", "WSGITransport", "test_client", "LifespanManager"}


#: Folder names that say "real infrastructure" by themselves. (`integration` also names suites that mock the
#: network on purpose, vcrpy's for one: there only a configured category says the suite must be real.)
_REAL_FOLDERS = {"e2e", "end_to_end", "stress", "load", "soak"}


def _real_category(facts: TestFacts) -> bool:
    if facts.test.case.category not in facts.config.real_infrastructure:
        return False
    if facts.config.categories or any(m.name in _REAL_FOLDERS for m in facts.test.case.markers):
        return True
    return bool(_REAL_FOLDERS & set(facts.test.module.path.lower().split("/")[:-1]))


def _fixture_calls(facts: TestFacts, name: str, depth: int = 0) -> Iterator[ast.Call]:
    """Calls made by the fixture ``name`` (and the fixtures it requests), found in the scanned project."""
    if depth > 2:
        return
    for fixture in facts.index.fixtures_named(name):
        for node in walk(fixture):
            if isinstance(node, ast.Call):
                yield node
        for arg in fixture.args.args:
            yield from _fixture_calls(facts, arg.arg, depth + 1)


def _all_calls(facts: TestFacts) -> Iterator[tuple[ast.Call, str]]:
    for call in facts.calls:
        yield call, "the test"
    for name in facts.test.case.fixtures:
        for call in _fixture_calls(facts, name):
            yield call, f"fixture {name!r}"


@rule(
    "AUD120",
    "mocked-http-in-real-infra",
    "high",
    "A test in a real-infrastructure category (e2e, stress) mocks HTTP or patches code, so no real server is tested.",
    bad="@pytest.mark.e2e\n@respx.mock\ndef test_login():\n    respx.post('http://api/login').respond(200, json={'ok': True})\n"
    "    assert login('ada') is True\n",
    good="@pytest.mark.e2e\ndef test_login(live_server):\n    assert httpx.post(f'{live_server}/login', json={'u': 'ada'}).json() == {'ok': True}\n",
)
def mocked_http(facts: TestFacts) -> Iterator[Hit]:
    if not _real_category(facts):
        return
    for decorator in facts.node.decorator_list:
        name = dotted(decorator)
        if any(name == d or name.endswith("." + d) for d in _MOCK_DECORATORS):
            yield decorator, f"{facts.test.case.category} test decorated with `@{name}`"
            return
    mocked = _MOCK_FIXTURES & set(facts.test.case.fixtures)
    if mocked:
        yield facts.node, f"{facts.test.case.category} test uses the mocking fixture {sorted(mocked)[0]!r}"
        return
    for call, where in _all_calls(facts):
        name = dotted(call.func)
        if call_name(call) in _MOCK_CALLS or name.startswith(("respx.", "responses.add", "mocker.patch")):
            line = call if where == "the test" else facts.node
            yield line, f"{facts.test.case.category} test: {where} mocks with `{name}(...)`"
            return


@rule(
    "AUD121",
    "in-process-client-in-real-infra",
    "medium",
    "A real-infrastructure test drives the app in-process (TestClient/ASGITransport): no socket, no deployed server.",
    bad="@pytest.mark.e2e\ndef test_health():\n    client = TestClient(app)\n    assert client.get('/health').json() == {'ok': True}\n",
    good="@pytest.mark.e2e\ndef test_health(live_server):\n    assert httpx.get(f'{live_server}/health').json() == {'ok': True}\n",
)
def in_process_client(facts: TestFacts) -> Iterator[Hit]:
    if not _real_category(facts):
        return
    for call, where in _all_calls(facts):
        name = call_name(call)
        in_process = name in _IN_PROCESS or (
            name in ("AsyncClient", "Client")
            and any(
                k.arg in ("app", "transport") and "ASGI" in ast.unparse(k.value) or k.arg == "app"
                for k in call.keywords
            )
        )
        if in_process:
            line = call if where == "the test" else facts.node
            yield (
                line,
                f"{facts.test.case.category} test: {where} builds an in-process client `{dotted(call.func)}(...)`",
            )
            return
