"""Read-set cost: ``auditor run`` of the same suites by two auditor checkouts, in paired, alternating runs.

    python bench/reads_ab.py OLD NEW [--root ROOT] [--suite e2e --suite smoke] [--repeat 3]

OLD and NEW are auditor checkouts (for the read set: 10d3117, before it, and a26d6ba, which adds only it
to ``auditor run``); each run puts its checkout first on ``PYTHONPATH``, so the CLI, the pytest plugin in the
suite subprocesses and everything they import come from it. ROOT (default: NEW) is the project audited,
the same for both. Runs alternate old/new ``--repeat`` times so machine noise hits both alike; the script
prints each run's wall and CPU seconds (the auditor and every process it waited for) and the ratio of the
medians, new over old. The target for the read set is at most 1.10.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.10


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(checkout: Path, root: Path, suites: list[str], output: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``auditor run`` by ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-m", "auditor", "run", "--root", str(root), "--no-progress", "-o", str(output)]
    for suite in suites:
        command += ["--suite", suite]
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: auditor run exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--root", default=None, help="the project audited (default: NEW)")
    parser.add_argument("--suite", action="append", default=[], help="suite to run (repeatable; default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=None, help="write the measurements here (JSON)")
    args = parser.parse_args()
    old, new = Path(args.old).resolve(), Path(args.new).resolve()
    root = Path(args.root).resolve() if args.root else new
    runs: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="reads-ab-") as scratch:
        for index in range(args.repeat):
            for label, checkout in (("old", old), ("new", new)) if index % 2 == 0 else (("new", new), ("old", old)):
                wall, cpu = one_run(checkout, root, args.suite, Path(scratch) / f"{label}-{index}.json")
                runs[label].append((wall, cpu))
                print(f"run {index + 1} {label}: wall {wall:7.1f} s  cpu {cpu:7.1f} s", flush=True)
    medians = {label: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
               for label, values in runs.items()}
    wall_ratio = medians["new"][0] / medians["old"][0]
    cpu_ratio = medians["new"][1] / medians["old"][1]
    print(f"median wall: old {medians['old'][0]:.1f} s, new {medians['new'][0]:.1f} s, ratio {wall_ratio:.3f}")
    print(f"median cpu:  old {medians['old'][1]:.1f} s, new {medians['new'][1]:.1f} s, ratio {cpu_ratio:.3f}")
    print(f"target: at most {TARGET:.2f} -> {'met' if max(wall_ratio, cpu_ratio) <= TARGET else 'NOT met'}")
    if args.output:
        Path(args.output).write_text(json.dumps({"old": str(old), "new": str(new), "runs": runs,
                                                 "wall_ratio": wall_ratio, "cpu_ratio": cpu_ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
