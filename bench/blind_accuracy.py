"""Accuracy of the static scan on the blind evaluation set (bench/blind/README.md), one half at a time.

The set is split by repository, with a hash fixed before any measurement: ``dev`` is where rules were tuned
(``--show`` lists its misses and false alarms by test). ``test`` was only measured until its third look
(``bench/blind/test-half-log.txt``); it is retired to tuning now and may be shown too. Sealed halves
(``bench/blind/fresh/``, ``fresh2/``, ``fresh3/``, ``fresh4/``: other projects, labelled later) are test halves: they print
counts and never cases, and every measurement is appended to their ``log.txt``, until a third look spends
them and they become tuning halves too. Each project is rebuilt from its published sdist (bench/blind/draw.py) and scanned whole
over the folders of its labelled files, so helpers and conftest files are seen as in a real scan.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
# --checkout measures another checkout's scan (e.g. the code before a change) against the same set and split.
_CHECKOUT = next((Path(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--checkout=")), HERE.parent)
sys.path.insert(0, str(_CHECKOUT))
sys.path.insert(0, str(HERE / "blind"))

from draw import fetch  # noqa: E402

try:
    from auditor.collect.scan import scan  # noqa: E402
except ImportError:  # a checkout from before the stage packages (commit 79db425 and older)
    from auditor.analyse import scan  # type: ignore[no-redef]  # noqa: E402
from auditor.config import read_config  # noqa: E402

CASES = HERE / "blind" / "cases"
#: Test halves labelled later, on other projects: measured with counts only, each look logged, until a third
#: look spends them (then they are tuning halves like the retired one, and may be shown).
SEALED = {name: HERE / "blind" / name for name in ("fresh", "fresh2", "fresh3", "fresh4")}
LOOKS = 3
# Measured (never shown) until its three looks were spent; a half that has been looked into is a tuning half.
RETIRED = "test"
FLAGGING = {"high", "medium"}


def half_of(project: str) -> str:
    """``dev`` or ``test``: a fixed hash of the project's name, chosen before anything was measured."""
    digest = hashlib.sha256(f"auditor-blind-split:{project.lower()}".encode()).digest()
    return "test" if digest[0] % 2 else "dev"


@dataclass(frozen=True)
class Case:
    project: str
    path: str
    function: str
    label: str
    pattern: str
    severities: tuple[str, ...]  # of the static findings on this test
    rules: tuple[str, ...]

    @property
    def weak(self) -> bool:
        return self.label == "weak"

    def flagged(self, levels: set[str]) -> bool:
        return any(s in levels for s in self.severities)


def _function_of(test_id: str) -> str:
    parts = test_id.split("::")[1:]
    return "::".join(part.split("[")[0] for part in parts)


def evaluate(project_file: Path) -> list[Case]:
    data = json.loads(project_file.read_text())
    root = fetch(data["project"], data["version"])
    folders = sorted({str(PurePosixPath(c["path"]).parent) for c in data["cases"]})
    config = read_config(root)
    # Absolute paths: a relative one would be read against the current directory, not the project.
    _, findings = scan(config, [str(root / folder) for folder in folders])
    by_test: dict[tuple[str, str], list] = defaultdict(list)
    for finding in findings:
        if finding.origin == "static" and finding.test_id:
            by_test[(finding.path, _function_of(finding.test_id))].append(finding)
    cases = []
    for c in data["cases"]:
        others = _other_definitions(root / c["path"], c["function"], c.get("line"))
        hits = [f for f in by_test.get((c["path"], c["function"]), [])
                if not any(first <= f.line <= last for first, last in others)]
        cases.append(Case(data["project"], c["path"], c["function"], c["label"], c["pattern"],
                          tuple(f.severity for f in hits), tuple(sorted({f.rule for f in hits}))))
    return cases


def _other_definitions(path: Path, function: str, line: int | None) -> list[tuple[int, int]]:
    """The lines of the other defs of the case's name in its scope: a module may define a test twice, and a
    finding on the shadowed def (AUD125: it never runs) is about that function, not the labelled one."""
    if line is None:
        return []
    try:
        body: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8", errors="replace")).body
    except SyntaxError:
        return []
    *classes, name = function.split("::")
    for class_name in classes:
        body = next((s.body for s in body if isinstance(s, ast.ClassDef) and s.name == class_name), [])
    defs = [s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name]
    return [(min([d.lineno, *(x.lineno for x in d.decorator_list)]), d.end_lineno or d.lineno)
            for d in defs if d.lineno != line] if len(defs) > 1 else []


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "n/a (0/0)"


def metrics(cases: list[Case], levels: set[str]) -> tuple[str, str]:
    tp = sum(1 for c in cases if c.weak and c.flagged(levels))
    fp = sum(1 for c in cases if not c.weak and c.flagged(levels))
    weak = sum(1 for c in cases if c.weak)
    return _ratio(tp, tp + fp), _ratio(tp, weak)


