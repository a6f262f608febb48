"""A concurrency claim checked by counting: "thread safe" tests that only count results or errors.

Lost updates, interleaved writes and races leave the number of results and the empty error list just as
they were; only comparing the shared state (a counter's final value, the stream's content, distinct ids)
catches them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts
from auditor.collect.rules.shallow import check_tests

_CLAIM_WORDS = {"thread", "threads", "threaded", "threadsafe", "concurrent", "concurrency", "concurrently",
                "race", "races", "racing", "parallel", "multithreaded", "multithreading"}
_STARTERS = {"Thread", "ThreadPoolExecutor", "ProcessPoolExecutor", "gather", "start_new_thread", "Pool",
             "TaskGroup", "create_task", "submit", "map", "start_soon"}


def _counting(expr: ast.expr) -> bool:
    """``len(results) == 5``, ``len(errors) == 0``, ``not errors``, ``ok is True``: counts and flags, no state."""
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return isinstance(expr.operand, ast.Name)
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1):
        return False
    left, right = expr.left, expr.comparators[0]
    if isinstance(left, ast.Call) and call_name(left) == "len" and left.args:
        counted = left.args[0]
        # len(set(ids)) == n counts *distinct* values: a race that duplicates one is caught
        if isinstance(counted, ast.Call) and call_name(counted) in ("set", "frozenset", "Counter", "unique"):
            return False
        return isinstance(right, (ast.Constant, ast.Name, ast.BinOp))
    if isinstance(expr.ops[0], (ast.Is, ast.Eq)) and isinstance(right, ast.Constant):
        return right.value is True or right.value is False or (right.value in ([], "") and isinstance(left, ast.Name))
    if isinstance(expr.ops[0], ast.Eq) and isinstance(right, ast.List) and not right.elts:
        return True
    return False


@rule(
    "AUD145",
    "concurrency-counted-only",
    "medium",
    "A thread-safety test that only counts results or errors: lost updates and interleaved writes still pass.",
    bad="def test_counter_thread_safe():\n    errors = []\n    threads = [Thread(target=bump, args=(errors,)) for _ in range(8)]\n"
    "    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()\n    assert len(errors) == 0\n",
    good="def test_counter_thread_safe():\n    counter = Counter()\n"
    "    threads = [Thread(target=counter.bump) for _ in range(8)]\n    for t in threads:\n        t.start()\n"
    "    for t in threads:\n        t.join()\n    assert counter.value == 8\n",
)
def concurrency_counted_only(facts: TestFacts) -> Iterator[Hit]:
    if not any(call_name(c) in _STARTERS for c in facts.calls):
        return
    if not set(words(" ".join([facts.node.name, ast.get_docstring(facts.node) or ""]))) & _CLAIM_WORDS:
        return
    tests = check_tests(facts)
    if tests and all(_counting(expr) for _node, expr in tests):
        yield tests[0][0], f"only counts or flags are checked under concurrency: `{ast.unparse(tests[0][1])}`"
