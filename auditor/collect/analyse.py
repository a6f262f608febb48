"""Static analysis: run every enabled AUD1xx rule over the inventory, then apply suppressions.

Rules see one test at a time through :class:`~auditor.collect.rules.facts.TestFacts`. A test that pytest never
collects by accident (AUD124: its name or file name) is analysed too, because its other defects surface the
day it is renamed; one switched off on purpose (AUD126: ``__test__ = False``) is not; an unconditionally skipped
test only gets the rules about its marks; the tests of a file over ``HUGE_FILE_BYTES`` get none (AUD903).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.collect.inventory import Inventory, TestNode, paused_gc
from auditor.collect.pytest_settings import PytestSettings
from auditor.collect.rules.base import StaticRule
from auditor.collect.rules.catalogue import get_rule, is_known
from auditor.collect.rules.facts import TestFacts
from auditor.collect.rules.index import ProjectIndex, import_module_path
from auditor.collect.rules.registry import finding, is_enabled
from auditor.collect.rules.static import STATIC_RULES
from auditor.collect.rules.structure import unconditionally_skipped
from auditor.collect.settle import awaits_run
from auditor.collect.suppress import Suppression, apply
from auditor.config import AuditConfig
from auditor.model import Finding, TestCase

#: Helper modules at least this large are not followed (generated code, not helpers).
HELPER_BYTES = 1_000_000


def analyse_static(
    config: AuditConfig, inventory: Inventory, *, loaded: list[str] | None = None
) -> tuple[Finding, ...]:
    """Findings of the static rules on every test meant to run, suppressions applied, sorted by place.

    ``loaded``, when given, receives the project files the rules read besides the inventory's modules
    (helper modules), so a cache can depend on them.
    """
    with paused_gc():
        index = ProjectIndex(root=config.root, modules=inventory.modules)
        facts = prepare(config, inventory.settings, inventory.nodes, index)
        for order, (near, name) in enumerate(helper_loads(helper_imports(facts)), start=len(inventory.modules)):
            load_helper(index, name, near, order)
        results = run_rules(config, facts, index)
        if loaded is not None:
            loaded.extend(index.loaded_paths)
        raw = [finding for result in results.values() for finding in result.raw]
        return finish(config, raw, inventory.suppressions, inventory.used_suppressions)


@dataclass(frozen=True)
class ModuleResult:
    """The rule findings of one module's tests (before suppressions) and the index names they looked up."""

    raw: tuple[Finding, ...]
    consulted: frozenset[str]


def _meant_to_run(case: TestCase) -> bool:
    """Collected, or missed by pytest only through a name (AUD124), not switched off with ``__test__``."""
    return case.collectable or "__test__" not in (case.not_collectable_reason or "")


def prepare(
    config: AuditConfig, settings: PytestSettings, nodes: Iterable[TestNode], index: ProjectIndex
) -> dict[str, list[TestFacts]]:
    """Facts of every test the rules look at, by module path (in inventory order)."""
    by_module: dict[str, list[TestFacts]] = {}
    for test in nodes:
        # A huge file's tests are counted but not analysed (the AUD903 note on the file says so).
        if test.primary and _meant_to_run(test.case) and not test.module.huge_bytes:
            facts = TestFacts(test=test, config=config, settings=settings, index=index)
            by_module.setdefault(test.case.path, []).append(facts)
    return by_module


def helper_imports(by_module: dict[str, list[TestFacts]]) -> dict[str, list[str]]:
    """Module path -> helper modules its tests call imported names from (indexed before any rule runs, so
    no answer depends on which test happened to be analysed first)."""
    return {
        path: list(dict.fromkeys(module for facts in tests for module in facts.helper_imports()))
        for path, tests in by_module.items()
    }


