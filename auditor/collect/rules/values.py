"""Rules about what is compared: self-written values, fixture constants, negative-only and existence-only checks."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, constant_int, status_of, walk

_LITERALS = (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set)
_FILE_CALLS = {
    "write_text",
    "write_bytes",
    "read_text",
    "read_bytes",
    "Path",
    "joinpath",
    "open",
    "write",
    "read",
    "mkdir",
    "exists",
    "is_file",
}


def _literal(node: ast.AST) -> bool:
    return isinstance(node, _LITERALS) and all(
        isinstance(n, (*_LITERALS, ast.Load, ast.UnaryOp, ast.USub, ast.keyword)) for n in walk(node)
    )


def _calls_between(facts: TestFacts, start: int, end: int) -> bool:
    return any(start < call.lineno < end or (call.lineno == end and False) for call in facts.calls)


@rule(
    "AUD117",
    "self-fulfilling",
    "medium",
    "The test asserts on what it did itself (a literal, a mock's return_value, a file it wrote, a call to its own mock).",
    bad="def test_env(monkeypatch):\n    settings = {'debug': True}\n    assert settings['debug'] == True\n",
    good="def test_env(monkeypatch):\n    monkeypatch.setenv('APP_DEBUG', '1')\n    assert load_settings()['debug'] is True\n",
)
def self_fulfilling(facts: TestFacts) -> Iterator[Hit]:
    own_call = _mock_called_by_the_test(facts)
    if own_call is not None:
        yield own_call
        return
    if not facts.asserts or len(facts.asserts) != len(facts.checks):
        return
    assigned, mocked = _literal_bindings(facts)
    if not assigned and not mocked:
        yield from _write_then_read(facts)
        return
    passed = {
        n.id
        for call in facts.calls
        for arg in [*call.args, *(k.value for k in call.keywords)]
        for n in walk(arg)
        if isinstance(n, ast.Name)
    }
    hits = [_self_fulfilled(facts, node, assigned, mocked, passed) for node in facts.asserts]
    if all(hits):
        yield facts.asserts[0], hits[0]  # type: ignore[misc]
        return
    yield from _write_then_read(facts)


def _patched_targets(facts: TestFacts) -> dict[str, str]:
    """Mocks the test patches in, by the name it holds them under: ``{"create": "sdk.chat.completions.create"}``
    for ``with mock.patch.object(sdk.chat.completions, "create") as create``."""
    found: dict[str, str] = {}
    bindings: list[tuple[ast.AST | None, ast.AST]] = []
    for node in facts.of(ast.withitem, ast.Assign):
        if isinstance(node, ast.withitem):
            bindings.append((node.optional_vars, node.context_expr))
        elif isinstance(node, ast.Assign):
            bindings += [(target, node.value) for target in node.targets]
    for holder, value in bindings:
        if not isinstance(holder, ast.Name) or not isinstance(value, ast.Call):
            continue
        patcher = dotted(value.func)
        if patcher.endswith("patch.object") and len(value.args) >= 2 and isinstance(value.args[1], ast.Constant):
            owner = dotted(value.args[0])
            if owner:
                found[holder.id] = f"{owner}.{value.args[1].value}"
        elif patcher.endswith("patch") and value.args and isinstance(value.args[0], ast.Constant):
            found[holder.id] = str(value.args[0].value)
    return found


def _mock_called_by_the_test(facts: TestFacts) -> Hit | None:
    """Every check is a mock assertion on a mock the test itself called where it patched it in: the call
    never reaches the code under test, and the assertion repeats the arguments the test just wrote."""
    if not facts.checks or facts.asserts:
        return None
    patched = _patched_targets(facts)
    if not patched:
        return None
    called = {dotted(call.func) for call in facts.calls}
    for check in facts.checks:
        func = check.func if isinstance(check, ast.Call) else None
        if not isinstance(func, ast.Attribute) or not func.attr.startswith("assert_"):
            return None
        if not isinstance(func.value, ast.Name):
            return None
        target = patched.get(func.value.id)
        if target is None or target not in called:
            return None
    first = facts.checks[0]
    target = patched[first.func.value.id]  # type: ignore[attr-defined]
    return first, f"the test calls `{target}` itself after patching it with a mock, then asserts that call"


def _literal_bindings(facts: TestFacts) -> tuple[dict[str, int], dict[str, int]]:
    """Names/subscripts set to literals (attributes excluded: a property may transform), and mocked calls."""
    assigned: dict[str, int] = {}
    mocked: dict[str, int] = {}
    for node in facts.of(ast.Assign):
        if isinstance(node, ast.Assign) and _literal(node.value):
            for target in node.targets:
                text = ast.unparse(target)
                if ".return_value" in text:
                    mocked[text.split(".return_value")[0]] = node.lineno
                elif isinstance(target, ast.Name):
                    assigned[text] = node.lineno
                elif (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and (target.value.id in assigned)
                ):
                    # Only into a container the test built as a literal: setting an item on an object
                    # the code under test returned is how a test checks that the object accepts it.
                    assigned[text] = node.lineno
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and call_name(node.value) in ("Mock", "MagicMock", "AsyncMock")
            and any(k.arg == "return_value" for k in node.value.keywords)
        ):
            for target in node.targets:
                mocked[ast.unparse(target)] = node.lineno
    return assigned, mocked


def _self_fulfilled(
    facts: TestFacts, node: ast.Assert, assigned: dict[str, int], mocked: dict[str, int], passed: set[str]
) -> str | None:
    test = node.test
    if not isinstance(test, ast.Compare):
        return None
    sides = [test.left, *test.comparators]
    for side in sides:
        text = ast.unparse(side)
        base = text.split("[")[0].split(".")[0]
        key = text if text in assigned else base if base in assigned else None
        if (
            key
            and assigned[key] < node.lineno
            and not _calls_between(facts, assigned[key], node.lineno)
            and not _rebound_between(facts, base, assigned[key], node.lineno)
        ):
            if base not in passed and any(_literal(other) for other in sides if other is not side):
                return f"`{text}` was set to a literal on line {assigned[key]} and is compared with one"
        if isinstance(side, ast.Call) or (isinstance(side, ast.Attribute) and isinstance(side.value, ast.Call)):
            call = side if isinstance(side, ast.Call) else side.value
            target = dotted(call.func)  # type: ignore[union-attr]
            if target in mocked and mocked[target] < node.lineno:
                return f"asserts the return_value configured on `{target}` (line {mocked[target]})"
    return None


def _rebound_between(facts: TestFacts, name: str, start: int, end: int) -> bool:
    """``found = None``, then ``found = group`` in a loop, or ``ok += 1`` per good response: the literal was only
    where the value started."""
    for node in facts.of(ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr):
        if not start < node.lineno <= end:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
        if isinstance(node, ast.Assign) and _literal(node.value):
            continue
        if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in walk(t)):
            return True
    return False


def _write_then_read(facts: TestFacts) -> Iterator[Hit]:
    names = {call_name(call) for call in facts.calls}
    if not names or not names <= _FILE_CALLS | {"str", "len"}:
        return
    writes = {
        dotted(c.func.value)
        for c in facts.calls
        if isinstance(c.func, ast.Attribute) and c.func.attr.startswith("write")
    }
    reads = {
        dotted(c.func.value)
        for c in facts.calls
        if isinstance(c.func, ast.Attribute) and c.func.attr.startswith("read")
    }
    if writes & reads and facts.asserts:
        yield facts.asserts[0], "reads back the file the test itself wrote; no code under test runs"


def _literal_fixture(facts: TestFacts, name: str) -> bool:
    for fixture in facts.index.fixtures_named(name):
        values = [n.value for n in walk(fixture) if isinstance(n, (ast.Return, ast.Yield)) and n.value is not None]
        if values and all(_literal(v) for v in values):
            return True
    return False


@rule(
    "AUD118",
    "fixture-value-only",
    "medium",
    "The test only asserts on a fixture that returns a constant: it tests the fixture, not the code.",
    bad="@pytest.fixture\ndef user():\n    return {'name': 'ada'}\n\n\ndef test_user_name(user):\n"
    "    assert user['name'] == 'ada'\n",
    good="@pytest.fixture\ndef user():\n    return {'name': 'ada'}\n\n\ndef test_greeting(user):\n"
    "    assert greet(user) == 'Hello, ada'\n",
)
def fixture_value_only(facts: TestFacts) -> Iterator[Hit]:
    if not facts.body or not all(isinstance(s, ast.Assert) for s in facts.body):
        return
    allowed = {"len", "sorted", "set", "list", "type", "isinstance", "str", "int"}
    if any(call_name(c) not in allowed for c in facts.calls):
        return
    names = {n.id for a in facts.asserts for n in walk(a) if isinstance(n, ast.Name)} - allowed
    fixtures = set(facts.test.case.fixtures)
    if names and names <= fixtures and all(_literal_fixture(facts, name) for name in names):
        yield facts.asserts[0], f"only the constant fixture(s) {', '.join(sorted(names))} are checked"


_OUTPUT_WORDS = (
    "text",
    "content",
    "body",
    "output",
    "stdout",
    "stderr",
    "html",
    "reply",
    "answer",
    "result",
    "json",
    "message",
    "out",
)


def _negative(test: ast.expr) -> bool:
    """``"error" not in <output>`` or ``<output> != ""``: says what an output is not."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or status_of(test.left):
        return False
    op, right = test.ops[0], test.comparators[0]
    if isinstance(op, ast.NotIn):
        container = ast.unparse(right).lower()
        return (
            isinstance(test.left, ast.Constant)
            and any(word in container for word in _OUTPUT_WORDS)
            and ("header" not in container)
        )
    if isinstance(op, ast.NotEq):
        constant = right if isinstance(right, ast.Constant) else test.left
        return isinstance(constant, ast.Constant) and constant.value in ("", None, b"", 0)
    return False


