"""Reading pytest marks, parametrize sizes and fixture names from decorators, without importing anything."""

from __future__ import annotations

import ast

from auditor.model import Marker

_UNITTEST_SKIPS = {"skip": "skip", "skipIf": "skipif", "skipUnless": "skipunless", "expectedFailure": "xfail"}


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain (calls are looked through), else ``""``."""
    parts = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return ""


def mark_name(node: ast.AST) -> str | None:
    """The mark name of a decorator or ``pytestmark`` item (``skip`` for ``pytest.mark.skip(...)``)."""
    name = dotted(node)
    if not name:
        return None
    parts = name.split(".")
    if len(parts) >= 2 and parts[-2] == "mark":
        return parts[-1]
    if parts[-1] in _UNITTEST_SKIPS and (len(parts) == 1 or parts[-2] == "unittest"):
        return _UNITTEST_SKIPS[parts[-1]]
    return None


def is_test_metadata(decorator: ast.expr) -> bool:
    """``@pytest.mark.parametrize(...)``, ``@mark.slow``, ``@unittest.skipIf(...)``: says how to run the test; any
    other decorator (``@freeze_time(...)``, ``@vcr.use_cassette(...)``) wraps it in code that runs with it."""
    path = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator)
    if path.startswith(("pytest.", "mark.", "unittest.", "mock.", "hypothesis.")):
        return True
    last = path.split(".")[-1]
    return last.startswith("skip") or last in _TEST_TOOLING or path in ("patch.object", "patch.dict", "patch.multiple")


#: Decorators of test tooling (hypothesis, mock, Django's test utilities), not of the code under test.
_TEST_TOOLING = {"given", "settings", "example", "seed", "reproduce_failure", "patch", "override_settings",
                 "modify_settings", "tag", "expectedFailure"}


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return ast.unparse(node)
    return None


def _always_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value) and not isinstance(node.value, str)


def parse_marker(node: ast.AST) -> Marker | None:
    """A :class:`Marker` for a mark decorator, or ``None`` when ``node`` is not a mark."""
    name = mark_name(node)
    if name is None:
        return None
    call = node if isinstance(node, ast.Call) else None
    args = call.args if call else []
    reason = _const_str(_kw(call, "reason")) if call else None
    condition_node = _kw(call, "condition") if call else None
    if name == "skip":
        if reason is None and args:
            reason = _const_str(args[0])
        return Marker(name="skip", reason=reason, unconditional=True)
    if name in ("skipif", "skipunless"):
        if args:
            condition_node = args[0]
            if reason is None and len(args) > 1:
                reason = _const_str(args[1])
        condition = ast.unparse(condition_node) if condition_node is not None else None
        always = condition_node is not None and _always_true(condition_node) and name == "skipif"
        return Marker(name="skipif", reason=reason, condition=condition, unconditional=always)
    if name == "xfail":
        if args and condition_node is None:
            condition_node = args[0]
        strict_node = _kw(call, "strict") if call else None
        strict = strict_node.value if isinstance(strict_node, ast.Constant) else None
        condition = ast.unparse(condition_node) if condition_node is not None else None
        return Marker(
            name="xfail",
            reason=reason,
            condition=condition,
            unconditional=condition_node is None or _always_true(condition_node),
            strict=strict if isinstance(strict, bool) else None,
        )
    return Marker(name=name, reason=reason)


def pytestmark_items(tree_body: list[ast.stmt]) -> list[ast.expr]:
    """The mark expressions of ``pytestmark = ...`` in a module or class body."""
    items: list[ast.expr] = []
    for statement in tree_body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in statement.targets
        ):
            value = statement.value
            items.extend(value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value])
    return items


def argnames(call: ast.Call) -> list[str]:
    """The argument names of a ``parametrize`` call (``"a, b"`` or ``["a", "b"]``)."""
    if not call.args:
        node = _kw(call, "argnames")
    else:
        node = call.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [part.strip() for part in node.value.split(",") if part.strip()]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [item.value for item in node.elts if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    return []


def argvalues(call: ast.Call) -> ast.expr | None:
    """The ``argvalues`` expression of a ``parametrize`` call."""
    if len(call.args) > 1:
        return call.args[1]
    return _kw(call, "argvalues")


def parametrize_size(calls: list[ast.Call]) -> int | None:
    """Instances produced by stacked ``parametrize`` calls; ``None`` when a list is not a literal."""
    size = 1
    for call in calls:
        values = argvalues(call)
        if isinstance(values, (ast.List, ast.Tuple, ast.Set)) and not any(
            isinstance(item, ast.Starred) for item in values.elts
        ):
            size *= len(values.elts)
        else:
            return None
    return size


def usefixtures(call: ast.Call) -> list[str]:
    """Fixture names given to ``pytest.mark.usefixtures``."""
    return [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
