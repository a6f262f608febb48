"""Precision and recall of the static rules on the labelled corpus in tests/corpus/."""

from __future__ import annotations

from pathlib import Path

from auditor.collect.accuracy import measure
from auditor.collect.rules.catalogue import all_rules

CORPUS = Path(__file__).resolve().parent / "corpus"


def test_corpus_precision_and_recall_meet_the_targets() -> None:
    accuracy = measure(CORPUS)
    assert len(accuracy.tests) >= 100
    assert accuracy.unlabelled == ()
    misses = [f"{t.test_id} expected {t.expected} got {t.found}" for t in accuracy.misses]
    false_positives = [f"{t.test_id} got {t.found}" for t in accuracy.false_positives]
    assert accuracy.precision >= 0.95, false_positives
    assert accuracy.recall >= 0.90, misses


def test_corpus_has_weak_and_strong_tests_for_every_test_level_rule() -> None:
    accuracy = measure(CORPUS)
    labelled = {rule for t in accuracy.tests for rule in t.expected}
    static = {r.id for r in all_rules() if r.origin == "static"}
    assert static - labelled == set()
    strong = [t for t in accuracy.tests if not t.weak]
    assert len(strong) >= 40
