"""Rules about the oracle: missing, always-true or swallowed checks (never-reached ones: ``conditional``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk
from auditor.collect.rules.vacuity import Detection, sole_hits, span

_LITERALS = (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set)
_TIME_WORDS = ("latency", "duration", "elapsed", "time", "seconds", "secs", "_ms", "took", "runtime", "rtt", "wall")
_BROAD = {"Exception", "BaseException", "AssertionError"}


#: Claim words that make comparing a value with itself the point: reflexivity, ordering, identity, caching.
_SELF_COMPARISON_CLAIMS = {
    "comparison", "comparisons", "compare", "compares", "eq", "equal", "equality", "ordering", "order", "reflexive",
    "identity", "identical", "same", "cache", "cached", "caching", "memoize", "memoized", "singleton", "hash", "le",
    "ge", "lt", "gt", "total",
}


def _tautology(test: ast.expr) -> str | None:
    if isinstance(test, ast.Constant) and test.value:
        return "a true constant"
    if isinstance(test, (ast.Tuple, ast.List)) and test.elts:
        return "a non-empty tuple (parenthesised assert message?)"
    if isinstance(test, ast.JoinedStr):
        return "an f-string"
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        if any(isinstance(v, ast.Constant) and v.value for v in test.values):
            return "`or` with a true constant"
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if (
            isinstance(op, (ast.Eq, ast.Is, ast.LtE, ast.GtE))
            and type(left) is type(right)
            and isinstance(left, (ast.Name, ast.Attribute, ast.Subscript))
            and ast.dump(left) == ast.dump(right)
        ):
            if not any(isinstance(n, ast.Call) for n in walk(left)):
                return "a value compared with itself"
        if isinstance(op, ast.In) and isinstance(left, ast.Name) and isinstance(right, ast.Call):
            if call_name(right) == "str" and len(right.args) == 1 and ast.dump(right.args[0]) == ast.dump(left):
                return "a text is always in its own str()"
        if isinstance(left, ast.Call) and call_name(left) in ("len", "abs") and isinstance(op, ast.GtE):
            if isinstance(right, ast.Constant) and right.value == 0:
                return f"{call_name(left)}() is never negative"
        if isinstance(op, ast.IsNot) and isinstance(right, ast.Constant) and right.value is None:
            if isinstance(left, _LITERALS) or isinstance(left, (ast.ListComp, ast.DictComp, ast.JoinedStr)):
                return "a literal is never None"
            if (
                isinstance(left, ast.Call)
                and call_name(left)[:1].isupper()
                and dotted(left.func).split(".")[0] != "self"
            ):
                return "a constructor never returns None"
    if isinstance(test, ast.Call) and call_name(test) == "isinstance" and len(test.args) == 2:
        if isinstance(test.args[1], ast.Name) and test.args[1].id == "object":
            return "everything is an object"
    return None


@rule(
    "AUD108",
    "tautology",
    "high",
    "The assertion is true by construction (assert True, x == x, len(x) >= 0, a tuple), so it can never fail.",
    bad="def test_parse():\n    result = parse('1')\n    assert len(result) >= 0\n",
    good="def test_parse():\n    result = parse('1')\n    assert result == [1]\n",
)
def tautology(facts: TestFacts) -> Iterator[Hit]:
    yield from sole_hits(facts, "AUD108", tautologies)


def _it_runs(facts: TestFacts) -> bool:
    """Running the code at all is the claim: nothing must raise, or the test imports what it claims exists."""
    return "does-not-raise" in facts.claims or (
        "existence" in facts.claims and bool(facts.of(ast.Import, ast.ImportFrom))
    )


def tautologies(facts: TestFacts) -> Iterator[Detection]:
    """Always-true checks."""
    alone = len(facts.checks) == 1
    for node in facts.asserts:
        why = _tautology(node.test)
        if why == "a value compared with itself" and (
            # among other checks, `obj == obj` is usually a test of a custom __eq__
            (isinstance(node.test.ops[0], ast.Eq) and not alone)  # type: ignore[attr-defined]
            # `abs_min <= abs_min` in a test of comparison methods, `meta.version is meta.version` in a test of
            # caching (an attribute may be a property that builds a new object on every read)
            or set(words(f"{facts.node.name} {ast.get_docstring(facts.node) or ''}")) & _SELF_COMPARISON_CLAIMS
            or isinstance(node.test.left, ast.Attribute)  # type: ignore[attr-defined]
            # syrupy's `snapshot` fixture compares with the stored snapshot, whatever it is compared with
            or ast.unparse(node.test.left).startswith("snapshot")  # type: ignore[attr-defined]
        ):
            continue
        if why in ("a constructor never returns None", "a literal is never None") and _it_runs(facts):
            continue  # `chat = Client()  # should not raise` then `assert chat is not None`: not raising is the check
        if why in _USELESS_BESIDE_CHECKS and not alone:
            continue  # a redundant line beside real checks: the test still checks its claim
        if why == "a true constant" and not alone and any(isinstance(p, (ast.ExceptHandler, ast.If)) for p in facts.ancestors(node)):
            continue  # `except ValueError: assert True` marks the expected branch; the other branch fails
        if why is None and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Name):
            why = _bound_never_none(facts, node.test)
            if why and (not alone or _it_runs(facts)):
                continue  # `test_quickstart_spec_import`: that the import and the construction run is the claim
        if why is None and isinstance(node.test, ast.Call) and call_name(node.test) == "isinstance" and alone:
            why = _own_construction(facts, node.test.args)
        if why:
            yield node, f"always true ({why}): `{ast.unparse(node.test)}`", span(node)
    if alone:
        for call in facts.calls:
            if call_name(call) == "assertIsInstance" and (why := _own_construction(facts, call.args)):
                yield call, f"always true ({why}): `{ast.unparse(call)}`", span(call)


#: Always-true lines that are harmless next to real checks (``assert obj is not None`` before comparing it).
_USELESS_BESIDE_CHECKS = ("a constructor never returns None", "a literal is never None")


def _own_construction(facts: TestFacts, args: list[ast.expr]) -> str | None:
    """``isinstance(x, C)`` where ``x`` was just built by calling ``C(...)`` (in the test or its class's setUp)."""
    if len(args) != 2 or not isinstance(args[1], (ast.Name, ast.Attribute)):
        return None
    cls = dotted(args[1]).split(".")[-1]
    target = ast.unparse(args[0])
    scopes: list[ast.AST] = [facts.node]
    for klass in facts.test.classes:
        scopes.extend(f for f in klass.body if isinstance(f, ast.FunctionDef) and f.name in _SETUPS)
    values = [
        node.value
        for scope in scopes
        for node in walk(scope)
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == target for t in node.targets)
    ]
    if len(values) == 1 and isinstance(values[0], ast.Call) and call_name(values[0]) == cls:
        return f"it was just built by {cls}()"
    return None


