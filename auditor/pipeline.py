"""The one module that knows the order: collect -> run -> observe -> analyse -> probe -> score (then render, gate)."""

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
          only: Sequence[str] = (), progress: bool = True, write: bool = True, output: str | Path | None = None,
          probe: bool = False) -> Audit:
    """Inventory the project, run its suites (or import ``results`` files), count honestly, probe, score.

    ``probe`` re-runs the tests that made HTTP calls under every mode of ``probe_modes`` and
    ``[tool.auditor.probes]`` (an empty ``probe_modes`` and no probes switch it off); only suites this
    audit ran are probed. Writes ``<report_dir>/audit.json`` (or ``output``) and appends to the history
    unless ``write`` is off.
    """
    from auditor.collect import analyse, inventory
    from auditor.run import funnel, observe, runner
    from auditor.serialize import dumps
    from auditor.status import history, score

    inventory = inventory.collect(config, paths)
    findings = inventory.findings + analyse.analyse_static(config, inventory)
    started = _dt.datetime.now(_dt.timezone.utc)
    if results:
        from auditor.run.imported import load_results

        suites = load_results(results, inventory.cases)
    else:
        suites = runner.run_suites(config, inventory, progress=progress, only=only) if run else ()
    suites = observe.reconcile(inventory.cases, suites)
    from auditor.collect.rules.runtime import runtime_findings

    findings += runtime_findings(inventory.cases, suites, config)
    result = Audit(
        root=str(config.root),
        created=started.isoformat(timespec="seconds"),
        version=__version__,
        project=config.project or config.root.name,
        cases=inventory.cases,
        findings=tuple(findings),
        suites=suites,
        tallies=funnel.tally(inventory.cases, suites, config),
        environment={"python": sys.version.split()[0], "platform": platform.platform(), "command": " ".join(sys.argv),
                     "source": "results" if results else ("run" if run else "none")},
    )
    if probe and run and not results and (config.probe_modes or config.probes):
        from auditor.probe import sessions as prober

        result = prober.probe(config, result, report=_stderr_line if progress else None)
    result = score.score_audit(result, config)
    if write:
        report_dir = Path(config.root) / config.report_dir
        report_dir.mkdir(parents=True, exist_ok=True)
        target = Path(output) if output else report_dir / AUDIT_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(result), encoding="utf-8")
        history.append(result, report_dir)
    return result


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def probe_audit(config: AuditConfig, *, audit_file: str | Path | None = None, modes: Sequence[str] = (),
                all_tests: bool = False, only: Sequence[str] = (), workers: int | None = None,
                progress: bool = True) -> Audit:
    """Probe the suites of the last audit (``<report_dir>/audit.json`` or ``audit_file``), rescore, write it back."""
    from auditor.probe import sessions as prober
    from auditor.serialize import dumps, read_audit
    from auditor.status import score

    path = Path(audit_file) if audit_file else Path(config.root) / config.report_dir / AUDIT_FILE
    last = read_audit(path)
    probed = prober.probe(config, last, modes=modes, all_tests=all_tests, only=only, workers=workers,
                          report=_stderr_line if progress else None)
    result = score.score_audit(probed, config)
    path.write_text(dumps(result), encoding="utf-8")
    return result
