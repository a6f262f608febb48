"""Time two checkouts' ``auditor scan --no-cache`` on the same trees, runs paired and alternating.

    python bench/scan_ab.py OLD_CHECKOUT NEW_CHECKOUT TREE [TREE ...] [--repeat 5]

Each checkout runs as ``python -m auditor`` with itself first on PYTHONPATH; old and new alternate run by
run, so drift in the machine's load falls on both. Prints each tree's median seconds and new/old ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def once(checkout: Path, tree: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "auditor", "scan", str(tree), "--root", str(tree), "--no-cache",
                    "--format", "json", "--output", os.devnull, "--fail-on", "none"],
                   env=env, cwd=tree, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'tree':40s} {'old s':>8s} {'new s':>8s} {'new/old':>8s}")
    for tree in args.trees:
        once(args.old, tree), once(args.new, tree)  # warm the page cache and the pyc files
        old, new = [], []
        for _ in range(args.repeat):
            old.append(once(args.old, tree))
            new.append(once(args.new, tree))
        o, n = statistics.median(old), statistics.median(new)
        print(f"{tree.name:40s} {o:8.2f} {n:8.2f} {n / o:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
