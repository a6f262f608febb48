"""Benchmark: `auditor scan` against `pytest --collect-only -q` on real test trees, all in one run.

Usage: python bench/scan_speed.py [ROOT ...] [--repeat N] [--json FILE] [--deps ROOT=DIR ...] [--edit REL]

For each project root (default: the trees under /tmp/real that exist), every command runs as a fresh
subprocess with the root as working directory (so each pays interpreter start-up), ``--repeat`` times
after one warm-up run, and the median is reported:

* ``pytest --collect-only -q -p no:cacheprovider``, with warm ``.pyc`` files (the warm-up writes them;
  ``PYTHONDONTWRITEBYTECODE`` is removed from its environment, or pytest recompiles every module on
  every run and is 3-4x slower than on a normal machine). The project's test dependencies must be
  importable or pytest stops at the first broken conftest: ``--deps ROOT=DIR`` puts DIR (a
  ``pip install --target`` folder) on pytest's ``PYTHONPATH``; by default ``<ROOT>/../.deps/<name>`` is used
  when it exists. Collection errors are counted and printed.
* ``auditor scan --no-cache`` (cold: every file parsed, every rule run);
* ``auditor scan`` on the unchanged tree (answered from ``.auditor_cache``; the run checks the store was
  not rewritten, i.e. really hit);
* ``auditor scan`` after one test file was edited (a new test appended, different each repetition): the
  edit loop. The file is the one with the most tests (``--edit`` picks another) and is restored byte for
  byte afterwards. Once, the edited tree's cached answer is compared with a ``--no-cache`` scan of it.

Prints a table (seconds, x faster than pytest, tests per second) and writes the numbers as JSON
(default reports/bench_scan_speed.json).
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
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
DEFAULT_TREES = ("/tmp/real/networkx", "/tmp/real/fastapi", "/tmp/real/httpx", "/tmp/real/requests")
STORE = Path(".auditor_cache") / "scan-v2.jsonl"


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False)
    return time.perf_counter() - started, result


def _median(command: list[str], cwd: Path, repeat: int, env: dict[str, str]) -> tuple[float, Any]:
    _run(command, cwd, env)  # warm-up: file system cache, pytest's pyc files, auditor's cache
    runs = [_run(command, cwd, env) for _ in range(repeat)]
    for _, done in runs:
        if done.returncode not in (0, 1):  # 1: pytest found tests but some had collection errors
            raise RuntimeError(f"{' '.join(command[:6])}... exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return statistics.median(seconds for seconds, _ in runs), runs[-1][1]


def _audit(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["created"], data["environment"]["scan_seconds"]
    return data


def _edit_target(audit: dict[str, Any], chosen: str | None) -> str:
    if chosen:
        return chosen
    counts = Counter(case["path"] for case in audit["cases"] if case["collectable"])
    return max(sorted(counts), key=lambda path: counts[path])


def bench_tree(root: Path, args: argparse.Namespace, deps: dict[str, Path]) -> dict[str, Any]:
    """All four measurements on one project root."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    pytest_env = dict(env)
    extra = deps.get(str(root)) or deps.get(root.name)
    if extra is None and (root.parent / ".deps" / root.name).is_dir():
        extra = root.parent / ".deps" / root.name
    if extra is not None:
        pytest_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scan.json"
        scan = [sys.executable, "-m", "auditor", "scan", "--root", str(root), "--format", "json", "--fail-on", "none",
                "--output", str(out)]  # fmt: skip
        collect_s, collected = _median([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                                       root, args.repeat, pytest_env)  # fmt: skip
        cold_s, _ = _median([*scan, "--no-cache"], root, args.repeat, env)
        fresh = _audit(out)
        _run(scan, root, env)  # fills the cache
        stamp = (root / STORE).stat().st_mtime_ns
        cached_s, _ = _median(scan, root, args.repeat, env)
        cache_hit = (root / STORE).stat().st_mtime_ns == stamp and _audit(out) == fresh
        target = root / _edit_target(fresh, args.edit)
        original, times = target.read_bytes(), target.stat()
        edit_runs = []
        try:
            for number in range(args.repeat + 1):
                addition = f"\n\ndef test_auditor_bench_edit_{number}():\n    assert {number} + 1 == {number + 1}\n"
                target.write_bytes(original + addition.encode())
                edit_runs.append(_run(scan, root, env)[0])
            edited = _audit(out)
            _run([*scan, "--no-cache"], root, env)
            edit_equals_fresh = edited == _audit(out)
        finally:
            target.write_bytes(original)
            os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))
        _run(scan, root, env)  # leave the cache matching the restored tree
    edit_s = statistics.median(edit_runs[1:])
    match = re.search(r"(\d+)(?:/\d+)? tests? collected", collected.stdout)
    errors = re.search(r"(\d+) errors?", collected.stdout.strip().splitlines()[-1] if collected.stdout.strip() else "")
    instances = sum(case["params"] or 1 for case in fresh["cases"])
    pytest_collected = int(match.group(1)) if match else None
    result: dict[str, Any] = {
        "root": str(root),
        "pytest_pythonpath": str(extra) if extra else None,
        "tests_defined": len(fresh["cases"]),
        "test_instances_static": instances,
        "pytest_collected": pytest_collected,
        "pytest_collection_errors": int(errors.group(1)) if errors else 0,
        "findings": len(fresh["findings"]),
        "edited_file": target.relative_to(root).as_posix(),
        "cache_hit_verified": cache_hit,
        "edit_cached_equals_no_cache": edit_equals_fresh,
        "collect_seconds": round(collect_s, 3),
        "collect_tests_per_second": round((pytest_collected or 0) / collect_s),
    }
    for mode, seconds in (("cold", cold_s), ("cached", cached_s), ("edit", edit_s)):
        result[f"scan_{mode}_seconds"] = round(seconds, 3)
        result[f"ratio_{mode}"] = round(collect_s / seconds, 2)
        result[f"scan_{mode}_tests_per_second"] = round(instances / seconds)
    return result


