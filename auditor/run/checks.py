"""Which lines of a test file are checks, for :mod:`auditor.run.quiet`'s count of the checks a test executed.

A check is code that fails the test when something is wrong, reached whether or not it failed:

- an ``assert`` statement;
- a call that is a check wherever the function it calls lives: ``assert*`` (unittest's and mock's
  ``assert_called_once_with``...), ``pytest.fail``, ``raise_for_status()``, pytester's ``fnmatch_lines``, and a
  ``with`` of a checking context (``pytest.warns``, ``self.assertRaises``);
- an ``if`` (or ``match``) with a branch that fails (``pytest.fail()``, ``raise``, ``assert False``), a loop whose
  ``else`` fails, a ``try`` whose handler fails: reaching the condition *is* the check, as ``if r.status_code !=
  200: pytest.fail(r.text)`` checks the status on every run, and fails only on a bad one.

``pytest.raises`` is left out: the recorder counts its blocks apart (``raises_blocks``). The names are those the
static rules accept (:mod:`auditor.collect.rules.calls`), less the ones that guess from a helper's name
(``check_reply``): a helper's own checks are counted where they run, in a test file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from auditor.collect.rules.calls import CHECK_CALLS, CHECK_CONTEXTS

#: Call names that are checks (``raises`` is counted by the recorder's patch of ``pytest.raises``).
CALLS = frozenset((CHECK_CALLS | CHECK_CONTEXTS) - {"raises"})
_SIMPLE = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_TRY = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


def check_lines(tree: ast.AST) -> dict[int, str]:
    """Line -> kind (``assert``, ``call`` or ``branch``) of every check in a parsed test file.

    A multi-line statement is known by its first line, where it starts executing.
    """
    found: dict[int, str] = {}
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.update(_armed_traps(function))
    for node in ast.walk(tree):
        kind = _kind(node)
        if kind is not None:
            # a hand-written pytest.raises (``try: call(); pytest.fail(...) except E: pass``) is reached at the
            # call it guards: the fail after it never runs when the expected exception comes
            line = node.body[0].lineno if isinstance(node, _TRY) and _fails(node.body) else node.lineno
            found.setdefault(line, kind)  # type: ignore[attr-defined]
    return found


def _kind(node: ast.AST) -> str | None:
    if isinstance(node, ast.Assert):
        return "assert"
    if isinstance(node, _SIMPLE):
        return "call" if any(_is_check(call) for call in _calls(node)) else None
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return "call" if any(_is_check(item.context_expr) for item in node.items) else None
    if isinstance(node, ast.If):
        # an explicit two-way decision with checks on a side: "426 is fine, else assert it is a 400"
        two_way = bool(node.orelse) and (_holds_check(node.body) or _holds_check(node.orelse))
        return "branch" if _fails(node.body) or _fails(node.orelse) or two_way else None
    if isinstance(node, _LOOPS):
        return "branch" if _fails(node.orelse) else None
    if isinstance(node, _TRY):
        guarded = bool(node.handlers) and (_fails(node.body) or _fails(node.orelse))
        return "branch" if guarded or any(_fails(handler.body) for handler in node.handlers) else None
    if isinstance(node, ast.Match):
        return "branch" if any(_fails(case.body) for case in node.cases) else None
    return None


def _calls(statement: ast.stmt) -> Iterable[ast.Call]:
    """The calls a statement makes when it runs (a lambda's body runs later, if ever)."""
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Call):
            yield node
        pending.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.Lambda))


def _name(node: ast.AST) -> str:
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_check(node: ast.AST) -> bool:
    name = _name(node)
    return name.startswith("assert") or name in CALLS


def _fails(statements: list[ast.stmt]) -> bool:
    """A branch that fails the test: ``raise``, ``pytest.fail(...)``/``self.fail(...)`` or ``assert False``."""
    for statement in statements:
        if isinstance(statement, ast.Raise):
            return True
        if isinstance(statement, ast.Expr) and _name(statement.value) == "fail":
            return True
        if isinstance(statement, ast.Assert) and isinstance(statement.test, ast.Constant) and not statement.test.value:
            return True
    return False


def _holds_check(statements: list[ast.stmt]) -> bool:
    """Whether ``statements`` hold a check of any kind (``pytest.raises`` included), however deep."""
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Assert, ast.Raise)) or _is_check(node) or _name(node) in ("raises", "fail"):
                return True
    return False


def _armed_traps(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[int, str]:
    """Lines where a test hands over a function of its own that fails when called (a trap: "the parent must
    not load the app", ``monkeypatch.setattr(Config, "load_app", fail)``): arming it is the check, and a
    passing run is one where it never fired. A trap defined and never handed over checks nothing."""
    traps = {node.name for node in function.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _fails(node.body)}
    if not traps:
        return {}
    armed: dict[int, str] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and any(isinstance(arg, ast.Name) and arg.id in traps
                                              for arg in [*node.args, *(k.value for k in node.keywords)]):
            armed.setdefault(node.lineno, "call")
    return armed
