"""Observation overhead: the audited run of the suites vs plain ``pytest`` on the same suites.

Three variants, each a fresh subprocess, alternating so machine noise hits all alike (medians compared):

- ``plain``: ``pytest PATHS`` as a developer runs it (no json report, no plugin);
- ``plugin``: the same pytest run with pytest-json-report and ``--audit`` (recording, the audit hook,
  assertion counting, the stream file): the cost of observation alone;
- ``auditor``: ``auditor run`` end to end (inventory, one pytest subprocess per configured suite,
  observation, analysis, the audit JSON): what a user actually waits for. Only measured when PATHS
  are the configured suites' paths (the default), so both sides run the same tests.

    python bench/plugin_overhead.py [--paths suites] [--repeat 3] [--output reports/plugin_overhead.json]
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
sys.path.insert(0, str(ROOT))


def _once(paths: list[str], variant: str, scratch: Path) -> tuple[float, int]:
    # Every variant gets the developer's own environment: `auditor run` adds nothing to it (pyc files are
    # shared with plain pytest, since the audited run compiles test modules exactly as plain pytest does).
    env = dict(os.environ)
    if variant == "auditor":
        command = [sys.executable, "-m", "auditor", "run", "--no-progress", "-o", str(scratch / "audit.json")]
    else:
        command = [sys.executable, "-m", "pytest", *paths]
    if variant == "plugin":
        # What `auditor run` adds to its pytest command line (auditor/run/runner.py pytest_command).
        command += ["--json-report", f"--json-report-file={scratch / 'report.json'}", "--audit",
                    f"--audit-stream={scratch / 'stream.jsonl'}"]
    (scratch / "stream.jsonl").unlink(missing_ok=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=1800, check=False)
    return time.perf_counter() - started, result.returncode


def main(argv: list[str] | None = None) -> int:
    """Measure, print the ratio, write the JSON; exit 0 unless a run could not be made at all."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", default=None, help="test paths to run (default: the configured suites' paths)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (after one warm-up each)")
    parser.add_argument("--output", default=str(ROOT / "reports" / "plugin_overhead.json"))
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    configured = _configured_paths()
    paths = args.paths or configured
    variants = ["plain", "plugin"] + (["auditor"] if sorted(paths) == sorted(configured) else [])
    times: dict[str, list[float]] = {v: [] for v in variants}
    codes: dict[str, set[int]] = {v: set() for v in variants}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        for variant in variants:  # warm-up: pyc files and the OS cache for every variant
            _once(paths, variant, scratch)
        for _ in range(args.repeat):
            for variant in variants:
                seconds, code = _once(paths, variant, scratch)
                times[variant].append(seconds)
                codes[variant].add(code)
    medians = {v: statistics.median(times[v]) for v in variants}
    ratios = {v: medians[v] / medians["plain"] for v in variants if v != "plain"}
    result = {
        "benchmark": "plugin_overhead",
        "paths": paths,
        "repeat": args.repeat,
        "seconds": times,
        "medians": medians,
        "ratios_vs_plain": ratios,
        "exit_codes": {k: sorted(v) for k, v in codes.items()},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    for variant in variants:
        print(f"{variant:8} median {medians[variant]:7.2f}s  {' '.join(f'{t:.2f}' for t in times[variant])}")
    for variant, ratio in ratios.items():
        print(f"overhead ratio ({variant} / plain pytest): {ratio:.3f}  on {' '.join(paths)}")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {output}")
    return 0


def _configured_paths() -> list[str]:
    from auditor.config import read_config

    config = read_config(ROOT)
    return sorted({path for suite in config.suites for path in suite.paths} or set(config.paths))


if __name__ == "__main__":
    sys.exit(main())