_SETUPS = ("setUp", "setup_method", "setup", "asyncSetUp")


def _bound_never_none(facts: TestFacts, test: ast.Compare) -> str | None:
    if not (len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot)):
        return None
    if not (isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None):
        return None
    name = test.left.id  # type: ignore[attr-defined]
    values = [
        child.value
        for child in facts.of(ast.Assign)
        if isinstance(child, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in child.targets)
    ]
    if len(values) == 1 and _tautology(
        ast.Compare(left=values[0], ops=[ast.IsNot()], comparators=[ast.Constant(None)])
    ):
        return f"{name} is bound to a value that is never None"
    return None


def _subject_text(node: ast.AST) -> str:
    return ast.unparse(node).lower()


@rule(
    "AUD109",
    "unfailable-bound",
    "high",
    "A bound no real measurement can break (latency < 1e9, duration > 0) checks nothing about speed.",
    bad="def test_latency(client):\n    start = time.perf_counter()\n    client.get('/health')\n"
    "    elapsed = time.perf_counter() - start\n    assert elapsed < 1e9\n",
    good="def test_latency(client, baseline):\n    start = time.perf_counter()\n    client.get('/health')\n"
    "    elapsed = time.perf_counter() - start\n    assert elapsed < baseline * 1.5\n",
)
def unfailable_bound(facts: TestFacts) -> Iterator[Hit]:
    yield from sole_hits(facts, "AUD109", unfailable_bounds)


def unfailable_bounds(facts: TestFacts) -> Iterator[Detection]:
    """Time bounds no measurement breaks."""
    for node in facts.asserts:
        test = node.test
        if not isinstance(test, ast.Compare) or len(test.ops) != 1:
            continue
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(left, ast.Constant):
            left, right = right, left
            op = {ast.Lt: ast.Gt(), ast.Gt: ast.Lt(), ast.LtE: ast.GtE(), ast.GtE: ast.LtE()}.get(type(op), op)
        if not isinstance(right, (ast.Constant, ast.Call, ast.Attribute, ast.Name, ast.BinOp, ast.UnaryOp)):
            continue
        if _infinite(right):
            if isinstance(op, (ast.Lt, ast.LtE)):
                yield node, f"nothing is above infinity: `{ast.unparse(test)}`", span(node)
            continue
        value = _number(right)
        if value is None:
            continue
        right = ast.Constant(value)
        huge = isinstance(op, (ast.Lt, ast.LtE)) and right.value >= 1e6
        positive = isinstance(op, (ast.Gt, ast.GtE)) and right.value <= 0
        if not (huge or positive) or not any(word in _subject_text(left) for word in _TIME_WORDS):
            continue
        if huge:
            yield node, f"no measured time reaches {right.value:g}: `{ast.unparse(test)}`", span(node)
        elif ((isinstance(op, ast.Gt) and right.value <= 0) or (isinstance(op, ast.GtE) and right.value <= 0)) and (
            _measured_here(facts, left)
        ):
            yield node, f"a duration the test measured itself is always positive: `{ast.unparse(test)}`", span(node)