# LOW: 2 of the 7 labelled strangers' tests it flagged were weak (docs/rules.md, "Severity from strangers' tests")
@rule(
    "AUD119",
    "negative-only",
    "low",
    "Every check only says what the result is not ('error' not in text): almost any wrong answer passes.",
    bad="def test_chat(client):\n    r = client.post('/chat', json={'q': 'hi'})\n    assert 'error' not in r.text\n",
    good="def test_chat(client):\n    r = client.post('/chat', json={'q': 'hi'})\n    assert r.json()['answer'] == 'hello'\n",
)
def negative_only(facts: TestFacts) -> Iterator[Hit]:
    if facts.asserts and len(facts.asserts) == len(facts.checks) and all(_negative(a.test) for a in facts.asserts):
        specific = all(_specific_absence(a.test) for a in facts.asserts)
        if specific and _NEGATIVE_CLAIM & set(words(" ".join([facts.node.name, ast.get_docstring(facts.node) or ""]))):
            # `test_does_not_inject_extra_body`: that one thing is absent is the claim; "no error" never is enough
            return
        yield facts.asserts[0], f"only negative checks: `{ast.unparse(facts.asserts[0].test)}`"


#: What any broken output also lacks: its absence says nothing, whatever the test claims.
_FAILURE_TEXTS = ("error", "exception", "traceback", "fail", "internal", "500", "invalid", "undefined", "none", "null")


