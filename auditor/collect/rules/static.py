"""The static rule set: importing this module registers every AUD1xx rule that looks at a test's AST."""

from __future__ import annotations

from auditor.collect.rules import (  # noqa: F401 - registration
    collection,
    concurrency,
    conditional,
    exits,
    http,
    oracle,
    owncode,
    partial,
    realism,
    selfwritten,
    shallow,
    smoke,
    stray,
    statements,
    structure,
    trailing,
    unfailing,
    values,
)
from auditor.collect.rules.base import STATIC_RULES, StaticRule

__all__ = ["STATIC_RULES", "StaticRule"]
