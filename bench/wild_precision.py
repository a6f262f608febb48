"""How often a static finding on a stranger's suite is right: the scan against bench/blind/wild/sample.json.

    python bench/wild_precision.py [--sample sample2|...|sample7] [--checkout=DIR]

Rescans every project of the sample (rebuilt from its sdist by bench/blind/draw.py) with this checkout's
auditor (or another's), then prints how many labelled tests it flags at MEDIUM or HIGH (``--high``: HIGH) and how many of those
are weak, overall and per rule; with ``--population``, also how many tests it flags in those projects and
the share of them likely weak (each counted at its best rule's precision in the sample). The sample is a tuning set (bench/blind/wild/README.md): the number is for
calibrating rules and severities, not an accuracy claim.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
_CHECKOUT = next((Path(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--checkout=")), HERE.parent)
sys.path.insert(0, str(_CHECKOUT))
sys.path.insert(0, str(HERE / "blind"))

from draw import fetch  # noqa: E402

from auditor.collect.scan import scan  # noqa: E402
from auditor.config import read_config  # noqa: E402

WILD = HERE / "blind" / "wild"


def flagged_tests(root: Path, levels: tuple[str, ...] = ("high", "medium")) -> dict[str, set[str]]:
    """test id (without parameters) -> the rules that flag it at ``levels``, over the project's test folders."""
    folders = [p for p in root.rglob("test*") if p.is_dir()] or [root]
    folders = [f for f in folders if not any(other in f.parents for other in folders)]
    _, findings = scan(read_config(root), [str(f) for f in folders])
    found: dict[str, set[str]] = defaultdict(set)
    for finding in findings:
        if finding.origin == "static" and finding.severity in levels and finding.test_id:
            found[finding.test_id.split("[")[0]].add(finding.rule)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="sample", help="sample, sample2 ... sample7 (blind when measured with the code it names)")
    parser.add_argument("--high", action="store_true", help="count findings at HIGH only (what fails the gate)")
    parser.add_argument("--population", action="store_true",
                        help="also estimate the share of right findings over every test flagged in those projects")
    parser.add_argument("--checkout", default=str(HERE.parent), help="measure the auditor of this checkout (--checkout=DIR)")
    args = parser.parse_args()
    cases = json.loads((WILD / f"{args.sample}.json").read_text())["cases"]
    by_project: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for case in cases:
        by_project[(case["project"], case["version"])].append(case)
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    weak_flagged = strong_flagged = weak_missed = 0
    population: list[set[str]] = []
    for (project, version), group in sorted(by_project.items()):
        found = flagged_tests(fetch(project, version), ("high",) if args.high else ("high", "medium"))
        population += found.values()
        for case in group:
            if case["label"] == "unclear":
                continue
            rules = found.get(f"{case['path']}::{case['function']}", set())
            weak = case["label"] == "weak"
            if rules:
                weak_flagged += weak
                strong_flagged += not weak
                for rule in rules:
                    per_rule[rule][0 if weak else 1] += 1
            else:
                weak_missed += weak
    flagged = weak_flagged + strong_flagged
    print(f"sample: {len(cases)} tests from {len(by_project)} projects")
    level = "HIGH" if args.high else "MEDIUM/HIGH"
    print(f"flagged {level}: {flagged}, of them weak: {weak_flagged}"
          f" (precision {weak_flagged / flagged:.2f})" if flagged else f"flagged {level}: 0")
    print(f"weak tests not flagged: {weak_missed}")
    for rule, (weak, strong) in sorted(per_rule.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {rule}  weak {weak:3d}  strong {strong:3d}")
    if args.population:
        print(estimate(population, per_rule))
    return 0


def estimate(population: list[set[str]], per_rule: dict[str, list[int]]) -> str:
    """The flagged tests of the sampled projects, and the share of them likely weak: each test at the sample
    precision of its most precise rule (a rule the sample never hit is left out of the estimate)."""
    precision = {rule: weak / (weak + strong) for rule, (weak, strong) in per_rule.items() if weak + strong}
    known = [max(precision[r] for r in rules if r in precision) for rules in population
             if any(r in precision for r in rules)]
    share = f"{sum(known) / len(known):.2f}" if known else "n/a"
    return (f"population: {len(population)} tests flagged in these projects; {len(known)} by a sampled rule,"
            f" an estimated {share} of them weak")


if __name__ == "__main__":
    sys.exit(main())
