"""How far two reviewers agree on the blind set's labels: the ceiling any rule's accuracy is measured under.

    python bench/blind/agreement.py SECOND_LABELS.json [--show]

SECOND_LABELS is a list of ``{"project", "path", "function", "label", "pattern", "reason"}`` written by a
reviewer who saw neither the first labels nor the rules. Prints how many labels agree, the 2x2 table, Cohen's
kappa, and agreement per first-label pattern; ``--show`` lists the disagreements with both reasons (use it on
dev-half cases only: the test half is measured, never read).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

CASES = Path(__file__).resolve().parent / "cases"


def first_labels() -> dict[tuple[str, str, str], dict]:
    found = {}
    for file in sorted(CASES.glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        for case in data["cases"]:
            found[(data["project"], case["path"], case["function"])] = case
    return found


def kappa(table: Counter[tuple[str, str]]) -> float:
    total = sum(table.values())
    observed = sum(n for (a, b), n in table.items() if a == b) / total
    labels = {"weak", "strong"}
    expected = sum(
        (sum(n for (a, _), n in table.items() if a == label) / total)
        * (sum(n for (_, b), n in table.items() if b == label) / total)
        for label in labels
    )
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("second", type=Path)
    parser.add_argument("--show", action="store_true", help="list each disagreement with both reasons")
    args = parser.parse_args()
    first = first_labels()
    table: Counter[tuple[str, str]] = Counter()
    per_pattern: Counter[tuple[str, bool]] = Counter()
    missing = 0
    disagreements = []
    for row in json.loads(args.second.read_text(encoding="utf-8")):
        case = first.get((row["project"], row["path"], row["function"]))
        if case is None:
            missing += 1
            continue
        table[(case["label"], row["label"])] += 1
        same = case["label"] == row["label"]
        per_pattern[(case["pattern"], same)] += 1
        if not same:
            disagreements.append((row, case))
    total = sum(table.values())
    if not total:
        print("no label matched a case of the blind set")
        return 1
    agree = table[("weak", "weak")] + table[("strong", "strong")]
    print(f"labels compared: {total}" + (f" ({missing} not found in the set)" if missing else ""))
    print(f"agreement: {agree}/{total} = {agree / total:.3f}   Cohen's kappa: {kappa(table):.3f}")
    print(f"{'first / second':16s} {'weak':>6s} {'strong':>7s}")
    for label in ("weak", "strong"):
        print(f"{label:16s} {table[(label, 'weak')]:6d} {table[(label, 'strong')]:7d}")
    print("\nagreement per first-label pattern:")
    for pattern in sorted({p for p, _ in per_pattern}, key=lambda p: -(per_pattern[(p, True)] + per_pattern[(p, False)])):
        yes, no = per_pattern[(pattern, True)], per_pattern[(pattern, False)]
        print(f"  {pattern:40s} {yes}/{yes + no}")
    if args.show:
        for row, case in disagreements:
            print(f"\n{row['project']} {row['path']}::{row['function']}")
            print(f"  first:  {case['label']:6s} {case['pattern']}: {case['reason']}")
            print(f"  second: {row['label']:6s} {row['pattern']}: {row['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
