"""Rules about values the test wrote itself: a literal, a mock's return_value, a file it wrote (AUD117), a constant
fixture (AUD118)."""

from __future__ import annotations

import ast
import codecs
import sys
from collections.abc import Iterator

from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk

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
    return any(start < call.lineno < end for call in facts.calls)


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
            if base not in passed and not _product_codec(side) and any(_literal(o) for o in sides if o is not side):
                return f"`{text}` was set to a literal on line {assigned[key]} and is compared with one"
        if isinstance(side, ast.Call) or (isinstance(side, ast.Attribute) and isinstance(side.value, ast.Call)):
            call = side if isinstance(side, ast.Call) else side.value
            target = dotted(call.func)  # type: ignore[union-attr]
            if target in mocked and mocked[target] < node.lineno:
                return f"asserts the return_value configured on `{target}` (line {mocked[target]})"
    return None


def _product_codec(side: ast.expr) -> bool:
    """``text.decode("latex")``: a codec the standard library lacks is the code under test, registered on import."""
    if not (isinstance(side, ast.Call) and call_name(side) in ("encode", "decode") and side.args):
        return False
    name = side.args[0]
    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
        return False
    try:
        codecs.lookup(name.value)
    except LookupError:
        return True
    return False


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
    if writes & reads and facts.asserts and not any(_from_a_package(facts, c) for c in facts.calls):
        yield facts.asserts[0], "reads back the file the test itself wrote; no code under test runs"


def _from_a_package(facts: TestFacts, call: ast.Call) -> bool:
    """``path.Path(tmpdir)`` in the `path` project's tests: the file object is the code under test, not pathlib's."""
    root = dotted(call.func).split(".")[0]
    module = facts.imported_from.get(root) or (root if root in facts.imported_modules else "")
    return bool(module) and module.split(".")[0] not in sys.stdlib_module_names


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
