"""Fast AST walks for the rules: source order, no context/operator singletons, optional parent map."""

from __future__ import annotations

import ast

__all__ = ["walk", "walk_with_parents"]


#: Context and operator singletons: no rule looks at them through a walk, and they are a third of all nodes.
_LEAVES = (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)
#: Fields that never hold child nodes, per node class (``Constant.value`` is data; ``Attribute.value`` is not).
_SCALARS = {
    "id",
    "ctx",
    "attr",
    "arg",
    "name",
    "kind",
    "type_comment",
    "level",
    "module",
    "asname",
    "conversion",
    "is_async",
    "simple",
    "op",
}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: (), ast.Name: ()}


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _SCALARS)  # type: ignore[attr-defined]
    return fields


def _children(node: ast.AST) -> list[ast.AST]:
    children: list[ast.AST] = []
    append = children.append
    for name in _child_fields(type(node)):
        value = getattr(node, name, None)
        if value is None:
            continue
        if value.__class__ is list:
            for item in value:
                if isinstance(item, _AST) and not isinstance(item, _LEAVES):
                    append(item)
        elif isinstance(value, _AST) and not isinstance(value, _LEAVES):
            append(value)
    return children


_AST = ast.AST


def walk(root: ast.AST) -> list[ast.AST]:
    """Every node under ``root`` (itself included), in source order; several times faster than ``ast.walk``."""
    out: list[ast.AST] = []
    stack = [root]
    while stack:
        node = stack.pop()
        out.append(node)
        if _child_fields(type(node)):
            stack.extend(reversed(_children(node)))
    return out


def walk_with_parents(roots: list[ast.stmt], top: ast.AST) -> tuple[list[ast.AST], dict[int, ast.AST]]:
    """All nodes under ``roots`` in source order, and a child-id -> parent map (roots map to ``top``)."""
    out: list[ast.AST] = []
    parents: dict[int, ast.AST] = {}
    stack: list[tuple[ast.AST, ast.AST]] = [(root, top) for root in reversed(roots)]
    while stack:
        node, parent = stack.pop()
        out.append(node)
        parents[id(node)] = parent
        if _child_fields(type(node)):
            stack.extend((child, node) for child in reversed(_children(node)))
    return out, parents
