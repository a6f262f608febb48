"""Command-line interface: parse arguments, call the pipeline stages, print, return an exit code.

No analysis happens here. Exit codes (shared by every command):
0 ok, 1 findings or gate failed, 2 usage or configuration error, 3 internal error.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from click import exceptions as click_exceptions
from typer.core import TyperGroup

from auditor.exceptions import AuditorError

OK, FAILED, USAGE, INTERNAL = 0, 1, 2, 3

#: `auditor --help` lists commands in pipeline order (whole job first), not in definition order.
COMMAND_ORDER = ("audit", "scan", "run", "probe", "status", "report", "gate", "trend", "merge", "rules", "version")


class _PipelineOrder(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER))


app = typer.Typer(
    name="auditor",
    cls=_PipelineOrder,
    help="Are our tests real, did they run, and how done are we actually?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from auditor import __version__

        typer.echo(f"auditor {__version__}")
        raise typer.Exit(OK)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Audit a pytest project: inventory, run, observe, probe, score, report, gate."""


def load_config(root: str, *, paths: bool = True, baseline: bool = False) -> Any:
    """``[tool.auditor]`` of the project at ``root``, refused at start-up (exit 2) when it names an unknown rule,
    (with ``paths``) a path that does not exist, or (with ``baseline``) a missing baseline file."""
    from auditor.collect.checks import check_config
    from auditor.config import read_config

    config = read_config(root)
    check_config(config, paths=paths, baseline=baseline)
    return config


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr, never a traceback."""
    try:
        result = app(args=argv, standalone_mode=False)
    except AuditorError as exc:
        print(f"auditor: error: {exc} [{exc.slug}]", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return FAILED
    except click_exceptions.NoArgsIsHelpError:
        # typer has already printed the help before raising; printing it again doubled it.
        return OK
    except typer.Exit as exc:
        return int(exc.exit_code)
    except click_exceptions.ClickException as exc:
        exc.show()
        return USAGE
    except typer.Abort:
        print("auditor: aborted", file=sys.stderr)
        return FAILED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 3
        print(f"auditor: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return INTERNAL
    return int(result or 0)


@app.command("version")
def version_command() -> int:
    """Print the auditor's version."""
    from auditor import __version__

    typer.echo(f"auditor {__version__}")
    return OK


def _audit_path(root: str, audit_file: str | None) -> tuple[object, object]:
    """(config, audit path): ``--audit`` or ``<report_dir>/audit.json`` under the project root."""
    from pathlib import Path

    config = load_config(root, paths=False)
    path = Path(audit_file) if audit_file else config.root / config.report_dir / "audit.json"
    return config, path


@app.command("report")
def report_command(
    audit_file: str = typer.Option(None, "--audit", help="Audit JSON to render (default: <report_dir>/audit.json)."),
    formats: list[str] = typer.Option(["all"], "--format", "-f", help="terminal, markdown, html, json, sarif, github or all (repeatable)."),
    output: str = typer.Option(None, "--output", "-o", help="Folder for report files (default: tool.auditor report_dir, i.e. reports/)."),
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
) -> int:
    """Render reports from an audit JSON: terminal, Markdown, HTML, JSON, SARIF, GitHub annotations."""
    import os
    from pathlib import Path

    from auditor.report.registry import produce_reports
    from auditor.report.terminal import make_console
    from auditor.serialize import read_audit
    from auditor.status.history import read_history

    config, path = _audit_path(root, audit_file)
    audit = read_audit(path)
    out = Path(output) if output else config.root / config.report_dir
    written = produce_reports(
        audit,
        formats,
        out,
        console=make_console(),
        history=read_history(config.root / config.report_dir),
        github=os.environ.get("GITHUB_ACTIONS") == "true",
    )
    for item in written:
        typer.echo(f"wrote {item}")
    return OK


@app.command("gate")
def gate_command(
    audit_file: str = typer.Option(None, "--audit", help="Audit JSON to judge (default: <report_dir>/audit.json)."),
    baseline: str = typer.Option(None, "--baseline", help="Baseline file of known problems (default: tool.auditor.gate baseline)."),
    write_baseline: str = typer.Option(None, "--write-baseline", help="Write today's violations to FILE and pass."),
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
) -> int:
    """Fail (exit 1) when the audit breaks the gate (pyproject tool.auditor.gate); one line per violation."""
    from auditor.serialize import read_audit
    from auditor.status import gate, history

    config, path = _audit_path(root, audit_file)
    audit = read_audit(path)
    if write_baseline:
        violations = gate.evaluate(audit, config.gate, None)
        written = history.write_baseline(write_baseline, violations, audit)
        typer.echo(f"auditor gate: baseline of {len(violations)} violation(s) written to {written}")
        return OK
    baseline_file = baseline or config.gate.baseline
    known = history.read_baseline(config.root / baseline_file if baseline_file and not baseline else baseline_file) if baseline_file else None
    violations = gate.evaluate(audit, config.gate, known)
    for violation in violations:
        typer.echo(str(violation))
    if violations:
        typer.echo(f"auditor gate: FAILED ({len(violations)} violation(s))", err=True)
        return FAILED
    typer.echo("auditor gate: passed")
    return OK


