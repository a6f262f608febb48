"""A command run from a test (a CLI runner, ``subprocess.run``) whose only check is its exit status."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts
from auditor.collect.rules.shallow import EXIT_ATTRS, check_tests, claim_words

def _runs_command(call: ast.AST) -> bool:
    if isinstance(call, ast.Await):
        call = call.value
    if not isinstance(call, ast.Call):
        return False
    name = call_name(call)
    receiver = dotted(call.func).rsplit(".", 1)[0].lower() if isinstance(call.func, ast.Attribute) else ""
    return (name == "invoke" and "runner" in receiver) or (name == "run" and receiver == "subprocess")


def _exit_success(expr: ast.expr, name: str) -> bool:
    """``result.exit_code == 0``, ``result.exception is None``, ``not result.exception``."""
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        expr = expr.operand
        return isinstance(expr, ast.Attribute) and _is_attr_of(expr, name) and expr.attr in EXIT_ATTRS
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1:
        left, right = expr.left, expr.comparators[0]
        if isinstance(right, ast.Attribute):
            left, right = right, left
        if not (isinstance(left, ast.Attribute) and _is_attr_of(left, name) and left.attr in EXIT_ATTRS):
            return False
        if isinstance(expr.ops[0], (ast.Eq, ast.Is)):
            return isinstance(right, ast.Constant) and right.value in (0, None, False)
    return False


def _is_attr_of(node: ast.Attribute, name: str) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == name


@rule(
    "AUD141",
    "exit-status-only",
    "medium",
    "A command is run and only its exit status is checked: a command that prints the wrong thing still passes.",
    bad="def test_export_csv(runner):\n    result = runner.invoke(cli, ['export', '--csv'])\n    assert result.exit_code == 0\n",
    good="def test_export_csv(runner):\n    result = runner.invoke(cli, ['export', '--csv'])\n    assert result.exit_code == 0\n"
    "    assert result.output == 'id,name\\n1,a\\n'\n",
)
def exit_status_only(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    if not tests or not any(call_name(c) in ("invoke", "run") for c in facts.calls):
        return
    results = [
        t.id
        for node in facts.of(ast.Assign)
        if _runs_command(node.value)  # type: ignore[attr-defined]
        for t in node.targets  # type: ignore[attr-defined]
        if isinstance(t, ast.Name)
    ]
    for name in results:
        if not all(_exit_success(expr, name) for _node, expr in tests):
            continue
        reads = [n for n in facts.name_uses(name) if not _exit_read(facts, n)]
        if reads or facts.claims & {"does-not-raise", "status", "liveness", "existence"}:
            return
        if not {"exit", "exits", "code", "fails", "abort", "aborts", "returncode"} & claim_words(facts):
            yield tests[0][0], f"only the exit status of `{name}` is checked, never its output"  # else the code is the claim
        return


def _exit_read(facts: TestFacts, use: ast.Name) -> bool:
    parent = facts.parents.get(id(use))
    return isinstance(parent, ast.Attribute) and parent.attr in EXIT_ATTRS

