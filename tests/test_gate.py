"""The gate: a pure function over an audit, its thresholds, baselines, and the CLI's exit codes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from review_audit import ACCEPTS_501, review_audit

from auditor.status import gate
from auditor.cli import main
from auditor.config import GateConfig
from auditor.exceptions import ConfigError
from auditor.status.history import read_baseline, write_baseline
from auditor.model import Completion, Outcome, Score
from auditor.serialize import dumps

REVIEW = review_audit(with_scores=True)


def checks(violations: list[gate.Violation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in violations:
        counts[v.check] = counts.get(v.check, 0) + 1
    return counts


def test_review_fails_on_never_run_findings_5xx_and_the_failing_test() -> None:
    violations = gate.evaluate(REVIEW, GateConfig())
    assert checks(violations) == {"not-run": 36, "finding": 2, "failed": 1, "passed-on-5xx": 1}
    assert f"passed-on-5xx: {ACCEPTS_501} passed while the server answered 501" in [str(v) for v in violations]


def test_not_run_can_be_limited_to_categories_and_excused_by_reason() -> None:
    only_e2e = gate.evaluate(REVIEW, GateConfig(not_run_categories=("e2e",), fail_on_severity=None, fail_on_failed=False))
    assert checks(only_e2e) == {"not-run": 12, "passed-on-5xx": 1}
    excused = gate.evaluate(REVIEW, GateConfig(allowed_skip_reasons=("not_in_suite",), fail_on_severity=None, fail_on_5xx_pass=False, fail_on_failed=False))
    assert excused == []


def test_rules_can_be_chosen_by_id_or_slug_with_severity_off() -> None:
    config = GateConfig(fail_on_not_run=False, fail_on_severity=None, fail_on_5xx_pass=False, fail_on_failed=False)
    assert gate.evaluate(REVIEW, config) == []
    by_slug = gate.evaluate(REVIEW, dataclasses.replace(config, fail_on_rules=("sleep-wait",)))
    assert [v.key for v in by_slug] == ["finding:AUD105:tests/stress/test_load.py::test_load_01"]
    medium = gate.evaluate(REVIEW, dataclasses.replace(config, fail_on_severity="medium"))
    assert len(medium) == 3


def test_vacuous_tests_fail_the_gate() -> None:
    suite = REVIEW.suites[0]
    empty = dataclasses.replace(suite.outcomes[0], observation=dataclasses.replace(suite.outcomes[0].observation, assertions=0))
    audit = dataclasses.replace(REVIEW, suites=(dataclasses.replace(suite, outcomes=(empty, *suite.outcomes[1:])), *REVIEW.suites[1:]))
    violations = gate.evaluate(audit, GateConfig(fail_on_not_run=False, fail_on_severity=None, fail_on_5xx_pass=False, fail_on_failed=False))
    assert [str(v) for v in violations] == [f"vacuous: {empty.node_id} is vacuous: executed no assertions"]


def with_numbers(completion: float | None, quality: float | None):
    return dataclasses.replace(
        REVIEW,
        completion=None if completion is None else Completion(value=completion, low=completion, high=completion),
        scores=(Score("total", quality),),
    )


QUIET = GateConfig(fail_on_not_run=False, fail_on_severity=None, fail_on_5xx_pass=False, fail_on_failed=False)


@pytest.mark.parametrize(
    ("completion", "minimum", "fails"),
    [(40.0, 40.0, False), (39.9, 40.0, True), (100.0, 100.0, False), (99.9, 100.0, True), (None, 1.0, True)],
)
def test_min_completion_threshold_edges(completion: float | None, minimum: float, fails: bool) -> None:
    violations = gate.evaluate(with_numbers(completion, 5.0), dataclasses.replace(QUIET, min_completion=minimum))
    assert bool(violations) is fails


@pytest.mark.parametrize(("quality", "fails"), [(6.0, False), (5.9, True), (None, True)])
def test_min_quality_threshold_and_unknown_quality(quality: float | None, fails: bool) -> None:
    violations = gate.evaluate(with_numbers(50.0, quality), dataclasses.replace(QUIET, min_quality=6.0))
    assert [v.check for v in violations] == (["min-quality"] if fails else [])


@pytest.mark.parametrize(("field", "value"), [("min_completion", 100.5), ("min_quality", 11.0)])
def test_impossible_thresholds_are_configuration_errors(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        gate.evaluate(REVIEW, dataclasses.replace(QUIET, **{field: value}))


def test_baseline_lets_only_new_problems_fail(tmp_path: Path) -> None:
    config = GateConfig(min_completion=50.0)
    old = gate.evaluate(REVIEW, config)
    path = write_baseline(tmp_path / "baseline.json", old, REVIEW)
    baseline = read_baseline(path)
    assert gate.evaluate(REVIEW, config, baseline) == []
    # A new never-run test is a new problem; a lower completion is a worse one.
    extra = Outcome(node_id="tests/e2e/test_new.py::test_new", case_id="tests/e2e/test_new.py::test_new", status="not_run", reason="not_in_suite")
    suites = (*REVIEW.suites[:-1], dataclasses.replace(REVIEW.suites[-1], outcomes=(*REVIEW.suites[-1].outcomes, extra)))
    worse = dataclasses.replace(REVIEW, suites=suites, completion=dataclasses.replace(REVIEW.completion, value=REVIEW.completion.value - 1))
    assert [v.check for v in gate.evaluate(worse, config, baseline)] == ["not-run", "min-completion"]


def test_unreadable_baseline_is_a_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text(json.dumps({"violations": "nope"}))
    from auditor.exceptions import DataError

    with pytest.raises(DataError, match="not a baseline file"):
        read_baseline(bad)


def project(tmp_path: Path, gate_table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.auditor.gate]\n{gate_table}\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "audit.json").write_text(dumps(REVIEW))
    return tmp_path


def test_cli_gate_exit_codes_and_one_line_per_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    assert main(["gate", "--root", str(root)]) == 1
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 40
    assert out.err.strip() == "auditor gate: FAILED (40 violation(s))"
    assert main(["gate", "--root", str(root), "--write-baseline", str(root / "base.json")]) == 0
    capsys.readouterr()
    assert main(["gate", "--root", str(root), "--baseline", str(root / "base.json")]) == 0
    assert capsys.readouterr().out.strip() == "auditor gate: passed"


def test_cli_gate_reads_the_baseline_from_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, 'baseline = "base.json"')
    assert main(["gate", "--root", str(root), "--write-baseline", str(root / "base.json")]) == 0
    assert main(["gate", "--root", str(root)]) == 0


@pytest.mark.parametrize(
    ("args", "table", "message"),
    [
        (["--audit", "missing.json"], "", "no such file [data-error]"),
        ([], "min_quality = 12", "min_quality: expected a number from 0 to 10 (quality is scored 0-10), got 12 [config-error]"),
        ([], "fail_on_sevrity = 'high'", "unknown key(s): fail_on_sevrity [config-error]"),
    ],
)
def test_cli_gate_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], table: str, message: str) -> None:
    root = project(tmp_path, table)
    args = [a if a != "missing.json" else str(tmp_path / a) for a in args]
    assert main(["gate", "--root", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("auditor: error: ") and err.rstrip().endswith(message)


def test_a_5xx_from_the_projects_own_client_is_asked_for_even_in_a_moved_audit() -> None:
    # The audit records which clients were the project's own (own_packages included): a gate reading it
    # elsewhere, where the root no longer holds the package, must judge the 5xx as the run did.
    def answered_by_own(outcome: Outcome) -> Outcome:
        if outcome.node_id != ACCEPTS_501 or outcome.observation is None:
            return outcome
        http = tuple(dataclasses.replace(x, client="shopclient", reads=("status",)) for x in outcome.observation.http)
        return dataclasses.replace(outcome, observation=dataclasses.replace(outcome.observation, http=http))

    suites = tuple(dataclasses.replace(s, outcomes=tuple(map(answered_by_own, s.outcomes))) for s in REVIEW.suites)
    moved = dataclasses.replace(REVIEW, suites=suites, root="/nonexistent/moved/project")
    only_5xx = GateConfig(fail_on_not_run=False, fail_on_severity=None, fail_on_failed=False)
    assert checks(gate.evaluate(moved, only_5xx)) == {"passed-on-5xx": 1}
    own = dataclasses.replace(moved, own_clients=("shopclient",))
    assert gate.evaluate(own, only_5xx) == []
