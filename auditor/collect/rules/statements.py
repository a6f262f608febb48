"""Rules about statements that look like checks but are not: discarded, returned, never called, unreachable."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk
from auditor.collect.rules.shallow import claim_words
from auditor.collect.rules.vacuity import Detection, sole_hits, span

_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.ExceptHandler)
_STOPPERS = {"skip", "fail", "xfail", "skipTest"}
#: Exits that end the test; `bus.exit()` or `server.exit()` is code under test, not a stopper.
_EXITS = {"exit", "sys.exit", "pytest.exit", "os._exit"}


@rule(
    "AUD127",
    "bare-comparison",
    "high",
    "A comparison used as a statement is computed and thrown away: the assert was forgotten.",
    bad="def test_status(client):\n    r = client.get('/items')\n    r.status_code == 200\n    r.json() == []\n",
    good="def test_status(client):\n    r = client.get('/items')\n    assert r.status_code == 200\n    assert r.json() == []\n",
)
def bare_comparison(facts: TestFacts) -> Iterator[Hit]:
    yield from sole_hits(facts, "AUD127", bare_comparisons)


def bare_comparisons(facts: TestFacts) -> Iterator[Detection]:
    """Comparisons computed and thrown away."""
    for node in facts.of(ast.Expr):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Compare):
            if _expects_side_effect(facts, node):
                continue  # `with pytest.raises(TypeError): x == y`: the comparison is run for what it raises
            if _is_benchmark(facts):
                return  # `for _ in range(ROUNDS): c1 == c2` under "Benchmark comparing two instances": the workload
            yield node, f"result of the comparison is discarded: `{ast.unparse(node.value)}`", span(node)


def _is_benchmark(facts: TestFacts) -> bool:
    said = f"{facts.node.name} {ast.get_docstring(facts.node, clean=False) or ''}".lower()
    return "benchmark" in facts.test.case.fixtures or "benchmark" in said or "timing" in facts.claims


#: Context managers inside which a statement runs for the error or warning it causes.
_EFFECT_CONTEXTS = ("raises", "warns", "warnings", "errstate", "deprecated", "assertraises", "assert_raises",
                    "assertwarns", "assert_warns", "assert_no_warnings", "assertlogs", "does_not_raise")


def _expects_side_effect(facts: TestFacts, node: ast.AST) -> bool:
    parameters = {a.arg for a in facts.node.args.args}
    for parent in facts.ancestors(node):
        if isinstance(parent, (ast.With, ast.AsyncWith)):
            for item in parent.items:
                if isinstance(item.context_expr, ast.Name) and item.context_expr.id in parameters:
                    return True  # `with expected:`, a parametrized `raises(...)` or `does_not_raise()`
                if isinstance(item.context_expr, ast.Call):
                    name = call_name(item.context_expr).lower()
                    if any(word in name for word in _EFFECT_CONTEXTS):
                        return True
    return False


def _in_nested_def(facts: TestFacts, node: ast.AST) -> bool:
    return any(isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) for p in facts.ancestors(node))


@rule(
    "AUD128",
    "returned-check",
    "high",
    "pytest ignores a test's return value (a warning only), so a returned comparison never fails the test.",
    bad="def test_total():\n    return total([1, 2]) == 3\n",
    good="def test_total():\n    assert total([1, 2]) == 3\n",
)
def returned_check(facts: TestFacts) -> Iterator[Hit]:
    for node in facts.of(ast.Return):
        if isinstance(node, ast.Return) and node.value is not None and not _in_nested_def(facts, node):
            if _verdict(node.value) and not facts.checked_by_plugin:
                yield node, f"the returned value is ignored by pytest: `return {ast.unparse(node.value)}`"


_MOCK_TYPOS = {
    "called_once_with",
    "called_with",
    "called_once",
    "has_calls",
    "not_called",
    "any_call",
    "assert_called_ones",
    "has_been_called",
    "was_called",
    "was_called_with",
}


@rule(
    "AUD129",
    "mock-assert-noop",
    "high",
    "A mock 'assertion' that is never called, or a misspelt one, is an auto-created attribute: always passes.",
    bad="def test_notifies(mailer):\n    send_welcome(mailer)\n    mailer.send.assert_called_once\n",
    good="def test_notifies(mailer):\n    send_welcome(mailer)\n    mailer.send.assert_called_once_with('hi')\n",
)
def mock_assert_noop(facts: TestFacts) -> Iterator[Hit]:
    for node in facts.of(ast.Expr, ast.Call, ast.Assert):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Attribute):
            if node.value.attr.startswith("assert_") or node.value.attr in _MOCK_TYPOS:
                yield node, f"`{ast.unparse(node.value)}` is never called"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MOCK_TYPOS
              # a statement of its own: `expect(f).called_with(1).should.throw(E)` is the `sure` library's check
              and facts.is_statement(node)):
            yield node, f"`{node.func.attr}` is not a mock assertion; a Mock accepts it silently"
        elif isinstance(node, ast.Assert) and isinstance(node.test, ast.Attribute) and node.test.attr in _MOCK_TYPOS:
            yield node, f"`{ast.unparse(node.test)}` is an auto-created Mock attribute, always truthy"


def _verdict(value: ast.expr) -> bool:
    """A returned value that reads as a pass/fail verdict (a returned figure or object is a plugin's business)."""
    if isinstance(value, (ast.Compare, ast.BoolOp)) or (
        isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)
    ):
        return True
    return isinstance(value, ast.Call) and call_name(value) in ("isinstance", "all", "any", "issubclass", "bool")


