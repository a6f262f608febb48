"""The rule catalogue: one :class:`RuleInfo` per rule, whatever stage reports it.

Static rules (AUD1xx) live in this package's modules; runtime (AUD2xx, ``auditor.rules.runtime``)
and probe (AUD3xx, ``auditor.rules.probe``) rules register themselves at import; AUD9xx are
problems of the scan itself. :func:`finding` is the only way to build a :class:`Finding`, so a
rule's slug and severity are stated once, here, and ``[tool.auditor.severity]`` applies everywhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.model import SEVERITIES, Finding

if TYPE_CHECKING:
    from auditor.config import AuditConfig

ORIGINS = ("static", "runtime", "probe", "scan")

#: Modules that register rules when imported; missing ones (not written yet) are skipped.
RULE_MODULES = (
    "auditor.rules.collection",
    "auditor.rules.static",
    "auditor.rules.runtime",
    "auditor.rules.probe",
)


@dataclass(frozen=True)
class RuleInfo:
    """Everything a reader needs to know about one rule; ``bad``/``good`` are tiny code examples."""

    id: str
    slug: str
    severity: str
    origin: str  # static | runtime | probe | scan
    rationale: str  # one line
    bad: str
    good: str


_REGISTRY: dict[str, RuleInfo] = {}
_SLUGS: dict[str, str] = {}


def register(info: RuleInfo) -> RuleInfo:
    """Add ``info`` to the catalogue; registering the same rule twice is harmless, a clash is not."""
    if info.severity not in SEVERITIES:
        raise ValueError(f"{info.id}: severity {info.severity!r} is not one of {SEVERITIES}")
    if info.origin not in ORIGINS:
        raise ValueError(f"{info.id}: origin {info.origin!r} is not one of {ORIGINS}")
    known = _REGISTRY.get(info.id)
    if known is not None and known != info:
        raise ValueError(f"rule id {info.id} registered twice with different definitions")
    owner = _SLUGS.get(info.slug)
    if owner is not None and owner != info.id:
        raise ValueError(f"rule slug {info.slug!r} used by both {owner} and {info.id}")
    _REGISTRY[info.id] = info
    _SLUGS[info.slug] = info.id
    return info


def _load_modules() -> None:
    for name in RULE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only tolerate the rule module itself being absent, never a broken import inside it.
            if exc.name != name:
                raise


def all_rules() -> tuple[RuleInfo, ...]:
    """Every registered rule (static, runtime, probe and scan), sorted by id."""
    _load_modules()
    return tuple(sorted(_REGISTRY.values(), key=lambda info: info.id))


def get_rule(key: str) -> RuleInfo:
    """The rule with id or slug ``key`` (``KeyError`` when unknown)."""
    if key not in _REGISTRY and key not in _SLUGS:
        _load_modules()
    rule_id = key if key in _REGISTRY else _SLUGS.get(key)
    if rule_id is None:
        raise KeyError(key)
    return _REGISTRY[rule_id]


def is_known(key: str) -> bool:
    """True when ``key`` is the id or slug of a registered rule."""
    try:
        get_rule(key)
    except KeyError:
        return False
    return True


def severity_for(info: RuleInfo, config: AuditConfig | None) -> str:
    """The rule's severity after ``[tool.auditor.severity]`` (keyed by id or slug)."""
    if config is None:
        return info.severity
    return config.severity.get(info.id) or config.severity.get(info.slug) or info.severity


def is_enabled(info: RuleInfo, config: AuditConfig | None) -> bool:
    """Whether ``[tool.auditor] select``/``ignore`` leave the rule on (ids, slugs or id prefixes)."""
    if config is None:
        return True

    def matches(keys: Iterable[str]) -> bool:
        return any(key in (info.id, info.slug) or (key.isalnum() and info.id.startswith(key)) for key in keys)

    if config.select and not matches(config.select):
        return False
    return not matches(config.ignore)


def finding(
    rule_id: str,
    message: str,
    *,
    path: str,
    line: int,
    test_id: str | None,
    evidence: Iterable[str] = (),
    config: AuditConfig | None = None,
) -> Finding:
    """Build a :class:`Finding` for a registered rule, its severity overridden by ``config``."""
    info = get_rule(rule_id)
    return Finding(
        rule=info.id,
        slug=info.slug,
        severity=severity_for(info, config),
        message=message,
        path=path,
        line=line,
        test_id=test_id,
        origin=info.origin,
        evidence=tuple(evidence),
    )