def _specific_absence(test: ast.expr) -> bool:
    """``"extra_body" not in kwargs``: a named thing is absent (not an empty value, not a failure text)."""
    if not (isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.NotIn) and isinstance(test.left, ast.Constant)):
        return False
    needle = str(test.left.value).lower()
    return bool(needle.strip()) and not any(text in needle for text in _FAILURE_TEXTS)


#: Words that make a test's claim an absence: then "x not in out" is exactly its check.
_NEGATIVE_CLAIM = {
    "not", "no", "never", "without", "omit", "omits", "omitted", "hide", "hides", "hidden", "exclude", "excludes",
    "excluded", "skip", "skips", "skipped", "absent", "missing", "unset", "drop", "drops", "dropped", "strip",
    "strips", "stripped", "remove", "removes", "removed", "redact", "redacts", "redacted", "mask", "masks",
    "suppress", "suppresses", "suppressed", "filter", "filters", "filtered", "doesnt", "dont", "isnt", "leak",
    "leaks", "secret", "secrets", "private",
}


def _existence(facts: TestFacts, test: ast.expr) -> bool:
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, ast.IsNot) and isinstance(right, ast.Constant) and right.value is None:
            return True
        if isinstance(test.left, ast.Call) and call_name(test.left) == "len" and isinstance(right, ast.Constant):
            return (isinstance(op, ast.Gt) and right.value == 0) or (
                isinstance(op, (ast.GtE, ast.NotEq)) and right.value in (0, 1)
            )
        if isinstance(op, ast.In) and isinstance(test.left, ast.Constant) and isinstance(test.left.value, str):
            # `"x-request-id" in r.headers`, `"errors" in r.json()`: the key is there, whatever it holds
            if isinstance(right, ast.Attribute):
                return right.attr in ("headers", "cookies")
            return _is_json(facts, right)
        return False
    if isinstance(test, ast.Call):
        if call_name(test) == "hasattr":
            return True  # the attribute is there, whatever it does
        return call_name(test) in ("json", "len") or (isinstance(test.func, ast.Attribute) and test.func.attr == "json")
    if isinstance(test, ast.Attribute):
        # `assert response.content`, `assert sent.request.content`: a body exists, whatever it holds
        return test.attr in ("text", "content", "body")
    if isinstance(test, ast.Name):
        return _is_json(facts, test)
    return False