def _stops(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
        return True
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and (call_name(statement.value) in _STOPPERS or dotted(statement.value.func) in _EXITS)
    )


@rule(
    "AUD131",
    "dead-assertion",
    "high",
    "A check after return, raise, pytest.skip() or pytest.fail() in the same block can never run.",
    bad="def test_export():\n    data = export()\n    return\n    assert data == b'data'\n",
    good="def test_export():\n    assert export() == b'data'\n",
)
def dead_assertion(facts: TestFacts) -> Iterator[Hit]:
    yield from sole_hits(facts, "AUD131", dead_checks)


def dead_checks(facts: TestFacts) -> Iterator[Detection]:
    """The first statement holding a check after a stopper, its span running to the end of the block."""
    checks = {id(c) for c in facts.checks}
    blocks = [facts.body] + [
        getattr(node, field)
        for node in facts.of(*_BLOCKS)
        for field in ("body", "orelse", "finalbody")
        if getattr(node, field, None)
    ]
    for block in blocks:
        for index, statement in enumerate(block[:-1]):
            if _stops(statement):
                for dead in block[index + 1 :]:
                    if any(id(c) in checks for c in walk(dead)):
                        dead_lines = (dead.lineno, span(block[-1])[1])
                        yield dead, f"unreachable after line {statement.lineno}: `{ast.unparse(dead)[:60]}`", dead_lines
                        break
                break


#: Context managers that catch the expected error and hand it over under their ``as`` name once the block ends.
_RAISES_CONTEXTS = {"raises", "assertRaises", "assertRaisesRegex", "assert_raises"}
#: What a dead check may read from the caught error and still be no loss: the type the block already requires.
_TYPE_RECHECKS = {"isinstance", "issubclass", "type"}


#: Words of a claim about what the error says, not only that it is raised.
_MESSAGE_WORDS = {"message", "messages", "msg", "reason", "reasons", "text", "wording", "explain", "explains",
                  "explanatory", "explanation", "details", "describes", "hint", "hints", "mentions", "says"}


# On 14 strangers' tests labelled blind (bench/blind/wild/sample5.json), the dead line made the test weak only
# when the test claims the error's message (2 of 2): elsewhere pytest.raises still checks the claimed error (1
# weak of 12, for another reason). Those lines are AUD154's, at LOW.
@rule(
    "AUD155",
    "dead-check-in-raises",
    "medium",
    "The test claims the error's message, and its check of it sits inside its own `pytest.raises` block: it runs only "
    "when nothing was raised, so the message is never checked.",
    bad="def test_bad_key_message():\n    with pytest.raises(ValueError) as exc:\n        load({'k': 1})\n"
    "        assert 'unknown key' in str(exc.value)\n",
    good="def test_bad_key_message():\n    with pytest.raises(ValueError) as exc:\n        load({'k': 1})\n"
    "    assert 'unknown key' in str(exc.value)\n",
)
def dead_check_in_raises(facts: TestFacts) -> Iterator[Hit]:
    found = list(dead_raises_checks(facts))
    if found and message_claimed(facts):
        for node, message, _lines in found:
            yield node, message


