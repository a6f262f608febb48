"""Benchmark: `auditor scan` against `pytest --collect-only -q` on the same real test tree, in one run.

Usage: python bench/scan_speed.py PROJECT_ROOT [TEST_PATH ...] [--repeat N] [--json FILE]

Both commands run as fresh subprocesses with the project root as working directory (so both pay
interpreter start-up), each ``--repeat`` times after one warm-up run (pytest's warm-up writes its
assertion-rewrite caches and the project's ``.pyc`` files, so it is measured at its fastest).
``PYTHONDONTWRITEBYTECODE`` is removed from both commands' environment for that: with it set, pytest
recompiles and rewrites every module on every run and takes 3-4x longer than on a normal machine.
``--no-bytecode`` keeps it set, to compare with runs made that way. The scan is measured cold (``--no-cache``:
every file parsed and every rule run) and cached (unchanged tree). Prints the median seconds of each,
both ratios and tests per second, and writes them as JSON (default reports/bench_scan_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False)
    return time.perf_counter() - started, result


def _median(
    command: list[str], cwd: Path, repeat: int, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    _timed(command, cwd, env)  # warm-up: file system cache, pytest's pyc cache
    runs = [_timed(command, cwd, env) for _ in range(repeat)]
    return statistics.median(seconds for seconds, _ in runs), runs[-1][1]


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the ratio; exit 2 on bad arguments, 1 if a command failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="root of a real project (where its pytest config is)")
    parser.add_argument("paths", nargs="*", help="test paths inside the root (default: pytest's own)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=HERE / "reports" / "bench_scan_speed.json")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE (pytest then recompiles every run)"
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    root = args.root.resolve()
    if not root.is_dir():
        print(f"scan_speed: {root} is not a folder", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scan.json"
        scan_cmd = [
            sys.executable,
            "-m",
            "auditor",
            "scan",
            "--root",
            str(root),
            *args.paths,
            "--format",
            "json",
            "--output",
            str(out),
            "--fail-on",
            "none",
        ]
        collect_cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args.paths]
        cold_s, scan_run = _median([*scan_cmd, "--no-cache"], root, args.repeat, env)
        if scan_run.returncode != 0:
            print(f"scan_speed: auditor scan failed: {scan_run.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        scan_s, scan_run = _median(scan_cmd, root, args.repeat, env)  # unchanged tree: answered from .auditor_cache
        if scan_run.returncode != 0:
            print(f"scan_speed: auditor scan failed: {scan_run.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        audit = json.loads(out.read_text(encoding="utf-8"))
        collect_s, collect_run = _median(collect_cmd, root, args.repeat, env)
    defined = len(audit["cases"])
    instances = sum(case["params"] or 1 for case in audit["cases"])
    match = re.search(r"(\d+)(?:/\d+)? tests? collected", collect_run.stdout)
    collected = int(match.group(1)) if match else None
    errors = re.search(r"(\d+) errors?", collect_run.stdout.splitlines()[-1] if collect_run.stdout else "")
    result = {
        "root": str(root),
        "paths": args.paths,
        "repeat": args.repeat,
        "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in env,
        "scan_cold_seconds": round(cold_s, 3),
        "scan_cached_seconds": round(scan_s, 3),
        "collect_seconds": round(collect_s, 3),
        "ratio_cold": round(collect_s / cold_s, 2),
        "ratio_cached": round(collect_s / scan_s, 2),
        "tests_defined": defined,
        "test_instances_static": instances,
        "pytest_collected": collected,
        "pytest_collection_errors": int(errors.group(1)) if errors else 0,
        "scan_cold_tests_per_second": round(instances / cold_s),
        "collect_tests_per_second": round((collected or 0) / collect_s),
        "findings": len(audit["findings"]),
    }
    print(f"project            {root}  (bytecode cache {'on' if result['bytecode_cache'] else 'OFF'})")
    print(
        f"auditor scan cold  {cold_s:8.2f} s  ({defined} defs, {instances} instances, "
        f"{result['scan_cold_tests_per_second']:,} tests/s, --no-cache)"
    )
    print(f"auditor scan cached{scan_s:8.2f} s  (unchanged tree, answered from .auditor_cache)")
    print(
        f"pytest --co -q     {collect_s:8.2f} s  ({collected} collected, {result['pytest_collection_errors']} errors, "
        f"{result['collect_tests_per_second']:,} tests/s)"
    )
    print(f"ratio cold         {result['ratio_cold']:8.1f} x faster (median of {args.repeat})")
    print(f"ratio cached       {result['ratio_cached']:8.1f} x faster (median of {args.repeat})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
