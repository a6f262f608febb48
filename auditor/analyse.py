"""Static analysis: run every enabled AUD1xx rule over the inventory, then apply suppressions.

Rules see one test at a time through :class:`~auditor.rules.facts.TestFacts`. A test that pytest never
collects gets no rule findings (its AUD124/AUD126 finding says it all); an unconditionally skipped
test only gets the rules about its marks.
"""

from __future__ import annotations

from auditor.collect import Inventory, paused_gc
from auditor.config import AuditConfig
from auditor.model import Finding
from auditor.rules import finding, is_enabled, is_known
from auditor.rules.facts import TestFacts
from auditor.rules.index import ProjectIndex
from auditor.rules.static import STATIC_RULES
from auditor.rules.structure import unconditionally_skipped
from auditor.suppress import apply


def analyse_static(
    config: AuditConfig, inventory: Inventory, *, loaded: list[str] | None = None
) -> tuple[Finding, ...]:
    """Findings of the static rules on every collectable test, suppressions applied, sorted by place.

    ``loaded``, when given, receives the project files the rules read besides the inventory's modules
    (helper modules), so a cache can depend on them.
    """
    with paused_gc():
        index = ProjectIndex(root=config.root, modules=inventory.modules)
        findings = _analyse(config, inventory, index)
        if loaded is not None:
            loaded.extend(index.loaded_paths)
        return findings


def _analyse(config: AuditConfig, inventory: Inventory, index: ProjectIndex) -> tuple[Finding, ...]:
    rules = [item for item in STATIC_RULES if is_enabled(item.info, config)]
    on_skipped = [item for item in rules if item.on_skipped]
    raw: list[Finding] = []
    for test in inventory.nodes:
        if not test.primary or not test.case.collectable:
            continue
        facts = TestFacts(test=test, config=config, settings=inventory.settings, index=index)
        fired: dict[str, list[Finding]] = {}
        for item in on_skipped if unconditionally_skipped(facts) else rules:
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
            continue  # most tests: nothing to order or supersede
        for item in rules:
            if item.info.id in fired and not any(other in fired for other in item.superseded_by):
                raw.extend(fired[item.info.id])
        raw.extend(fired.get("AUD908", ()))
    kept, used = apply(raw, inventory.suppressions)
    used |= inventory.used_suppressions
    problems = _suppression_problems(config, inventory, used)
    # Inventory findings are reported by collect; only rule findings and suppression problems are new here.
    return tuple(sorted([*kept, *problems], key=lambda f: (f.path, f.line, f.rule)))


def _enabled_id(rule_id: str, config: AuditConfig) -> bool:
    from auditor.rules import get_rule

    return is_enabled(get_rule(rule_id), config)


def _evidence(facts: TestFacts, line: int) -> tuple[str, ...]:
    lines = facts.test.module.lines
    return (lines[line - 1].strip(),) if 0 < line <= len(lines) else ()


def _suppression_problems(config: AuditConfig, inventory: Inventory, used: set) -> list[Finding]:  # type: ignore[type-arg]
    problems = []
    for item in inventory.suppressions:
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
        elif item not in used:
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
    return [p for p in problems if _enabled_id(p.rule, config)]


def scan(
    config: AuditConfig, paths: tuple[str, ...] | list[str] = (), *, cache: bool = False
) -> tuple[Inventory, tuple[Finding, ...]]:
    """Collect and analyse: the inventory and every finding (inventory problems + rules), enabled ones only.

    With ``cache``, an unchanged project is answered from ``.auditor_cache`` (see :mod:`auditor.scan_cache`);
    the inventory then has cases and settings but no parsed modules.
    """
    from auditor import scan_cache
    from auditor.collect import _targets, collect
    from auditor.pytest_settings import read_pytest_settings

    settings = read_pytest_settings(config.root)
    targets = _targets(config, settings, paths) if cache else []
    if cache:
        hit = scan_cache.load(config, targets)
        if hit is not None:
            cases, findings, _source = hit
            return Inventory(cases=cases, findings=(), settings=settings), findings
    inventory = collect(config, paths)
    findings = [f for f in inventory.findings if _enabled_id(f.rule, config)]
    loaded: list[str] = []
    findings.extend(analyse_static(config, inventory, loaded=loaded))
    result = tuple(sorted(findings, key=lambda f: (f.path, f.line, f.rule)))
    if cache:
        scan_cache.save(config, targets, inventory.cases, result, extra=loaded, settings_source=settings.source or "")
    return inventory, result


__all__ = ["analyse_static", "scan"]