def message_claimed(facts: TestFacts) -> bool:
    """The name, class or docstring says the test is about what the error says."""
    return bool(_MESSAGE_WORDS & claim_words(facts))


def dead_raises_checks(facts: TestFacts) -> Iterator[Detection]:
    """The first check reading a ``pytest.raises`` block's caught error inside that block."""
    checks = {id(c) for c in facts.checks}
    for block in facts.of(ast.With, ast.AsyncWith):
        for item in block.items:  # type: ignore[attr-defined]
            caught = item.optional_vars
            context = item.context_expr
            if not (isinstance(caught, ast.Name) and isinstance(context, ast.Call)):
                continue
            # `match=` and assertRaisesRegex check the message as the block ends; the dead line repeats them.
            if call_name(context) not in _RAISES_CONTEXTS or any(k.arg == "match" for k in context.keywords):
                continue
            for statement in block.body:  # type: ignore[attr-defined]
                dead = next((n for n in walk(statement) if id(n) in checks and _reads(n, caught.id)), None)
                if dead is not None and not _in_nested_def(facts, dead) and not _rechecks_type(dead, caught.id):
                    yield dead, (
                        f"`{ast.unparse(dead)[:60]}` reads `{caught.id}` inside its `{call_name(context)}` block: it runs "
                        "only if nothing was raised; dedent it below the block"
                    ), span(dead)
                    return


def _reads(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


def _rechecks_type(check: ast.AST, name: str) -> bool:
    """``assert isinstance(exc.value, ValueError)`` or ``exc.type is ValueError``: the block checks that already."""
    for node in walk(check):
        if isinstance(node, ast.Call) and call_name(node) in _TYPE_RECHECKS and _reads(node, name):
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("type", "typename") and _reads(node, name):
            return True
    return False


_MOCK_FACTORIES = {"Mock", "MagicMock", "AsyncMock", "NonCallableMock", "create_autospec"}
#: What a test legitimately calls on its own mock: assertions, configuration, resets.
_MOCK_OWN_API = ("assert_", "reset_mock", "configure_mock", "attach_mock", "mock_add_spec", "side_effect")


@rule(
    "AUD149",
    "mock-called-by-test",
    "medium",
    "The test calls a method of its own mock as a statement: a call the code under test should make is made by the test.",
    bad="def test_edit_adds_record():\n    db = Mock()\n    edit_at_prompt(db, 'w')\n    db.add_rec('url', 'title')\n",
    good="def test_edit_adds_record():\n    db = Mock()\n    edit_at_prompt(db, 'w')\n    db.add_rec.assert_called_once_with('url', 'title')\n",
)
def mock_called_by_test(facts: TestFacts) -> Iterator[Hit]:
    mocks = {
        node.targets[0].id: node.lineno  # type: ignore[attr-defined]
        for node in facts.of(ast.Assign)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)  # type: ignore[attr-defined]
        and isinstance(node.value, ast.Call) and call_name(node.value) in _MOCK_FACTORIES  # type: ignore[attr-defined]
    }
    if not mocks:
        return
    handed = {
        arg.id for call in facts.calls for arg in [*call.args, *(k.value for k in call.keywords)]
        if isinstance(arg, ast.Name) and arg.id in mocks
    }
    for node in facts.of(ast.Expr):
        call = node.value  # type: ignore[attr-defined]
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        receiver = call.func.value
        if isinstance(receiver, ast.Name) and receiver.id in handed and not call.func.attr.startswith(_MOCK_OWN_API):
            yield node, f"`{ast.unparse(call)[:60]}` calls the test's own mock; nothing checks that the code did"
            return
