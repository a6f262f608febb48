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


def audit(config: AuditConfig, *, paths: Sequence[str] = (), run: bool = True, results: Sequence[str | Path] = (),
          only: Sequence[str] = (), progress: bool = True, write: bool = True, output: str | Path | None = None) -> Audit:
    """Inventory the project, run its suites (or import ``results`` files), count honestly, score.

    Writes ``<report_dir>/audit.json`` (or ``output``) and appends to the history unless ``write`` is off.
    """
    from auditor import analyse, collect, history, observe, score
    from auditor import run as runner
    from auditor.serialize import dumps

    inventory = collect.collect(config, paths)
    findings = inventory.findings + analyse.analyse_static(config, inventory)
    started = _dt.datetime.now(_dt.timezone.utc)
    if results:
        from auditor.results import load_results

        suites = load_results(results, inventory.cases)
    else:
        suites = runner.run_suites(config, inventory, progress=progress, only=only) if run else ()
    suites = observe.reconcile(inventory.cases, suites)
    from auditor.rules.runtime import runtime_findings

    findings += runtime_findings(inventory.cases, suites, config)
    result = Audit(
        root=str(config.root),
        created=started.isoformat(timespec="seconds"),
        version=__version__,
        project=config.root.name,
        cases=inventory.cases,
        findings=tuple(findings),
        suites=suites,
        tallies=observe.tally(inventory.cases, suites, config),
        environment={"python": sys.version.split()[0], "platform": platform.platform(), "command": " ".join(sys.argv),
                     "source": "results" if results else ("run" if run else "none")},
    )
    result = score.score_audit(result, config)
    if write:
        report_dir = Path(config.root) / config.report_dir
        report_dir.mkdir(parents=True, exist_ok=True)
        target = Path(output) if output else report_dir / AUDIT_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(result), encoding="utf-8")
        history.append(result, report_dir)
    return result
