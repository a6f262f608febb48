"""Benchmark: test-level precision and recall of the static rules on the labelled corpus.

Usage: python bench/corpus_accuracy.py [CORPUS] [--json FILE]

Prints precision, recall, per-rule hits and every miss and false positive, and writes the numbers as
JSON (default reports/bench_corpus_accuracy.json). Exit 0 always: thresholds are checked by
tests/test_rules_corpus.py, not here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from auditor.collect.accuracy import measure  # noqa: E402 - after the path tweak so the script runs uninstalled


def main(argv: list[str] | None = None) -> int:
    """Measure and print; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=HERE / "tests" / "corpus")
    parser.add_argument("--json", type=Path, default=HERE / "reports" / "bench_corpus_accuracy.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    accuracy = measure(args.corpus.resolve())
    seconds = time.perf_counter() - started
    weak = [t for t in accuracy.tests if t.weak]
    print(f"corpus      {args.corpus}")
    print(f"tests       {len(accuracy.tests)} labelled ({len(weak)} weak, {len(accuracy.tests) - len(weak)} strong)")
    print(
        f"precision   {accuracy.precision:.3f}  ({accuracy.true_positives} true, {len(accuracy.false_positives)} false positives)"
    )
    print(f"recall      {accuracy.recall:.3f}  ({accuracy.true_positives} of {len(weak)} weak tests found)")
    print(f"scan        {seconds:.2f} s")
    per_rule = Counter(rule for t in weak for rule in t.expected if rule in t.found)
    expected = Counter(rule for t in weak for rule in t.expected)
    print("per rule    " + ", ".join(f"{rule} {per_rule[rule]}/{expected[rule]}" for rule in sorted(expected)))
    for test in accuracy.misses:
        print(f"MISS        {test.test_id} expected {' '.join(test.expected)}, got {' '.join(test.found) or 'nothing'}")
    for test in accuracy.false_positives:
        print(f"FALSE POS   {test.test_id} flagged {' '.join(test.found)}")
    for test in weak:
        extra = sorted(set(test.found) - set(test.expected))
        if extra:
            print(f"ALSO        {test.test_id} also flagged {' '.join(extra)}")
    result = {
        "labelled": len(accuracy.tests),
        "weak": len(weak),
        "precision": round(accuracy.precision, 4),
        "recall": round(accuracy.recall, 4),
        "misses": [t.test_id for t in accuracy.misses],
        "false_positives": [t.test_id for t in accuracy.false_positives],
        "seconds": round(seconds, 3),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
