"""Checks that pass whatever the code does: a bound that holds when nothing changed, checks an exception skips.

``assert len(after) >= len(before)`` with both read the same way is true when the action did nothing, and a
``try: result = f() / except SomeError: continue`` in front of the checks lets a raising ``f`` skip them all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk

#: Wrappers that keep "the same measure" (``len(a) >= len(b)`` compares what ``a >= b`` would).
_MEASURES = {"len", "abs", "sum", "max", "min", "float", "int", "count"}
#: Claim words for which "not less than before" is the whole point.
_NON_DECREASING = {"not", "never", "monotonic", "monotonically", "nondecreasing", "non", "least", "keeps", "preserves",
                   "same", "unchanged", "stable", "idempotent"}


def _measured(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Call) and call_name(node) in _MEASURES and len(node.args) == 1:
        node = node.args[0]
    return node


def _single_binding(facts: TestFacts, name: str) -> ast.expr | None:
    values = [
        node.value
        for node in facts.of(ast.Assign)
        if any(isinstance(t, ast.Name) and t.id == name for t in node.targets)  # type: ignore[attr-defined]
    ]
    return values[0] if len(values) == 1 else None  # type: ignore[return-value]


def _reading(facts: TestFacts, node: ast.expr) -> str | None:
    """What a side of the comparison reads: the expression a local was bound to, or the expression itself."""
    node = _measured(node)
    if isinstance(node, ast.Name):
        value = _single_binding(facts, node.id)
        return ast.dump(value) if value is not None and any(isinstance(n, (ast.Call, ast.Attribute)) for n in walk(value)) else None
    if isinstance(node, (ast.Attribute, ast.Call)):
        return ast.dump(node)
    return None


# LOW: 1 of the 4 labelled strangers' tests it flagged were weak (docs/rules.md, "Severity from strangers' tests")
@rule(
    "AUD143",
    "unchanged-passes-bound",
    "low",
    "`after >= before` with both read the same way holds when the action changed nothing: no change passes.",
    bad="def test_dashboard_updates(page):\n    before = page.inner_text('table')\n    make_request()\n"
    "    page.reload()\n    after = page.inner_text('table')\n    assert len(after) >= len(before)\n",
    good="def test_dashboard_updates(page):\n    before = page.inner_text('table')\n    make_request()\n"
    "    page.reload()\n    after = page.inner_text('table')\n    assert len(after) > len(before)\n",
)
def unchanged_passes_bound(facts: TestFacts) -> Iterator[Hit]:
    for node in facts.asserts:
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.GtE, ast.LtE))):
            continue
        left, right = test.left, test.comparators[0]
        read_left = _reading(facts, left)
        read_right = _reading(facts, right) if read_left is not None else None
        if read_right is None or read_left != read_right:
            continue
        if ast.dump(_measured(left)) == ast.dump(_measured(right)) or _NON_DECREASING & set(words(facts.node.name)):
            continue  # x >= x is AUD108's; "never decreases" is the claim itself
        yield node, f"both sides are read the same way, so no change at all passes: `{ast.unparse(test)}`"


def _exits(handler: ast.ExceptHandler) -> str | None:
    """``continue``/``return``/``break`` as the handler's only effect: the statements after the try never run."""
    body = [s for s in handler.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], (ast.Continue, ast.Break)):
        return "continue" if isinstance(body[0], ast.Continue) else "break"
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is None:
        return "return"
    return None


#: A missing dependency, or any error at all: a specific ValueError is often "this case does not apply".
_SWALLOWED = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _swallows(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(ast.unparse(k).split(".")[-1] in _SWALLOWED for k in kinds)


def _blocks(facts: TestFacts) -> Iterator[list[ast.stmt]]:
    yield facts.body
    for node in facts.nodes:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt) and node is not facts.node:
                yield block


# LOW: 1 of the 4 labelled strangers' tests it flagged were weak (docs/rules.md, "Severity from strangers' tests")
@rule(
    "AUD144",
    "exception-skips-checks",
    "low",
    "An except (ImportError, Exception) that continues or returns skips every check after it: the test passes.",
    bad="def test_helpers_return_types():\n    for helper in (sdk_errors, agent_errors):\n        try:\n"
    "            result = helper()\n        except ImportError:\n            continue\n"
    "        assert result == (APIError,)\n",
    good="def test_helpers_return_types():\n    for helper in (sdk_errors, agent_errors):\n"
    "        result = helper()\n        assert result == (APIError,)\n",
)
def exception_skips_checks(facts: TestFacts) -> Iterator[Hit]:
    if not facts.of(ast.Try):
        return
    checks = {id(c) for c in facts.checks}
    for block in _blocks(facts):
        for index, statement in enumerate(block):
            if not isinstance(statement, ast.Try) or not any(
                isinstance(n, (ast.Call, ast.Import, ast.ImportFrom)) for s in statement.body for n in walk(s)
            ):
                continue
            for handler in statement.handlers:
                if not _swallows(handler):
                    continue
                how = _exits(handler)
                later = block[index + 1 :]
                if how and any(id(n) in checks for s in later for n in walk(s)):
                    caught = ast.unparse(handler.type) if handler.type is not None else "anything"
                    yield handler, f"`except {caught}: {how}` skips the checks after it, so a raising call passes"
                    return


