"""Plugin overhead: wall time of a suite under the auditor's plugin vs the same suite in plain pytest.

Both variants write a pytest-json-report file (the auditor always does), so the ratio isolates our
plugin: recording, the audit hook, assertion counting and the stream file. Runs alternate so machine
noise hits both alike; the medians are compared.

    python bench/plugin_overhead.py [--paths suites/smoke] [--repeat 3] [--output reports/plugin_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _once(paths: list[str], audited: bool, scratch: Path) -> tuple[float, int]:
    command = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "--json-report",
               f"--json-report-file={scratch / 'report.json'}"]
    env = dict(os.environ)
    if audited:
        command += ["--audit", f"--audit-stream={scratch / 'stream.jsonl'}", "-o", "enable_assertion_pass_hook=true",
                    "-W", "always::ResourceWarning"]
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pyc-audited")
    else:
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pyc-plain")
    (scratch / "stream.jsonl").unlink(missing_ok=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=1800, check=False)
    return time.perf_counter() - started, result.returncode


def main(argv: list[str] | None = None) -> int:
    """Measure, print the ratio, write the JSON; exit 0 unless a run could not be made at all."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", default=["suites/smoke"], help="test paths to run (relative to the repo)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (after one warm-up each)")
    parser.add_argument("--output", default=str(ROOT / "reports" / "plugin_overhead.json"))
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    times: dict[str, list[float]] = {"plain": [], "audited": []}
    codes: dict[str, set[int]] = {"plain": set(), "audited": set()}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        for variant in ("plain", "audited"):  # warm-up: pyc files and the OS cache for both
            _once(args.paths, variant == "audited", scratch)
        for _ in range(args.repeat):
            for variant in ("plain", "audited"):
                seconds, code = _once(args.paths, variant == "audited", scratch)
                times[variant].append(seconds)
                codes[variant].add(code)
    plain, audited = statistics.median(times["plain"]), statistics.median(times["audited"])
    result = {
        "benchmark": "plugin_overhead",
        "paths": args.paths,
        "repeat": args.repeat,
        "plain_seconds": times["plain"],
        "audited_seconds": times["audited"],
        "plain_median": plain,
        "audited_median": audited,
        "ratio": audited / plain,
        "exit_codes": {k: sorted(v) for k, v in codes.items()},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    print(f"plain pytest   median {plain:7.2f}s  {' '.join(f'{t:.2f}' for t in times['plain'])}")
    print(f"audited pytest median {audited:7.2f}s  {' '.join(f'{t:.2f}' for t in times['audited'])}")
    print(f"overhead ratio (audited / plain): {audited / plain:.3f}  on {' '.join(args.paths)}")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