@app.command("trend")
def trend_command(
    history_file: str = typer.Option(None, "--history", help="History file (default: <report_dir>/history.jsonl)."),
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
) -> int:
    """Show created / run / passed / completion over past audits."""
    from pathlib import Path

    from auditor.report.terminal import make_console, print_trend
    from auditor.status.history import read_history

    config = load_config(root, paths=False)
    entries = read_history(Path(history_file) if history_file else config.root / config.report_dir)
    print_trend(entries, make_console())
    return OK


@app.command("merge")
def merge_command(
    audits: list[str] = typer.Argument(..., help="Audit JSON files from CI shards."),
    output: str = typer.Option(..., "--output", "-o", help="Where to write the merged audit JSON."),
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
) -> int:
    """Combine audit JSONs from several CI shards into one (each test counted once)."""
    from pathlib import Path

    from auditor.files import write_atomic
    from auditor.serialize import dumps, read_audit
    from auditor.status.history import merge

    merged = merge([read_audit(Path(a)) for a in audits], load_config(root, paths=False))
    written = write_atomic(Path(output), dumps(merged))
    typer.echo(f"auditor merge: {len(audits)} audit(s) -> {written}")
    return OK


@app.command("audit")
def audit_command(
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
    gate_check: bool = typer.Option(True, "--gate/--no-gate", help="Apply the gate (tool.auditor.gate) at the end: exit 1 on violations."),
    probe: bool = typer.Option(True, "--probe/--no-probe", help="Sabotage-probe the tests that made HTTP calls (tool.auditor probe_modes; [] also switches it off)."),
) -> int:
    """The whole audit: collect, run, observe, analyse, probe, score, write every report, gate; ends with the HTML path."""
    import os

    from auditor import pipeline
    from auditor.probe.plan import chosen_modes
    from auditor.report.base import template_loader
    from auditor.report.registry import produce_reports
    from auditor.report.terminal import make_console
    from auditor.status import gate, history

    # Everything that would fail at the end fails now, before a test runs: configuration, probe modes, templates.
    config = load_config(root, baseline=gate_check)
    if probe:
        chosen_modes(config)
    template_loader()
    report_dir = config.root / config.report_dir
    result = pipeline.audit(config, probe=probe)
    console = make_console()
    written = produce_reports(result, ["all"], report_dir, console=console, history=history.read_history(report_dir), github=os.environ.get("GITHUB_ACTIONS") == "true")
    code = OK
    if gate_check:
        known = history.read_baseline(config.root / config.gate.baseline) if config.gate.baseline else None
        violations = gate.evaluate(result, config.gate, known)
        for violation in violations:
            typer.echo(str(violation))
        typer.echo(f"auditor gate: {'FAILED (' + str(len(violations)) + ' violation(s))' if violations else 'passed'}")
        code = FAILED if violations else OK
    html = next((p for p in written if p.suffix == ".html"), None)
    typer.echo(f"HTML report: {html}")
    return _interrupted(result) or code


#: ``--fail-on`` levels of ``auditor scan``: a finding at or above the level makes the exit code 1.
_FAIL_LEVELS = {"high": ("high",), "medium": ("high", "medium"), "low": ("high", "medium", "low"), "none": ()}


@app.command("scan")
def scan_command(
    paths: list[str] = typer.Argument(None, help="Files or folders to scan (default: [tool.auditor] paths, pytest testpaths, else the root)."),
    output_format: str = typer.Option("table", "--format", help="table (rich summary) or json (an Audit with cases and findings)."),
    output: str = typer.Option(None, "--output", "-o", help="Write the JSON to FILE instead of stdout (with --format json)."),
    fail_on: str = typer.Option("high", "--fail-on", help="Exit 1 when a finding is at or above: high, medium, low or none."),
    root: str = typer.Option(None, "--root", help="Project root (default: the nearest folder above the first path that holds pyproject.toml, else that path)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore and do not write .auditor_cache."),
) -> int:
    """Inventory the tests without running them and report weak tests (exit 1 on findings at/above --fail-on)."""
    import time
    from pathlib import Path

    from auditor.collect.checks import require_tests
    from auditor.collect.inventory import paused_gc
    from auditor.collect.scan import scan, scan_audit
    from auditor.collect.pytest_settings import project_root
    from auditor.exceptions import ConfigError
    from auditor.report.scan import print_scan
    from auditor.serialize import dumps

    if output_format not in ("table", "json"):
        raise ConfigError(f"--format: {output_format!r} is not one of table, json")
    if fail_on not in _FAIL_LEVELS:
        raise ConfigError(f"--fail-on: {fail_on!r} is not one of {', '.join(_FAIL_LEVELS)}")
    # Paths are typed relative to where the user stands; the project they belong to is the root.
    targets = [str(Path(p).resolve()) for p in paths or ()]
    for target in targets:
        if not Path(target).exists():
            raise ConfigError(f"{target}: no such file or folder")
    config = load_config(root if root is not None else str(project_root(targets[0] if targets else ".")))
    started = time.perf_counter()
    with paused_gc():  # thousands of parsed modules stay alive until exit; GC passes over them cost seconds
        inventory, findings = scan(config, targets, cache=not no_cache)
        require_tests(config, inventory, targets)
        seconds = time.perf_counter() - started
        text = dumps(scan_audit(config, inventory, findings, seconds=seconds)) if output_format == "json" else ""
    if output_format == "json":
        if output:
            Path(output).write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}", err=True)
        else:
            typer.echo(text, nl=False)
    else:
        from auditor.report.terminal import (
            make_console,  # rich costs ~40 ms to import: only for the table
        )

        print_scan(make_console(), inventory, findings, seconds=seconds)
    return FAILED if any(f.severity in _FAIL_LEVELS[fail_on] for f in findings) else OK


