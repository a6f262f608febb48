"""The rule registry: one :class:`RuleInfo` per rule, whatever stage reports it.

Each family module registers its rules when imported (static AUD1xx in this package's modules, runtime
AUD2xx in ``runtime``, probe AUD3xx in ``probe``, scan problems AUD9xx in ``collection``);
:mod:`auditor.collect.rules.catalogue` imports every family, for whoever needs the whole list. :func:`finding` is the only way to build a :class:`Finding`, so a
rule's slug and severity are stated once, here, and ``[tool.auditor.severity]`` applies everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.collect.rules.measured import RULE_PRECISION
from auditor.model import SEVERITIES, Finding

if TYPE_CHECKING:
    from auditor.config import AuditConfig

ORIGINS = ("static", "runtime", "probe", "scan")

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


def lookup(key: str) -> RuleInfo:
    """The registered rule with id or slug ``key`` (``KeyError`` when no imported family defines it)."""
    rule_id = key if key in _REGISTRY else _SLUGS.get(key)
    if rule_id is None:
        raise KeyError(key)
    return _REGISTRY[rule_id]


def registered() -> tuple[RuleInfo, ...]:
    """The rules registered so far, sorted by id."""
    return tuple(sorted(_REGISTRY.values(), key=lambda info: info.id))


def measured(rule_id: str) -> tuple[int, int] | None:
    """(labelled weak, labelled tests reported) for a static rule on strangers' tests, ``None`` when it never
    reported one (:mod:`auditor.collect.rules.measured`): how far a reader can trust one of its findings."""
    return RULE_PRECISION.get(rule_id)


def measured_right(rule_id: str) -> str:
    """``"16/29"``: of the labelled tests from strangers' projects the rule reported, how many were weak (``""``
    when it never reported one): beside a finding, how far to trust it."""
    counts = measured(rule_id)
    return f"{counts[0]}/{counts[1]}" if counts else ""


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
    info = lookup(rule_id)
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