def _is_json(facts: TestFacts, node: ast.expr) -> bool:
    """``r.json()``, or a local bound to one: a decoded JSON body."""
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr == "json"
    return isinstance(node, ast.Name) and any(
        isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Call)
        and call_name(n.value) == "json"
        and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)
        for n in facts.of(ast.Assign)
    )


@rule(
    "AUD137",
    "existence-only",
    "medium",
    "Every check only says a value exists (is not None, non-empty); any wrong but non-empty answer passes.",
    bad="def test_models(client):\n    data = client.get('/v1/models').json()\n    assert data is not None\n"
    "    assert len(data['data']) > 0\n",
    good="def test_models(client):\n    data = client.get('/v1/models').json()\n"
    "    assert [m['id'] for m in data['data']] == ['tiny']\n",
    superseded_by=("AUD105", "AUD108"),
)
def existence_only(facts: TestFacts) -> Iterator[Hit]:
    tests = [(a, a.test) for a in facts.asserts] + _unittest_truths(facts)
    # `assert r.status_code == 422` then `assert "errors" in r.json()`: which status, then only that a key exists
    existence = [(node, test) for node, test in tests if not _pinned_status(test)]
    if (
        existence
        and len(tests) == len(facts.checks)
        and all(_existence(facts, test) for _, test in existence)
        # `test_public_names_are_importable` claims existence itself; `client = make()  # must not raise` then
        # `assert client is not None` claims that nothing raised
        and not facts.claims & {"existence", "does-not-raise"}
        and not _error_claimed(facts, [test for _, test in existence])
    ):
        yield existence[0][0], f"only existence is checked: `{ast.unparse(existence[0][1])}`"


_ERROR_WORDS = {"error", "errors", "err", "exception", "exc", "failure", "failures"}


def _error_claimed(facts: TestFacts, tests: list[ast.expr]) -> bool:
    """``result.error is not None`` in ``test_a_stream_without_a_turn_is_a_failure``: that there is an error is the
    claim (which error is another test's)."""
    failing = {"failure", "fails", "fail", "failed", "invalid", "rejects", "rejected"} & set(words(facts.node.name))
    return bool(failing) and all(
        isinstance(t, ast.Compare) and isinstance(t.ops[0], ast.IsNot) and _ERROR_WORDS & set(words(ast.unparse(t.left)))
        for t in tests
    )


def _pinned_status(test: ast.expr) -> bool:
    """``r.status_code == 422``: one status, compared exactly."""
    return (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
        and status_of(test.left) is not None
        and constant_int(test.comparators[0]) is not None  # not `prediction.status == "starting"`
    )


def _unittest_truths(facts: TestFacts) -> list[tuple[ast.AST, ast.expr]]:
    """``self.assertTrue(x)`` and ``self.assertIsNotNone(x)`` read as ``assert x`` and ``assert x is not None``."""
    found: list[tuple[ast.AST, ast.expr]] = []
    for call in facts.calls:
        name = call_name(call)
        if name == "assertTrue" and call.args:
            found.append((call, call.args[0]))
        elif name == "assertIsNotNone" and call.args:
            test = ast.Compare(left=call.args[0], ops=[ast.IsNot()], comparators=[ast.Constant(value=None)])
            found.append((call, ast.copy_location(test, call)))
    return found


def is_existence_check(facts: TestFacts, test: ast.expr) -> bool:
    """Whether an assertion only says a value exists (AUD137's reading), for rules that discount such checks."""
    return _existence(facts, test)
