"""How a static rule is declared: a :class:`RuleInfo` plus a function from test facts to hits."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from auditor.collect.rules.facts import TestFacts
from auditor.collect.rules.registry import RuleInfo, register

#: A hit: the node (or line number) where the weakness is, and a message naming what was seen.
Hit = tuple[ast.AST | int, str]
Check = Callable[[TestFacts], Iterable[Hit]]


@dataclass(frozen=True)
class StaticRule:
    """A registered static rule and its check."""

    info: RuleInfo
    check: Check
    #: Rules whose findings make this one redundant on the same test (e.g. empty body -> no assertion).
    superseded_by: tuple[str, ...] = ()
    #: Still checked on unconditionally skipped tests (rules about the marks themselves).
    on_skipped: bool = False


STATIC_RULES: list[StaticRule] = []


def rule(
    id: str,  # noqa: A002 - the registry's field name
    slug: str,
    severity: str,
    rationale: str,
    *,
    bad: str,
    good: str,
    superseded_by: tuple[str, ...] = (),
    on_skipped: bool = False,
) -> Callable[[Check], Check]:
    """Register the decorated function as static rule ``id``."""

    def wrap(check: Check) -> Check:
        info = register(
            RuleInfo(id=id, slug=slug, severity=severity, origin="static", rationale=rationale, bad=bad, good=good)
        )
        STATIC_RULES.append(StaticRule(info=info, check=check, superseded_by=superseded_by, on_skipped=on_skipped))
        return check

    return wrap
