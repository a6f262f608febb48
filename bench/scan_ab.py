"""Time two checkouts' ``auditor scan --no-cache`` on the same trees, runs paired and alternating.

    python bench/scan_ab.py OLD_CHECKOUT NEW_CHECKOUT TREE [TREE ...] [--repeat 5]

Each checkout runs as ``python -m auditor`` with itself first on PYTHONPATH; old and new alternate run by
run, and which of the two goes first alternates from pair to pair, so drift in the machine's load falls on
both. Prints each tree's median CPU seconds (user + system of the scan process, which other jobs on the
machine barely change) and wall seconds, and the new/old ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def once(checkout: Path, tree: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one scan."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "auditor", "scan", str(tree), "--root", str(tree), "--no-cache",
                    "--format", "json", "--output", os.devnull, "--fail-on", "none"],
                   env=env, cwd=tree, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'tree':32s} {'old cpu':>8s} {'new cpu':>8s} {'ratio':>6s} {'old wall':>9s} {'new wall':>9s} {'ratio':>6s}")
    for tree in args.trees:
        once(args.old, tree), once(args.new, tree)  # warm the page cache and the pyc files
        old, new = [], []
        for run in range(args.repeat):
            # the order alternates too: whichever runs second in a pair must not always be the same checkout
            if run % 2:
                new.append(once(args.new, tree))
                old.append(once(args.old, tree))
            else:
                old.append(once(args.old, tree))
                new.append(once(args.new, tree))
        oc, nc = statistics.median(c for c, _ in old), statistics.median(c for c, _ in new)
        ow, nw = statistics.median(w for _, w in old), statistics.median(w for _, w in new)
        print(f"{tree.name:32s} {oc:8.2f} {nc:8.2f} {nc / oc:6.3f} {ow:9.2f} {nw:9.2f} {nw / ow:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
