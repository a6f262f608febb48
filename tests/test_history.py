"""History lines, the trend command, and merging shard audits."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from review_audit import review_audit, review_config

from auditor.cli import main
from auditor.exceptions import DataError
from auditor.status.history import append, merge, read_history, summary
from auditor.model import Outcome, SuiteResult
from auditor.serialize import dumps

REVIEW = review_audit(with_scores=True)


def test_append_writes_one_summary_line_per_audit(tmp_path: Path) -> None:
    path = append(REVIEW, tmp_path / "reports")
    later = dataclasses.replace(REVIEW, created="2026-01-26T09:00:00Z")
    append(later, tmp_path / "reports")
    entries = read_history(path)
    assert [e["created"] for e in entries] == ["2026-01-25T12:00:00Z", "2026-01-26T09:00:00Z"]
    assert entries[0] == summary(REVIEW)
    assert {k: entries[0][k] for k in ("created_tests", "run", "passed", "not_run", "completion", "claimed", "quality")} == {
        "created_tests": 43,
        "run": 7,
        "passed": 6,
        "not_run": 36,
        "completion": 34.5,
        "claimed": 78,
        "quality": 4.1,
    }


def test_missing_history_is_empty_and_a_broken_line_is_named(tmp_path: Path) -> None:
    assert read_history(tmp_path) == ()
    bad = tmp_path / "history.jsonl"
    bad.write_text('{"created": "x"}\nnot json\n')
    with pytest.raises(DataError, match=r"history.jsonl:2: not a JSON line"):
        read_history(bad)


def test_trend_command_prints_every_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append(REVIEW, tmp_path / "reports")
    append(dataclasses.replace(REVIEW, created="2026-01-26T09:00:00Z"), tmp_path / "reports")
    assert main(["trend", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("34.5%") == 2
    assert "2026-01-26 09:00" in out


def shard(audit, keep: set[str], name: str):
    """A shard's view of the review: it ran only ``keep``; every other test is "not run" there."""
    suites = []
    not_run = []
    for suite in audit.suites:
        for outcome in suite.outcomes:
            if outcome.node_id in keep:
                continue
            if outcome.status != "not_run":
                not_run.append(dataclasses.replace(outcome, status="not_run", reason="deselected", observation=None, suite="(not run)"))
            else:
                not_run.append(outcome)
        ran = tuple(o for o in suite.outcomes if o.node_id in keep)
        if ran:
            suites.append(dataclasses.replace(suite, name=name, outcomes=ran))
    suites.append(SuiteResult(name="(not run)", category="other", paths=(), status="not_run", outcomes=tuple(not_run)))
    return dataclasses.replace(audit, suites=tuple(suites))


def test_merge_counts_each_test_once_and_keeps_the_most_informative_outcome(tmp_path: Path) -> None:
    smoke = [o.node_id for o in REVIEW.suites[0].outcomes]
    a = shard(REVIEW, set(smoke[:4]), "smoke")
    b = shard(REVIEW, set(smoke[3:]), "smoke")
    # The same test failed in shard b although it passed in shard a: the failure wins.
    b_suite = b.suites[0]
    flipped = tuple(dataclasses.replace(o, status="failed") if o.node_id == smoke[3] else o for o in b_suite.outcomes)
    b = dataclasses.replace(b, suites=(dataclasses.replace(b_suite, outcomes=flipped), *b.suites[1:]))
    merged = merge([a, b], review_config())
    outcomes = [o for s in merged.suites for o in s.outcomes]
    assert len(outcomes) == len({o.node_id for o in outcomes}) == 43
    status = {o.node_id: o.status for o in outcomes}
    assert status[smoke[3]] == "failed"
    total = next(t for t in merged.tallies if t.category == "total")
    assert (total.created, total.run, total.passed) == (43, 7, 5)
    assert [s.name for s in merged.suites] == ["smoke", "(not run)", "smoke (shard 2)"]


def test_merge_command_writes_one_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    smoke = [o.node_id for o in REVIEW.suites[0].outcomes]
    files = []
    for index, keep in enumerate((set(smoke[:3]), set(smoke[3:]))):
        path = tmp_path / f"shard{index}.json"
        path.write_text(dumps(shard(REVIEW, keep, f"smoke-{index}")))
        files.append(str(path))
    (tmp_path / "pyproject.toml").write_text('[tool.auditor]\nreal_infrastructure = ["smoke", "e2e", "stress"]\n')
    out = tmp_path / "merged.json"
    assert main(["merge", *files, "-o", str(out), "--root", str(tmp_path)]) == 0
    data = json.loads(out.read_text())
    total = next(t for t in data["tallies"] if t["category"] == "total")
    assert (total["created"], total["run"], total["passed"]) == (43, 7, 6)
    assert main(["merge", str(tmp_path / "absent.json"), "-o", str(out)]) == 2


def test_merge_of_nothing_is_an_error() -> None:
    with pytest.raises(DataError, match="no audits"):
        merge([], review_config())


def test_not_run_outcomes_are_never_chosen_over_a_run() -> None:
    node = REVIEW.suites[0].outcomes[0]
    lost = Outcome(node_id=node.node_id, case_id=node.case_id, status="not_run", reason="deselected")
    only_not_run = dataclasses.replace(REVIEW, suites=(SuiteResult(name="x", category="smoke", paths=(), status="completed", outcomes=(lost,)),))
    merged = merge([only_not_run, REVIEW], review_config())
    kept = [o for s in merged.suites for o in s.outcomes if o.node_id == node.node_id]
    assert [o.status for o in kept] == ["passed"]
