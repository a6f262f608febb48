"""The funnel and the skip columns on a real run of tests/fixtures/funnel_project.

Every way the static scan's count and pytest's can differ is in that project (fixture params, params the scan
cannot read, generated tests, a class pytest never collects, a file pytest cannot import, deselection by its own
addopts), and every kind of skip (another platform, a missing dependency inside a test and for a whole module,
no reason, a condition at run time).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from auditor import pipeline
from auditor.config import GateConfig, read_config
from auditor.exceptions import ConfigError
from auditor.model import Tally
from auditor.report.base import RenderContext
from auditor.report.markdown import MarkdownReporter
from auditor.status.evidence import collect_evidence
from auditor.status.gate import evaluate
from auditor.status.summary import funnel_gap, matrix_rows

PROJECT = Path(__file__).parent / "fixtures" / "funnel_project"


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory):
    root = Path(shutil.copytree(PROJECT, tmp_path_factory.mktemp("funnel") / "project",
                                ignore=shutil.ignore_patterns("__pycache__")))
    return pipeline.audit(read_config(root), progress=False, write=False)


def _funnel_holds(t: Tally) -> None:
    assert t.created >= t.collectable >= t.collected >= t.run >= t.passed, t
    assert t.created == t.static + t.extra_params + t.extra_unreadable + t.not_in_scan, t
    assert t.collected == t.created - t.uncollectable - t.import_errors - t.deselected - t.never_reached, t
    assert t.collected == t.run + t.skipped + t.interrupted, t


def test_created_comes_from_pytest_and_every_gap_to_the_static_count_is_explained(audit) -> None:
    total = audit.tallies[-1]
    for tally in audit.tallies:
        _funnel_holds(tally)
    # static: 2 + 1 (VALUES unread) + 2 + 1 + 1 (TestHasInit) + 5 skips + 3 optional + 1 broken = 16
    # pytest: 2 x 3 fixture params (+4), VALUES makes 3 (+2), 2 generated tests (+2)
    assert (total.static, total.static_unreadable, total.extra_params, total.extra_unreadable, total.not_in_scan) == (
        16, 1, 4, 2, 2)
    assert (total.created, total.collectable, total.collected, total.run, total.passed) == (24, 23, 20, 13, 13)
    assert (total.uncollectable, total.import_errors, total.deselected, total.never_reached) == (1, 1, 2, 0)
    assert not total.created_lower_bound  # the one test with unread params was collected: pytest counted it
    assert funnel_gap(total) == (
        "+4 from fixture params, backends or generated parametrization; +2 from params the scan cannot read (1 test); "
        "+2 collected by pytest, not found by the scan; -1 that pytest never collects (names, __test__, __init__); "
        "-1 in files pytest cannot import; -2 deselected (-m/-k, suite markers)")


def test_one_total_everywhere(audit) -> None:
    total = audit.tallies[-1]
    assert [t.category for t in audit.tallies] == ["unit", "total"]
    assert len(collect_evidence(audit)) == total.created
    row = next(r for r in matrix_rows(audit) if r.is_total)
    assert (row.created_label, row.static, row.collected) == ("24", "≥16", 20)
    page = MarkdownReporter().render(audit, RenderContext())
    # created, static, collected, run, passing, flaky, deselected, platform skips, missing deps
    assert page.count("| **24** | **≥16** | **20** | **13** | **13** | **0** | **2** | **1** | **4** |") == 1
    assert "24" not in page.split("**Completion")[0]  # the summary above does not restate the total


def test_skips_are_sorted_by_kind(audit) -> None:
    kinds = {o.node_id.split("::", 1)[1]: (o.status, o.skip_kind) for s in audit.suites for o in s.outcomes
             if o.status == "skipped"}
    assert kinds == {
        "test_platform_skip": ("skipped", "platform"),
        "test_missing_dependency": ("skipped", "dependency"),
        "test_skipped_without_reason": ("skipped", "unconditional"),
        "test_skipped_at_run_time": ("skipped", "conditional"),
        "test_first": ("skipped", "dependency"),  # the module's importorskip: its 3 tests, as the scan counts them
        "test_second[0]": ("skipped", "dependency"),
        "test_second[1]": ("skipped", "dependency"),
    }
    total = audit.tallies[-1]
    assert (total.skipped, total.skipped_platform, total.skipped_dependency, total.skipped_unconditional) == (7, 1, 4, 1)


def _not_run(audit, gate: GateConfig) -> list[str]:
    return sorted(v.key.split("::", 1)[1] for v in evaluate(audit, gate) if v.check == "not-run")


def test_the_gate_fails_on_missing_dependencies_and_unchosen_skips_but_not_on_the_users_choices(audit) -> None:
    assert _not_run(audit, GateConfig()) == [
        "TestHasInit::test_never_collected", "test_first", "test_missing_dependency", "test_never_imported",
        "test_second[0]", "test_second[1]", "test_skipped_at_run_time", "test_skipped_without_reason"]
    allowed = GateConfig(allowed_missing_dependencies=("auditor_fixture_missing_module",
                                                       "auditor_fixture_other_missing_module"))
    assert _not_run(audit, allowed) == [
        "TestHasInit::test_never_collected", "test_never_imported", "test_skipped_at_run_time",
        "test_skipped_without_reason"]
    assert _not_run(audit, dataclasses.replace(allowed, allowed_missing_dependencies=("*",))) == _not_run(audit, allowed)
    strict = GateConfig(fail_on_deselected=True, fail_on_platform_skips=True)
    assert set(_not_run(audit, strict)) - set(_not_run(audit, GateConfig())) == {
        "test_one_instance_is_slow[2]", "test_slow", "test_platform_skip"}


@pytest.mark.parametrize(("table", "message"), [
    ("allowed_missing_dependencies = 'trio'", "allowed_missing_dependencies: expected a list of module names"),
    ("allowed_missing_dependencies = ['trio lowlevel']", "'trio lowlevel' is not a module name"),
    ("fail_on_platform_skips = 'no'", "fail_on_platform_skips: expected true or false, got 'no'"),
])
def test_the_new_gate_keys_are_validated(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.auditor.gate]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_config(tmp_path)


def test_the_new_gate_keys_are_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.auditor.gate]\nallowed_missing_dependencies = ['trio', 'google.protobuf']\nfail_on_deselected = true\n",
        encoding="utf-8")
    gate = read_config(tmp_path).gate
    assert (gate.allowed_missing_dependencies, gate.fail_on_deselected, gate.fail_on_platform_skips) == (
        ("trio", "google.protobuf"), True, False)
