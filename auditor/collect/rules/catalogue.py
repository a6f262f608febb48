"""Every rule the auditor knows: importing this module imports each rule family, which registers it."""

from __future__ import annotations

from auditor.collect.rules import collection, probe, runtime, static
from auditor.collect.rules.registry import RuleInfo, lookup, registered

#: The families, so a reader sees the whole catalogue in one line (importing them registered their rules).
FAMILIES = (collection, static, runtime, probe)


def all_rules() -> tuple[RuleInfo, ...]:
    """Every rule (static, runtime, probe and scan), sorted by id."""
    return registered()


def get_rule(key: str) -> RuleInfo:
    """The rule with id or slug ``key`` (``KeyError`` when unknown)."""
    return lookup(key)


def is_known(key: str) -> bool:
    """True when ``key`` is the id or slug of a rule."""
    try:
        lookup(key)
    except KeyError:
        return False
    return True
