"""Confusion matrix of the auditor on the labelled claims suite (tests/fixtures/claims_project).

    python bench/claims_confusion.py [AUDIT_JSON]

Runs ``auditor audit`` on the suite (real server, probes included) unless an audit file is given, then
counts a test as flagged when any of its findings, static, runtime or probe, is MEDIUM or HIGH. The labels in
``labels.json`` were written before the auditor was ever run on the suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "claims_project"


def audit_file(given: str | None) -> Path:
    if given:
        return Path(given)
    reports = SUITE / "reports"
    subprocess.run([sys.executable, "-m", "auditor", "audit", "--no-gate"], cwd=SUITE, check=True)
    kept = Path("/tmp/claims-audit.json")
    shutil.copy(reports / "audit.json", kept)
    shutil.rmtree(reports, ignore_errors=True)  # the fixture folder stays as committed
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audit", nargs="?", help="an audit.json of the suite (default: run auditor audit now)")
    parser.add_argument("--list", action="store_true", help="every test with its label and its findings")
    args = parser.parse_args()
    labels = {item["test"]: item for item in json.loads((SUITE / "labels.json").read_text())}
    audit = json.loads(audit_file(args.audit).read_text())
    worst: dict[str, str] = {}
    rules: dict[str, set[str]] = defaultdict(set)
    order = {"low": 1, "medium": 2, "high": 3}
    for finding in audit["findings"]:
        test_id = finding.get("test_id") or ""
        key = test_id.split("[")[0]
        if key not in labels:
            continue
        if order[finding["severity"]] > order.get(worst.get(key, ""), 0):
            worst[key] = finding["severity"]
        rules[key].add(f'{finding["rule"]}:{finding["severity"]}')
    table: Counter[tuple[str, str]] = Counter()
    per_claim: Counter[tuple[str, str, bool]] = Counter()
    for test, label in labels.items():
        level = worst.get(test, "none")
        table[(label["verdict"], level)] += 1
        per_claim[(label["claim"], label["verdict"], level in ("medium", "high"))] += 1
    strong = sum(1 for l in labels.values() if l["verdict"] == "strong")
    weak = len(labels) - strong
    print(f"{'':8s} {'none':>6s} {'low':>6s} {'medium':>7s} {'high':>6s}")
    for verdict in ("strong", "weak"):
        print(f"{verdict:8s}" + "".join(f"{table[(verdict, lvl)]:>7d}" for lvl in ("none", "low", "medium", "high")))
    flagged_weak = table[("weak", "medium")] + table[("weak", "high")]
    print(f"\nstrong with a HIGH finding: {table[('strong', 'high')]} (bar: 0)")
    print(f"strong with a MEDIUM finding: {table[('strong', 'medium')]} (bar: at most 1)")
    print(f"weak flagged (MEDIUM or HIGH): {flagged_weak}/{weak} = {flagged_weak / weak:.0%} (bar: at least 95%)")
    print("\nper claim (strong flagged / weak flagged):")
    for claim in sorted({l["claim"] for l in labels.values()}):
        s = per_claim[(claim, "strong", True)]
        w = per_claim[(claim, "weak", True)]
        ns = sum(1 for l in labels.values() if l["claim"] == claim and l["verdict"] == "strong")
        nw = sum(1 for l in labels.values() if l["claim"] == claim and l["verdict"] == "weak")
        print(f"  {claim:20s} strong {s}/{ns}   weak {w}/{nw}")
    if args.list:
        for test, label in sorted(labels.items()):
            print(f"{label['verdict']:6s} {worst.get(test, 'none'):6s} {test} {sorted(rules.get(test, ()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