@app.command("rules")
def rules_command(
    output_format: str = typer.Option("table", "--format", help="table, json or markdown."),
) -> int:
    """List every rule (static, runtime, probe, scan) with its id, severity and rationale."""
    from auditor.collect.rules.catalogue import all_rules
    from auditor.exceptions import ConfigError
    from auditor.report.scan import print_rules, rules_json, rules_markdown
    from auditor.report.terminal import make_console

    rules = all_rules()
    if output_format == "markdown":
        typer.echo(rules_markdown(rules), nl=False)
    elif output_format == "json":
        typer.echo(rules_json(rules), nl=False)
    elif output_format == "table":
        print_rules(make_console(), rules)
    else:
        raise ConfigError(f"--format: {output_format!r} is not one of table, json, markdown")
    return OK


@app.command("run")
def run_command(
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
    suites: list[str] = typer.Option(None, "--suite", help="Run only this suite (repeatable; default: every suite)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live progress display."),
    output: str = typer.Option(None, "--output", "-o", help="Write the audit JSON here (default: <report_dir>/audit.json)."),
) -> int:
    """Run every suite under the auditor's plugin and print the honest matrix (exit 0 once the run completed)."""
    from auditor import pipeline
    from auditor.report.terminal import make_console, print_audit

    config = load_config(root)
    result = pipeline.audit(config, only=tuple(suites or ()), progress=not no_progress, output=output)
    print_audit(result, make_console())
    # How the tests fared is data for `auditor gate`; this command succeeded once the suites ran (unless stopped).
    return _interrupted(result) or OK


@app.command("probe")
def probe_command(
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
    audit_file: str = typer.Option(None, "--audit", help="Audit JSON of the last run, updated in place (default: <report_dir>/audit.json)."),
    modes: list[str] = typer.Option(None, "--mode", help="Run only this mode (repeatable; default: probe_modes and [tool.auditor.probes])."),
    suites: list[str] = typer.Option(None, "--suite", help="Probe only this suite (repeatable)."),
    all_tests: bool = typer.Option(False, "--all", help="Probe every test that passed, not only those that made HTTP calls."),
    workers: int = typer.Option(None, "--workers", help="Probe sessions run at once (default: CPU count); benchmarks and stress always run alone."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress lines."),
) -> int:
    """Re-run the tests of the last run under sabotaged HTTP answers; record which tests noticed (killed) or not."""
    from auditor import pipeline
    from auditor.report.terminal import make_console, print_audit, print_probes

    config = load_config(root)
    result = pipeline.probe_audit(config, audit_file=audit_file, modes=tuple(modes or ()), all_tests=all_tests,
                                  only=tuple(suites or ()), workers=workers, progress=not no_progress)
    console = make_console()
    print_probes(result, console)
    print_audit(result, console)
    # Survivors are findings for `auditor gate`; this command succeeded once the probes ran (unless stopped).
    return _interrupted(result) or OK


def _interrupted(result: Any) -> int:
    """128 + the signal's number (130 SIGINT, 143 SIGTERM) when the audit was stopped, said on stderr; else 0."""
    from auditor.pipeline import interrupted_exit_code

    code = interrupted_exit_code(result)
    if code:
        print(f"auditor: interrupted ({result.interrupted}): a partial audit was written", file=sys.stderr)
    return code


@app.command("status")
def status_command(
    results: list[str] = typer.Option(..., "--results", help="pytest-json-report JSON or JUnit XML file (repeatable)."),
    root: str = typer.Option(".", "--root", help="Project root (where pyproject.toml is)."),
    output: str = typer.Option(None, "--output", "-o", help="Write the audit JSON here (default: <report_dir>/audit.json)."),
    history: bool = typer.Option(False, "--history", help="Also append this audit to <report_dir>/history.jsonl (off: imported results stay out of the trend)."),
) -> int:
    """Honest status from results files of a run made elsewhere (CI): nothing is run; writes only the audit JSON."""
    from auditor import pipeline
    from auditor.report.terminal import make_console, print_audit

    config = load_config(root)
    result = pipeline.audit(config, results=tuple(results), output=output, history=history)
    print_audit(result, make_console())
    return OK