def helper_loads(imports: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(importing module, helper module) pairs in load order, each once."""
    return list(dict.fromkeys((near, name) for near, names in imports.items() for name in names))


def load_helper(index: ProjectIndex, module_name: str, near: str, order: int) -> Path | None:
    """Parse and index the project module ``from module_name import ...`` names (best effort)."""
    path = import_module_path(index.root, module_name, near)
    if path is None:
        return None
    if path.relative_to(index.root).as_posix() in index.scanned_paths:
        return None  # a scanned module (a test module with a base class): its defs are indexed already
    try:
        if path.stat().st_size >= HELPER_BYTES:
            return None
        index.add_tree(ast.parse(path.read_text(encoding="utf-8")), order)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    index.loaded_paths.append(path.relative_to(index.root).as_posix())
    return path


def run_rules(
    config: AuditConfig, by_module: dict[str, list[TestFacts]], index: ProjectIndex
) -> dict[str, ModuleResult]:
    """Every enabled static rule on every prepared test, module by module."""
    rules = [item for item in STATIC_RULES if is_enabled(item.info, config)]
    on_skipped = [item for item in rules if item.on_skipped]
    results = {}
    for path, tests in by_module.items():
        index.consulted = set()
        raw: list[Finding] = []
        for facts in tests:
            raw.extend(_test_findings(config, facts, on_skipped if unconditionally_skipped(facts) else rules, rules))
        results[path] = ModuleResult(raw=tuple(raw), consulted=frozenset(index.consulted))
    return results


def _test_findings(
    config: AuditConfig, facts: TestFacts, chosen: list[StaticRule], rules: list[StaticRule]
) -> list[Finding]:
    """One test's findings: ``chosen`` rules run, ordered and superseded as ``rules`` (all enabled) say."""
    test = facts.test
    fired: dict[str, list[Finding]] = {}
    for item in chosen:
        try:
            hits = list(item.check(facts))
        except (RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            # One rule tripping over unusual code must not cost the rest of the scan.
            fired.setdefault("AUD908", []).append(
                finding(
                    "AUD908",
                    f"{item.info.id} failed: {type(exc).__name__}: {exc}",
                    path=test.case.path,
                    line=test.case.line,
                    test_id=test.case.id,
                    config=config,
                )
            )
            continue
        for where, message in hits:
            line = where if isinstance(where, int) else getattr(where, "lineno", test.case.line)
            fired.setdefault(item.info.id, []).append(
                finding(
                    item.info.id,
                    message,
                    path=test.case.path,
                    line=line,
                    test_id=test.case.id,
                    evidence=_evidence(facts, line),
                    config=config,
                )
            )
    if not fired:
        return []  # most tests: nothing to order or supersede
    raw: list[Finding] = []
    for item in rules:
        if item.info.id in fired and not any(other in fired for other in item.superseded_by):
            raw.extend(fired[item.info.id])
    raw.extend(fired.get("AUD908", ()))
    return raw


def finish(
    config: AuditConfig,
    raw: Iterable[Finding],
    suppressions: Sequence[Suppression],
    used_before: Iterable[Suppression] = (),
) -> tuple[Finding, ...]:
    """Rule findings minus suppressed ones, plus suppression problems, sorted by place."""
    kept, used = apply(raw, suppressions)
    used |= set(used_before)
    problems = _suppression_problems(config, suppressions, used)
    # Inventory findings are reported by collect; only rule findings and suppression problems are new here.
    return tuple(sorted([*kept, *problems], key=lambda f: (f.path, f.line, f.rule)))


def rule_enabled(rule_id: str, config: AuditConfig) -> bool:
    """Whether ``[tool.auditor] select``/``ignore`` leave rule ``rule_id`` on."""
    return is_enabled(get_rule(rule_id), config)


def _evidence(facts: TestFacts, line: int) -> tuple[str, ...]:
    lines = facts.test.module.lines
    return (lines[line - 1].strip(),) if 0 < line <= len(lines) else ()


def _suppression_problems(
    config: AuditConfig, suppressions: Sequence[Suppression], used: set[Suppression]
) -> list[Finding]:
    problems = []
    for item in suppressions:
        unknown = [rule for rule in item.rules if not is_known(rule)]
        if not item.reason or unknown or not item.rules:
            why = f"unknown rule(s) {', '.join(unknown)}" if unknown else "a reason is required after the brackets"
            problems.append(
                finding(
                    "AUD906",
                    f"invalid suppression: {why}",
                    path=item.path,
                    line=item.line,
                    test_id=item.test_id,
                    config=config,
                )
            )
        elif item not in used and not awaits_run(item):  # a run, not the scan, says whether that one is used
            problems.append(
                finding(
                    "AUD905",
                    f"suppression of {', '.join(item.rules)} silences nothing",
                    path=item.path,
                    line=item.line,
                    test_id=item.test_id,
                    config=config,
                )
            )
    return [p for p in problems if rule_enabled(p.rule, config)]


__all__ = ["analyse_static", "rule_enabled"]
