"""Rules about what is compared: negative-only and existence-only checks."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name, product_pattern_match
from auditor.collect.rules.facts import TestFacts, constant_int, status_of

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
            # `PATTERN.match(expression) is not None`: that the pattern accepts it is a check, not mere existence
            return not (isinstance(test.left, ast.Call) and product_pattern_match(test.left))
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