def _table(results: list[dict[str, Any]]) -> str:
    head = (f"{'tree':<10} {'defs':>5} {'inst':>6} {'pytest':>6} | {'pytest --co':>11} | {'scan cold':>16} | "
            f"{'scan cached':>16} | {'scan 1-file edit':>16}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in results:
        cells = [f"{r[f'scan_{m}_seconds']:6.2f}s {r[f'ratio_{m}']:5.1f}x" for m in ("cold", "cached", "edit")]
        name = Path(r["root"]).name
        lines.append(f"{name:<10} {r['tests_defined']:>5} {r['test_instances_static']:>6} {r['pytest_collected'] or 0:>6} | "
                     f"{r['collect_seconds']:10.2f}s | " + " | ".join(f"{c:>16}" for c in cells))  # fmt: skip
    lines.append("")
    lines.append(f"{'tests/s':<10} {'pytest':>12} {'cold':>10} {'cached':>10} {'edit':>10}  (scan: static instances)")
    for r in results:
        lines.append(f"{Path(r['root']).name:<10} {r['collect_tests_per_second']:>12,} {r['scan_cold_tests_per_second']:>10,} "
                     f"{r['scan_cached_tests_per_second']:>10,} {r['scan_edit_tests_per_second']:>10,}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on every tree; exit 2 on bad arguments, 1 if a command failed or a check did not hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path, help="project roots (default: the trees under /tmp/real)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=HERE / "reports" / "bench_scan_speed.json")
    parser.add_argument("--deps", action="append", default=[], help="ROOT=DIR: extra PYTHONPATH for pytest on ROOT")
    parser.add_argument("--edit", help="test file to edit, relative to each root (default: the one with most tests)")
    args = parser.parse_args(argv)
    roots = [root.resolve() for root in args.roots] or [Path(p) for p in DEFAULT_TREES if Path(p).is_dir()]
    deps = {}
    for item in args.deps:
        key, _, value = item.partition("=")
        if not value:
            print(f"scan_speed: --deps {item!r}: expected ROOT=DIR", file=sys.stderr)
            return 2
        deps[str(Path(key).resolve()) if "/" in key else key] = Path(value)
    missing = [str(root) for root in roots if not root.is_dir()]
    if missing or not roots:
        print(f"scan_speed: not a folder: {', '.join(missing) or 'no tree given'}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    results = []
    for root in roots:
        try:
            results.append(bench_tree(root, args, deps))
        except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as exc:
            print(f"scan_speed: {root}: {exc}", file=sys.stderr)
            return 1
        print(f"measured {root} ({args.repeat} runs each)", file=sys.stderr)
    report = {
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "python": sys.version.split()[0],
        "trees": results,
    }
    print(_table(results))
    checks_hold = all(r["cache_hit_verified"] and r["edit_cached_equals_no_cache"] for r in results)
    print("cache hit verified and edited-tree cache == --no-cache on every tree" if checks_hold else "CACHE CHECK FAILED")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0 if checks_hold else 1


if __name__ == "__main__":
    sys.exit(main())