#: Claim words for which the sign is the point (``test_cost_is_positive``) or success is (``test_model_resolves``).
_SIGN_CLAIMS = {"positive", "negative", "nonzero", "non", "zero", "sign", "resolve", "resolves", "resolved", "works",
                "succeeds", "accepts", "nonnegative", "greater", "less", "some", "any", "bigger", "smaller", "grows",
                "increases", "decreases", "more", "fewer",
                "constant", "varies", "vary", "varied"}  # `test_no_section_is_constant`: a spread above zero
#: Verbs of a test's name saying a counter is fed at all (`test_soft_cancel_tracks_usage`: requests > 0); in a
#: docstring, or last in the name, "counts" is as often the noun ("should give different counts").
_FED_COUNTER = {"tracks", "tracked", "aggregates", "aggregated", "counts", "counted", "increments", "incremented"}
#: Quantities between 0 and 1 (a score, a ratio): there `score > 0.7` is a threshold, not the sign.
_UNIT_INTERVAL = {"score", "scores", "ratio", "confidence", "probability", "prob", "similarity", "accuracy",
                  "fraction", "share", "precision", "recall", "proportion"}


def _conjuncts(expr: ast.expr) -> list[ast.expr]:
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.And):
        return [part for value in expr.values for part in _conjuncts(value)]
    return [expr]


def _sign_only(expr: ast.expr) -> str | None:
    """``cost > 0``, ``n >= 1``: the subject, when only its sign is checked (``!= 0`` is how regressions pin
    "no longer rounds to zero", so it is left alone)."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1):
        return None
    left, op, right = expr.left, expr.ops[0], expr.comparators[0]
    if isinstance(left, ast.Constant):
        left, right = right, left
        op = {ast.Lt: ast.Gt(), ast.LtE: ast.GtE()}.get(type(op), op)
    if not (isinstance(right, ast.Constant) and type(right.value) in (int, float)):
        return None
    # `size > 0.1` for a size in bytes: a fraction of one unit is still only the sign
    positive = (isinstance(op, ast.Gt) and 0 <= right.value < 1) or (isinstance(op, ast.GtE) and right.value in (0, 1))
    if not positive or (0 < right.value < 1 and _UNIT_INTERVAL & set(words(ast.unparse(left)))):
        return None
    if isinstance(left, ast.Call) and call_name(left) in ("len", "count", "perf_counter", "time", "monotonic"):
        return None  # emptiness is AUD137's, durations AUD109's
    return ast.unparse(left) if isinstance(left, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) else None


@rule(
    "AUD148",
    "sign-only",
    "medium",
    "The only check is that a computed number is positive (cost > 0): almost any wrong amount passes.",
    bad="def test_estimate_cost_without_max_tokens(provider):\n    cost = provider.estimate_cost(messages=MSGS)\n"
    "    assert cost > 0\n",
    good="def test_estimate_cost_without_max_tokens(provider):\n    cost = provider.estimate_cost(messages=MSGS)\n"
    "    assert cost == pytest.approx(0.0012)\n",
)
def sign_only(facts: TestFacts) -> Iterator[Hit]:
    if not facts.asserts or len(facts.asserts) != len(facts.checks):
        return
    # `assert a > 0 and b > 0` is two sign checks
    subjects = [_sign_only(part) for node in facts.asserts for part in _conjuncts(node.test)]
    if not all(subjects) or any(word in (subject or "").lower() for subject in subjects
                                for word in ("time", "elapsed", "duration", "latency")):
        return
    if facts.claims & {"does-not-raise", "existence", "liveness", "timing", "status"}:
        return
    if _FED_COUNTER & set(words(facts.node.name)[:-1]):
        return  # a verb with an object after it; last, "counts" is the noun (`test_gpt4o_and_gpt4_counts`)
    if not _SIGN_CLAIMS & set(words(" ".join([facts.node.name, ast.get_docstring(facts.node) or ""]))):
        yield facts.asserts[0], f"only the sign of `{subjects[0]}` is checked"
