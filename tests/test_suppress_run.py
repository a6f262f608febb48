"""Suppressions cover every origin: on a test's ``def`` line they silence its runtime and probe findings too.

tests/fixtures/checks_project/tests/test_suppressed.py, audited for real (run, probe, `auditor probe` again,
`auditor status` from a results file, `auditor scan`): what was silenced is kept apart, the gate's verdicts that
say the same are excused, and a suppression is called unused only where a stage could judge every rule it names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import pipeline
from auditor.cli import main
from auditor.config import GateConfig, read_config
from auditor.model import Audit
from auditor.status.evidence import collect_evidence
from auditor.status.gate import evaluate

PROJECT = Path(__file__).parent / "fixtures" / "checks_project"
FILE = "tests/test_suppressed.py"
RELAYS_500 = f"{FILE}::test_relays_upstream_errors[/status/500]"
HELPER = f"{FILE}::test_health_checked_by_helper"
BODY = f"{FILE}::test_body_arrives"


def _copy(target: Path) -> Path:
    return Path(shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__", "reports")))


def _line(text: str) -> int:
    """The line of ``FILE`` holding ``text`` (a suppression's place)."""
    lines = (PROJECT / FILE).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def _of_file(audit: Audit, *origins: str) -> set[tuple[str, str | None]]:
    return {(f.rule, f.test_id) for f in audit.findings if f.path == FILE and f.origin in origins}


def _unused(audit: Audit) -> set[int]:
    return {f.line for f in audit.findings if f.rule == "AUD905" and f.path == FILE}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Audit]:
    """One `auditor audit` of a copy of the project, probes included (the run is the slow part: once)."""
    root = _copy(tmp_path_factory.mktemp("suppress") / "project")
    return root, pipeline.audit(read_config(root), progress=False, probe=True, history=False)


def test_runtime_and_probe_findings_are_silenced_on_every_instance(audited) -> None:
    _, audit = audited
    silenced = {(f.rule, f.test_id) for f in audit.suppressed}
    # AUD201 on one parametrized instance, AUD202 where the checks live outside the test files, AUD301 by a probe.
    assert silenced == {("AUD201", RELAYS_500), ("AUD202", HELPER), ("AUD301", BODY)}
    assert _of_file(audit, "runtime", "probe") == {("AUD202", f"{FILE}::test_misplaced")}


def test_the_gate_verdicts_that_say_the_same_are_excused(audited) -> None:
    _, audit = audited
    evidence = {item.node_id: item for item in collect_evidence(audit)}
    assert evidence[RELAYS_500].statuses_seen == (500,) and evidence[RELAYS_500].passed_on_5xx == ()
    assert evidence[HELPER].vacuous is None and evidence[BODY].vacuous is None
    assert evidence[f"{FILE}::test_misplaced"].vacuous == "executed no assertions"  # silenced nothing: still judged
    violations = [v.key for v in evaluate(audit, GateConfig(fail_on_not_run=False))]
    assert [key for key in violations if FILE in key] == [f"vacuous:{FILE}::test_misplaced"]


def test_a_suppression_is_unused_only_where_its_rules_judged_the_test(audited) -> None:
    _, audit = audited
    # The route answers 200 now: AUD201 judged the pass and said nothing. The skipped test was judged by nothing,
    # and a runtime rule is never silenced off the def line, where none of its findings is put.
    assert _unused(audit) == {_line("ignore[AUD201] stale"), _line("this silences nothing")}
    stale = next(f for f in audit.findings if f.rule == "AUD905" and f.line == _line("ignore[AUD201] stale"))
    assert (stale.test_id, stale.message) == (f"{FILE}::test_fixed_long_ago", "suppression of AUD201 silences nothing")


def test_scan_never_calls_a_suppression_of_a_runtime_or_probe_rule_unused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "scan.json"
    assert main(["scan", str(PROJECT / FILE), "--format", "json", "-o", str(out), "--no-cache",
                 "--fail-on", "none"]) == 0
    findings = [(f["rule"], f["line"]) for f in json.loads(out.read_text(encoding="utf-8"))["findings"]]
    # Only the misplaced one: off a def line it can silence nothing, whatever a run finds.
    assert findings == [("AUD905", _line("this silences nothing"))]


def test_auditor_probe_settles_again_without_losing_or_doubling_anything(audited) -> None:
    root, audit = audited
    again = pipeline.probe_audit(read_config(root), progress=False)
    assert sorted(again.suppressed, key=repr) == sorted(audit.suppressed, key=repr)
    assert sorted(again.findings, key=repr) == sorted(audit.findings, key=repr)


def test_a_run_without_probes_silences_runtime_findings_and_judges_no_probe_rule(tmp_path: Path) -> None:
    audit = pipeline.audit(read_config(_copy(tmp_path / "project")), progress=False, write=False)
    assert {(f.rule, f.test_id) for f in audit.suppressed} == {("AUD201", RELAYS_500), ("AUD202", HELPER)}
    assert _unused(audit) == {_line("ignore[AUD201] stale"), _line("this silences nothing")}  # not AUD301's


def test_status_from_a_results_file_silences_the_same_findings(tmp_path: Path) -> None:
    root = _copy(tmp_path / "project")
    results = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", "--audit", "--json-report",
                    f"--json-report-file={results}"], cwd=root, capture_output=True, timeout=300, check=True)
    audit = pipeline.audit(read_config(root), results=[results], write=False)
    assert {(f.rule, f.test_id) for f in audit.suppressed} == {("AUD201", RELAYS_500), ("AUD202", HELPER)}
    assert _of_file(audit, "runtime") == {("AUD202", f"{FILE}::test_misplaced")}
