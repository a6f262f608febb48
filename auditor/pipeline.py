"""The one module that knows the order: collect -> run -> observe -> analyse -> probe -> score (then render, gate)."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor import __version__
from auditor.config import AuditConfig
from auditor.exceptions import CollectError
from auditor.model import Audit, SuiteResult, TestCase
from auditor.run import processes

if TYPE_CHECKING:
    from auditor.collect.suppress import Suppression

AUDIT_FILE = "audit.json"


@processes.interruptible()  # SIGTERM/SIGINT stop every process started, and a true partial audit is still written
def audit(config: AuditConfig, *, paths: Sequence[str] = (), run: bool = True, results: Sequence[str | Path] = (),
          only: Sequence[str] = (), progress: bool = True, write: bool = True, output: str | Path | None = None,
          probe: bool = False, history: bool = True) -> Audit:
    """Inventory the project, run its suites (or import ``results`` files), count honestly, probe, score.

    ``probe`` re-runs the tests that made HTTP calls under every mode of ``probe_modes`` and
    ``[tool.auditor.probes]`` (an empty ``probe_modes`` and no probes switch it off); only suites this
    audit ran are probed. Writes ``<report_dir>/audit.json`` (or only ``output``) unless ``write`` is off,
    and then appends to ``<report_dir>/history.jsonl`` if ``history``.

    Nothing to audit is an error, never an empty audit: no test in the inventory (before pytest starts),
    or, when the suites ran, no test that pytest collected (:class:`~auditor.exceptions.CollectError`).
    """
    from auditor.collect import analyse, inventory
    from auditor.collect.checks import require_tests
    from auditor.files import write_atomic
    from auditor.run import funnel, observe, runner
    from auditor.serialize import dumps
    from auditor.status import history as history_file
    from auditor.status import score

    inventory = inventory.collect(config, paths)
    if not results:
        require_tests(config, inventory, paths)
    findings = inventory.findings + analyse.analyse_static(config, inventory)
    started = _dt.datetime.now(_dt.timezone.utc)
    if results:
        from auditor.run.imported import load_results

        suites = load_results(results, inventory.cases)
    else:
        suites = runner.run_suites(config, inventory, progress=progress, only=only) if run else ()
        if run:
            _require_collected(inventory.cases, suites)
    suites = observe.reconcile(inventory.cases, suites)
    from auditor.collect.packages import own_clients
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
        interrupted=_stopped("run"),
        own_clients=tuple(sorted(own_clients(config.root, config.own_packages))),
    )
    if probe and run and not results and not result.interrupted and (config.probe_modes or config.probes):
        from auditor.probe import sessions as prober

        result = prober.probe(config, result, report=_stderr_line if progress else None)
        result = _mark_stopped(result, "probe")
    result = _settle(config, result, inventory.suppressions)
    result = score.score_audit(result, config)
    if write:
        report_dir = Path(config.root) / config.report_dir
        write_atomic(Path(output) if output else report_dir / AUDIT_FILE, dumps(result))
        if history:
            history_file.append(result, report_dir)
    return result


#: Suite statuses that end a run before pytest may have finished collecting: not "collected nothing".
_STOPPED = ("interrupted", "crashed", "timed_out")


def _require_collected(cases: Sequence[TestCase], suites: Sequence[SuiteResult]) -> None:
    """Refuse a run in which pytest selected no test at all: an audit of nothing must never pass."""
    ran = [suite for suite in suites if suite.status != "not_run"]
    if not ran or any(suite.status in _STOPPED or suite.collected > suite.deselected
                      or any(o.status != "not_run" for o in suite.outcomes) for suite in ran):
        return
    unimportable = {o.node_id.split("::")[0] for s in ran for o in s.outcomes if o.reason == "collection_error"}
    how = "; ".join(f"suite {s.name}: pytest exit {s.exit_code}" + (f" ({s.message})" if s.message else "") for s in ran)
    extra = f"; {len(unimportable)} file(s) could not be imported, first {min(unimportable)}" if unimportable else ""
    raise CollectError(f"pytest collected no tests (the static inventory found {len(cases)}): {how}{extra}; nothing was run")


def _settle(config: AuditConfig, result: Audit, suppressions: Sequence[Suppression]) -> Audit:
    """``result`` with its runtime and probe findings met by the project's suppressions."""
    import dataclasses

    from auditor.collect.settle import settle

    findings, suppressed = settle(config, result.findings, result.suppressed, suppressions, result.cases, result.suites)
    return dataclasses.replace(result, findings=findings, suppressed=suppressed)


def _stderr_line(line: str) -> None:
    from auditor.run.progress import write_line

    write_line(line, sys.stderr)  # one write per line: probe sessions report from several threads


def _stopped(stage: str) -> str | None:
    """``"SIGTERM during run"`` once a stop was requested, else ``None``."""
    signal_name = processes.stop_requested()
    return f"{signal_name} during {stage}" if signal_name else None


def _mark_stopped(result: Audit, stage: str) -> Audit:
    import dataclasses

    return result if result.interrupted or not _stopped(stage) else dataclasses.replace(result, interrupted=_stopped(stage))


def interrupted_exit_code(result: Audit) -> int:
    """The exit code of a command whose audit was stopped by a signal (128 + its number: 143 for SIGTERM), else 0."""
    if not result.interrupted:
        return 0
    import signal

    try:
        return 128 + signal.Signals[result.interrupted.split()[0]].value
    except KeyError:
        return 1


@processes.interruptible()
def probe_audit(config: AuditConfig, *, audit_file: str | Path | None = None, modes: Sequence[str] = (),
                all_tests: bool = False, only: Sequence[str] = (), workers: int | None = None,
                progress: bool = True) -> Audit:
    """Probe the suites of the last audit (``<report_dir>/audit.json`` or ``audit_file``), settle its suppressions
    again (the project's current ones), rescore, write it back."""
    from auditor.collect.inventory import collect
    from auditor.probe import sessions as prober
    from auditor.serialize import dumps, read_audit
    from auditor.status import score

    path = Path(audit_file) if audit_file else Path(config.root) / config.report_dir / AUDIT_FILE
    last = read_audit(path)
    probed = prober.probe(config, last, modes=modes, all_tests=all_tests, only=only, workers=workers,
                          report=_stderr_line if progress else None)
    settled = _settle(config, _mark_stopped(probed, "probe"), collect(config).suppressions)
    result = score.score_audit(settled, config)
    from auditor.files import write_atomic

    write_atomic(path, dumps(result))
    return result
