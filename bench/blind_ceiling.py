"""How much of the blind set's weakness a static scan could see at all: bench/blind/ceiling.json against the scan.

Every weak test of the halves open to tuning (dev, test, fresh, fresh2) was classified by sessions that saw the
test and its label but not the rules: ``visible`` (the weakness shows in the test's own syntax), ``borderline``
(it shows, but strong tests carry the same sign often) or ``needs-knowledge`` (seeing it needs what the product
does, what its inputs mean, or a run). The script prints each class's size and how many of it the scan flags
(MEDIUM or HIGH): the share of weak tests outside ``visible`` bounds the recall a precise static rule set can reach.
Sealed halves are not classified: their cases are never read.

    python bench/blind_ceiling.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from blind_accuracy import SEALED, evaluate  # noqa: E402

CLASSES = ("visible", "borderline", "needs-knowledge")


def flagged_weak() -> dict[tuple[str, str, str], bool]:
    files = sorted((HERE / "blind" / "cases").glob("*.json"))
    for half in ("fresh", "fresh2"):
        files += sorted((SEALED[half] / "cases").glob("*.json"))
    return {
        (case.project, case.path, case.function): case.flagged({"high", "medium"})
        for file in files
        for case in evaluate(file)
        if case.weak
    }


def main() -> int:
    classified = json.loads((HERE / "blind" / "ceiling.json").read_text(encoding="utf-8"))["cases"]
    flagged = flagged_weak()
    sizes: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for case in classified:
        key = (case["project"], case["path"], case["function"])
        if key not in flagged:
            print(f"not a weak case of the tuning halves: {key}", file=sys.stderr)
            return 1
        sizes[case["class"]] += 1
        found[case["class"]] += flagged[key]
    total = sum(sizes.values())
    print(f"weak tests classified: {total}  flagged (MEDIUM/HIGH): {sum(found.values())}")
    print(f"{'class':18} {'tests':>6} {'share':>7} {'flagged':>8}")
    for name in CLASSES:
        print(f"{name:18} {sizes[name]:6} {sizes[name] / total:7.2f} {found[name]:8}")
    print(f"recall ceiling of a precise static scan (visible only): {sizes['visible'] / total:.2f}; "
          f"with every borderline sign too: {(sizes['visible'] + sizes['borderline']) / total:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