def report(cases: list[Case], half: str, projects: int, show: bool) -> dict[str, str]:
    weak = [c for c in cases if c.weak]
    strong = [c for c in cases if not c.weak]
    p_all, r_all = metrics(cases, FLAGGING)
    p_high, r_high = metrics(cases, {"high"})
    print(f"half: {half}   projects: {projects}   tests: {len(cases)} ({len(weak)} weak, {len(strong)} strong)")
    print(f"HIGH+MEDIUM  precision {p_all}   recall {r_all}")
    print(f"HIGH         precision {p_high}   recall {r_high}")
    print("\nrecall per weak pattern (HIGH+MEDIUM):")
    for pattern, group in sorted(_group(weak).items(), key=lambda kv: -len(kv[1])):
        print(f"  {pattern:40s} {_ratio(sum(c.flagged(FLAGGING) for c in group), len(group))}")
    print("\nfalse-positive rate per strong tag (HIGH+MEDIUM):")
    for pattern, group in sorted(_group(strong).items(), key=lambda kv: -len(kv[1])):
        print(f"  {pattern:40s} {_ratio(sum(c.flagged(FLAGGING) for c in group), len(group))}")
    if show:
        print("\nmissed weak tests:")
        for c in weak:
            if not c.flagged(FLAGGING):
                print(f"  {c.project}: {c.path}::{c.function}  [{c.pattern}]  low-only: {','.join(c.rules) or '-'}")
        print("\nflagged strong tests:")
        for c in strong:
            if c.flagged(FLAGGING):
                print(f"  {c.project}: {c.path}::{c.function}  [{c.pattern}]  {','.join(c.rules)}")
    return {"precision": p_all, "recall": r_all, "high_precision": p_high, "high_recall": r_high}


def _group(cases: list[Case]) -> dict[str, list[Case]]:
    groups: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        groups[c.pattern].append(c)
    return groups


def _looks(half: str) -> int:
    log = SEALED[half] / "log.txt"
    return len(log.read_text(encoding="utf-8").splitlines()) if log.is_file() else 0


def _sealed_files(half: str) -> list[Path]:
    return sorted((SEALED[half] / "cases").glob("*.json"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("half", choices=["dev", "test", "tune", *SEALED, "split"],
                        help="'tune' is every half open for tuning (dev, the retired test half, spent sealed halves); "
                             "'split' only prints which project is in which half")
    parser.add_argument("--show", action="store_true", help="list misses and false alarms by test (not for a sealed half)")
    parser.add_argument("--checkout", default=str(HERE.parent), help="measure the auditor of this checkout (--checkout=DIR)")
    args = parser.parse_args()
    files = sorted(CASES.glob("*.json"))
    if args.half == "split":
        counts: Counter[tuple[str, str]] = Counter()
        for f in files:
            data = json.loads(f.read_text())
            for c in data["cases"]:
                counts[(half_of(data["project"]), c["label"])] += 1
        for half in ("dev", "test"):
            projects = sum(1 for f in files if half_of(json.loads(f.read_text())["project"]) == half)
            print(f"{half}: {projects} projects, {counts[(half, 'weak')]} weak, {counts[(half, 'strong')]} strong")
        for half in SEALED:
            sealed = _sealed_files(half)
            for f in sealed:
                for c in json.loads(f.read_text())["cases"]:
                    counts[(half, c["label"])] += 1
            state = "spent" if _looks(half) >= LOOKS else f"{_looks(half)} look(s)"
            print(f"{half}: {len(sealed)} projects, {counts[(half, 'weak')]} weak, {counts[(half, 'strong')]} strong ({state})")
        return 0
    sealed_now = args.half in SEALED and _looks(args.half) < LOOKS
    if args.show and sealed_now:
        parser.error(f"the {args.half} test half is never shown case by case until its {LOOKS} looks are spent")
    if args.half in SEALED:
        chosen = _sealed_files(args.half)
        if not sealed_now:
            print(f"({args.half} is spent: {LOOKS} looks logged; measured as a tuning half, not logged)")
    else:
        halves = {"dev", RETIRED} if args.half == "tune" else {args.half}
        chosen = [f for f in files if half_of(json.loads(f.read_text())["project"]) in halves]
        if args.half == "tune":
            chosen += [f for half in SEALED if _looks(half) >= LOOKS for f in _sealed_files(half)]
    started = time.monotonic()
    cases: list[Case] = []
    for f in chosen:
        cases.extend(evaluate(f))
    numbers = report(cases, args.half, len(chosen), args.show)
    print(f"\n({time.monotonic() - started:.0f} s)")
    if sealed_now:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=_CHECKOUT).stdout.strip()
        with (SEALED[args.half] / "log.txt").open("a", encoding="utf-8") as log:
            log.write(json.dumps({"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                  "commit": commit, "tests": len(cases), **numbers}) + "\n")
    return 0

if __name__ == "__main__":
    sys.exit(main())
