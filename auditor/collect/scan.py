"""``auditor scan``: the static half of an audit, from a full pass or from the per-file cache."""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from auditor import __version__
from auditor.collect.analyse import analyse_static, rule_enabled
from auditor.collect.incremental import scan_cached
from auditor.collect.inventory import Inventory, collect
from auditor.config import AuditConfig
from auditor.model import Audit, Finding


def scan(
    config: AuditConfig, paths: tuple[str, ...] | list[str] = (), *, cache: bool = False
) -> tuple[Inventory, tuple[Finding, ...]]:
    """Collect and analyse: the inventory and every finding (inventory problems + rules), enabled ones only.

    With ``cache``, files unchanged since the last scan are answered from ``.auditor_cache`` (see
    :mod:`auditor.collect.incremental`); the inventory then has cases and settings but no parsed modules.
    """
    if cache:
        return scan_cached(config, paths)
    inventory = collect(config, paths)
    findings = [f for f in inventory.findings if rule_enabled(f.rule, config)]
    findings.extend(analyse_static(config, inventory))
    return inventory, tuple(sorted(findings, key=lambda f: (f.path, f.line, f.rule)))


def scan_audit(config: AuditConfig, inventory: Inventory, findings: Sequence[Finding], *, seconds: float) -> Audit:
    """An :class:`Audit` holding only the static part (cases and findings), for ``--format json``."""
    return Audit(
        root=str(config.root),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        version=__version__,
        project=config.project or config.root.name,
        cases=inventory.cases,
        findings=tuple(findings),
        environment={
            "command": "auditor scan",
            "python": platform.python_version(),
            "platform": sys.platform,
            "scan_seconds": f"{seconds:.3f}",
            "pytest_settings": inventory.settings.source or "pytest defaults",
        },
    )
