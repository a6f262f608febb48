"""Checks that may never run: behind an if, in an except, or in a loop over what may be empty (AUD110)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.markers import argnames, mark_name
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk
from auditor.collect.rules.values import is_existence_check

_BRANCHING = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.comprehension, ast.Match, ast.ExceptHandler)


def _branch_has_check(facts: TestFacts, statements: list[ast.stmt]) -> bool:
    checks = {id(c) for c in facts.checks}
    for statement in statements:
        for child in walk(statement):
            if id(child) in checks:
                return True
            if isinstance(child, ast.Call) and call_name(child) in ("skip", "skipTest", "xfail"):
                return True
    return False


def _parametrize_calls(facts: TestFacts) -> list[ast.Call]:
    decorators = [*facts.node.decorator_list, *(d for cls in facts.test.classes for d in cls.decorator_list)]
    return [d for d in decorators if isinstance(d, ast.Call) and mark_name(d) == "parametrize"]


def _is_failure(check: ast.AST) -> bool:
    """``pytest.fail(...)``/``raise``: inside ``if bad:`` the if's condition *is* the assertion."""
    if isinstance(check, ast.Assert) and isinstance(check.test, ast.Constant) and not check.test.value:
        return True  # `assert False` inside `if bad:` is pytest.fail() spelt differently
    return isinstance(check, ast.Raise) or (isinstance(check, ast.Call) and call_name(check) == "fail")


def _conditional_check(facts: TestFacts, check: ast.AST) -> bool:
    if _is_failure(check):
        return False
    params = {name for call in _parametrize_calls(facts) for name in argnames(call)}
    child = check
    for parent in facts.ancestors(check):
        if (
            isinstance(parent, ast.If)
            and params
            and {n.id for n in walk(parent.test) if isinstance(n, ast.Name)} <= params
        ):
            return False  # each parametrized case picks its branch by design
        if isinstance(parent, ast.If) and child is not parent.test:
            other = parent.orelse if child in parent.body else parent.body
            if not _branch_has_check(facts, other) and not _filters_test_data(facts, parent):
                return True
        if isinstance(parent, ast.ExceptHandler):
            attempt = facts.parents.get(id(parent))
            fallback = parent.type is not None and "AssertionError" in ast.unparse(parent.type)
            if isinstance(attempt, ast.Try) and not fallback and not _fails_unless_raised(attempt):
                return True  # runs only if the exception comes; nothing fails when it does not
        elif isinstance(parent, (ast.For, ast.AsyncFor, ast.While, ast.comprehension, ast.Match)):
            if facts.is_conditional(child if not isinstance(parent, ast.comprehension) else check):
                return True
        child = parent
    return False


def _filters_test_data(facts: TestFacts, branch: ast.If) -> bool:
    """``for arr in CASES: if arr.dtype != object: check(arr)``: an if picking cases from the test's own data.

    The data is a literal or a module-level constant of the test module, so which cases pass the filter is
    fixed and the check runs on them; a filter over what the code under test returned is another matter.
    """
    for parent in facts.ancestors(branch):
        if isinstance(parent, (ast.For, ast.AsyncFor)):
            source = parent.iter
            if isinstance(source, ast.Call) and call_name(source) in ("enumerate", "zip", "sorted", "list") and source.args:
                source = source.args[0]
            if isinstance(source, (ast.List, ast.Tuple, ast.Set)):
                return True
            return isinstance(source, ast.Name) and source.id in _module_constants(facts)
    return False


def _module_constants(facts: TestFacts) -> set[str]:
    return {
        target.id
        for statement in facts.test.module.tree.body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


def _fails_unless_raised(attempt: ast.Try) -> bool:
    """``try: f() / pytest.fail() except E: ...`` or ``else: assert False``: no exception is a failure."""
    last = attempt.body[-1:] if attempt.body else []
    return any(_is_failure(_statement_check(s)) for s in [*last, *attempt.orelse])


def _statement_check(statement: ast.stmt) -> ast.AST:
    return statement.value if isinstance(statement, ast.Expr) else statement


def _existence_only(facts: TestFacts, check: ast.AST) -> bool:
    """``assert items`` / ``len(items) > 0`` before the real checks: says only that there is something to check."""
    return isinstance(check, ast.Assert) and is_existence_check(facts, check.test)


@rule(
    "AUD110",
    "conditional-assertion",
    # low: a smell more than a weak test; 2 of 11 tests it flagged in a blind sample of strangers' tests were weak
    # (docs/rules.md, "Severity from strangers' tests")
    "low",
    "Every check of the content sits behind an if or an except, or in a loop that may run zero times: it can pass unchecked.",
    bad="def test_items(client):\n    r = client.get('/items')\n    for item in r.json():\n        assert item['id'] > 0\n",
    good="def test_items(client):\n    r = client.get('/items')\n    items = r.json()\n    assert len(items) == 2\n"
    "    for item in items:\n        assert item['id'] > 0\n",
)
def conditional_assertion(facts: TestFacts) -> Iterator[Hit]:
    checks = facts.checks
    if not checks or not facts.of(*_BRANCHING):
        return
    conditional = [check for check in checks if _conditional_check(facts, check)]
    if not conditional:
        return
    if len(conditional) == len(checks):
        first = min(checks, key=lambda c: getattr(c, "lineno", 0))
        yield first, "every check is conditional (inside an if, an except or a loop that may not run)"
    elif all(_existence_only(facts, check) for check in checks if check not in conditional):
        first = min(conditional, key=lambda c: getattr(c, "lineno", 0))
        yield first, "every check of the content is conditional; the others only say something exists"
