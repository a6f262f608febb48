"""Fast AST walks for the rules: source order, no context/operator singletons, optional parent map.

The walks run over every node of every test, so they are the scan's hottest loop. Instead of looping
over ``_fields`` with ``getattr``/``isinstance`` per value, each node class gets a small generated
function that lists its child nodes directly; which fields hold nodes (and which hold lists) is read
from the class's ASDL signature (``Call(expr func, expr* args, keyword* keywords)``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

__all__ = ["parent_map", "walk", "walk_grouped"]

Children = Callable[[ast.AST], list[ast.AST]]

#: ASDL field types that are not nodes (names, literals) or that no rule walks to (contexts, operators).
_NOT_NODES = {"identifier", "string", "constant", "int", "expr_context", "boolop", "operator", "unaryop", "cmpop"}
#: List fields whose items may be ``None`` (``{**d}`` keys, keyword-only args without a default).
_MAY_HOLD_NONE = {("Dict", "keys"), ("arguments", "kw_defaults")}
_SIGNATURE = re.compile(r"^\w+\((.*)\)$")


def _generic(node: ast.AST) -> list[ast.AST]:
    """Children by ``_fields``, for classes whose signature cannot be read and for hand-built nodes."""
    children: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        items = value if value.__class__ is list else (value,)
        for item in items:
            if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                children.append(item)
    return children


_LEAVES = (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)


def _compile(cls: type) -> Children | None:
    """A function returning the child nodes of a ``cls`` instance in field order (``None``: it has none)."""
    if issubclass(cls, _LEAVES):
        return None
    match = _SIGNATURE.match((cls.__doc__ or "").split("\n")[0])
    if match is None:
        return _generic if cls._fields else None  # type: ignore[attr-defined]
    lines = []
    for declaration in filter(None, (part.strip() for part in match.group(1).split(","))):
        kind, name = declaration.split()
        base = kind.rstrip("*?")
        if base in _NOT_NODES:
            continue
        if kind.endswith("*"):
            if (cls.__name__, name) in _MAY_HOLD_NONE:
                lines.append(f"    out += [item for item in node.{name} if item is not None]")
            else:
                lines.append(f"    out += node.{name}")
        else:
            lines.append(f"    value = node.{name}\n    if value is not None:\n        out.append(value)")
    if not lines:
        return None
    source = "def children(node):\n    out = []\n" + "\n".join(lines) + "\n    return out\n"
    namespace: dict[str, object] = {}
    exec(compile(source, f"<children of {cls.__name__}>", "exec"), namespace)  # noqa: S102 - generated above
    return namespace["children"]  # type: ignore[return-value]


class _ChildrenTable(dict):  # type: ignore[type-arg]
    """Node class -> its children function, built on first sight of the class."""

    def __missing__(self, cls: type) -> Children | None:
        function = self[cls] = _compile(cls)
        return function


_CHILDREN = _ChildrenTable()


def walk(root: ast.AST) -> list[ast.AST]:
    """Every node under ``root`` (itself included), in source order; several times faster than ``ast.walk``."""
    out: list[ast.AST] = []
    append = out.append
    stack = [root]
    pop = stack.pop
    table = _CHILDREN
    while stack:
        node = pop()
        append(node)
        function = table[node.__class__]
        if function is not None:
            try:
                children = function(node)
            except AttributeError:  # a hand-built node missing a field
                children = _generic(node)
            if children:
                children.reverse()
                stack += children
    return out


def parent_map(roots: list[ast.stmt], top: ast.AST) -> dict[int, ast.AST]:
    """Child node id -> parent node for everything under ``roots`` (the roots map to ``top``)."""
    parents: dict[int, ast.AST] = dict.fromkeys(map(id, roots), top)
    stack = list(roots)
    pop = stack.pop
    table = _CHILDREN
    while stack:
        node = pop()
        function = table[node.__class__]
        if function is not None:
            try:
                children = function(node)
            except AttributeError:  # a hand-built node missing a field
                children = _generic(node)
            if children:
                parents.update(dict.fromkeys(map(id, children), node))
                stack += children
    return parents


def walk_grouped(roots: list[ast.stmt]) -> tuple[list[ast.AST], dict[type, list[ast.AST]]]:
    """All nodes under ``roots`` in source order, and the same nodes grouped by class, in one pass."""
    out: list[ast.AST] = []
    append = out.append
    groups: dict[type, list[ast.AST]] = {}
    group_of = groups.get
    stack = roots[::-1]
    pop = stack.pop
    table = _CHILDREN
    while stack:
        node = pop()
        append(node)
        cls = node.__class__
        group = group_of(cls)
        if group is None:
            groups[cls] = [node]
        else:
            group.append(node)
        function = table[cls]
        if function is not None:
            try:
                children = function(node)
            except AttributeError:  # a hand-built node missing a field
                children = _generic(node)
            if children:
                children.reverse()
                stack += children
    return out, groups