def _infinite(node: ast.AST) -> bool:
    """``float("inf")``, ``math.inf``, ``sys.maxsize`` or a bare ``inf`` (checked without unparsing)."""
    if isinstance(node, ast.Call):
        return (
            call_name(node) == "float"
            and bool(node.args)
            and isinstance(node.args[0], ast.Constant)
            and (str(node.args[0].value).lower() in ("inf", "infinity", "+inf"))
        )
    if isinstance(node, ast.Attribute):
        return node.attr in ("inf", "maxsize")
    return isinstance(node, ast.Name) and node.id == "inf"


def _number(node: ast.AST) -> float | None:
    """A numeric literal, folding ``10**9``, ``1e6 * 60`` and ``-x`` (bounded, never evaluating code)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Pow, ast.Add)):
        left, right = _number(node.left), _number(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            return float(left) ** right if abs(right) <= 400 and abs(left) < 1e6 else None
        return left * right if isinstance(node.op, ast.Mult) else left + right
    return None


def _measured_here(facts: TestFacts, subject: ast.AST) -> bool:
    """True when ``subject`` is a clock difference taken by the test (so its sign is not in doubt)."""
    timers = ("perf_counter", "monotonic", "time", "perf_counter_ns", "monotonic_ns", "time_ns", "default_timer")

    def clocked(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Call) and call_name(n) in timers for n in walk(node))

    if clocked(subject):
        return True
    if isinstance(subject, ast.Name):
        for node in facts.of(ast.Assign):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == subject.id for t in node.targets
            ):
                return clocked(node.value)
    return False


def _catches_assertion(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted(name).split(".")[-1] in _BROAD for name in names)


@rule(
    "AUD111",
    "swallowed-assertion",
    "high",
    "The check is inside try/except that catches AssertionError (or Exception) and does not re-raise.",
    bad="def test_reply(client):\n    try:\n        assert client.get('/x').json() == {'a': 1}\n"
    "    except Exception:\n        pass\n",
    good="def test_reply(client):\n    assert client.get('/x').json() == {'a': 1}\n",
)
def swallowed_assertion(facts: TestFacts) -> Iterator[Hit]:
    yield from sole_hits(facts, "AUD111", swallowed_checks)


def swallowed_checks(facts: TestFacts) -> Iterator[Detection]:
    """try/except and suppress() blocks that swallow the checks inside them."""
    # A `raise` inside try is how tests set up "an earlier exception happened"; only asserts and
    # checking calls can be swallowed.
    checks = {id(c) for c in facts.checks if not isinstance(c, ast.Raise)}
    for node in facts.of(ast.Try, ast.With):
        if isinstance(node, ast.Try):
            swallowing = [h for h in node.handlers if _catches_assertion(h) and _discards(h)]
            if swallowing and any(id(c) in checks for s in node.body for c in walk(s)) and not _retried(facts, node):
                caught = ast.unparse(swallowing[0].type) if swallowing[0].type else ""
                yield node, f"checks inside this try are swallowed by `except {caught}`", span(node)
        elif isinstance(node, ast.With) and any(
            # `suppress(UnknownTimeZoneError)` lets a failing check through; `suppress(Exception)` does not
            call_name(i.context_expr) == "suppress" and _suppresses_assertion(i.context_expr)
            for i in node.items
            if isinstance(i.context_expr, ast.Call)
        ):
            if any(id(c) in checks for s in node.body for c in walk(s)):
                yield node, "checks inside contextlib.suppress(...) are swallowed", span(node)


def _suppresses_assertion(call: ast.Call) -> bool:
    return any(dotted(arg).split(".")[-1] in _BROAD for arg in call.args)


def _retried(facts: TestFacts, node: ast.Try) -> bool:
    """``while not done: try: check() except AssertionError: pass else: done = True``: retried until it passes."""
    loop = next((p for p in facts.ancestors(node) if isinstance(p, ast.While)), None)
    if loop is None:
        return False
    read = {n.id for n in walk(loop.test) if isinstance(n, ast.Name)}
    set_on_success = {t.id for s in (*node.body, *node.orelse) for a in walk(s) if isinstance(a, ast.Assign)
                      for t in a.targets if isinstance(t, ast.Name)}
    return bool(read & set_on_success)


def _discards(handler: ast.ExceptHandler) -> bool:
    """The handler drops the error: only pass/continue/print/log, and never uses the exception."""
    for statement in handler.body:
        if isinstance(statement, (ast.Pass, ast.Continue, ast.Break)):
            continue
        if isinstance(statement, ast.Return) and (statement.value is None or isinstance(statement.value, ast.Constant)):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and call_name(statement.value) in ("print", "debug", "info", "warning", "warn", "exception", "error", "log")
        ):
            if handler.name and any(isinstance(n, ast.Name) and n.id == handler.name for n in walk(statement)):
                if call_name(statement.value) not in ("print", "debug", "info"):
                    return False
            continue
        return False
    return True
