"""The one module that knows the order: collect -> run -> observe -> analyse -> score (then render, gate)."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from auditor import __version__
from auditor.config import AuditConfig
from auditor.model import Audit

AUDIT_FILE = "audit.json"


def audit(config: AuditConfig, *, paths: Sequence[str] = (), run: bool = True, only: Sequence[str] = (),
          progress: bool = True, write: bool = True) -> Audit:
    """Inventory the project, run its suites, count honestly, score; write ``audit.json`` and history."""
    from auditor import analyse, collect, history, observe, score
    from auditor import run as runner
    from auditor.serialize import dumps

    inventory = collect.collect(config, paths)
    findings = inventory.findings + analyse.analyse_static(config, inventory)
    suites = runner.run_suites(config, inventory, progress=progress, only=only) if run else ()
    suites = observe.reconcile(inventory.cases, suites)
    from auditor.rules.runtime import runtime_findings

    findings += runtime_findings(inventory.cases, suites, config)
    result = Audit(
        root=str(config.root),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        version=__version__,
        project=config.root.name,
        cases=inventory.cases,
        findings=tuple(findings),
        suites=suites,
        tallies=observe.tally(inventory.cases, suites, config),
        environment={"python": sys.version.split()[0], "platform": platform.platform(), "command": " ".join(sys.argv)},
    )
    result = score.score_audit(result, config)
    if write:
        report_dir = Path(config.root) / config.report_dir
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / AUDIT_FILE).write_text(dumps(result), encoding="utf-8")
        history.append(result, report_dir)
    return result
