"""Probe cost: ``auditor probe`` of this repo's suites in every mode vs one plain run of the same suites.

Measured in one invocation, one after the other on the same machine:

- ``plain``: ``pytest`` on each suite the auditor runs (the same paths, one process per suite, in the
  same order), as a developer runs them: no plugin, no json report;
- ``audit run``: ``auditor run`` (plugin on) to get the run the probe re-runs, timed for reference;
- ``probe``: ``auditor probe`` in every mode (``probe_modes`` and ``[tool.auditor.probes]``) with the
  default workers, on that run.

The ratio printed and written is probe ÷ plain; the target is at most 3. Kill counts per mode are
written as well, so a cheaper probe cannot hide a weaker one. Run it alone on the machine::

    flock /tmp/cpu.lock python bench/probe_cost.py [--workers N] [--output reports/bench_probe_cost.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 3.0


def _timed(command: list[str], log: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with open(log, "ab") as out:
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=7200,
                              check=False).returncode
    return time.perf_counter() - started, code


def main(argv: list[str] | None = None) -> int:
    """Measure, print the ratio and the kill counts, write the JSON; 1 when a run failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="probe sessions at once (default: CPU count)")
    parser.add_argument("--output", default=str(ROOT / "reports" / "bench_probe_cost.json"))
    args = parser.parse_args(argv)

    from auditor.config import read_config
    from auditor.probe.sessions import kill_counts
    from auditor.serialize import read_audit

    with tempfile.TemporaryDirectory(prefix="auditor-probe-cost-") as scratch_dir:
        scratch = Path(scratch_dir)
        log, audit_path = scratch / "log.txt", scratch / "audit.json"
        ran, run_code = _timed([sys.executable, "-m", "auditor", "run", "--no-progress", "-o", str(audit_path)], log)
        suites = [(s.name, list(s.paths)) for s in read_audit(audit_path).suites if s.source == "run"]
        plain, plain_codes = 0.0, {}
        for name, paths in suites:
            seconds, code = _timed([sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"], log)
            plain += seconds
            plain_codes[name] = code
        probe_command = [sys.executable, "-m", "auditor", "probe", "--no-progress", "--audit", str(audit_path)]
        if args.workers:
            probe_command += ["--workers", str(args.workers)]
        probed, probe_code = _timed(probe_command, log)
        audit = read_audit(audit_path)
        failed_log = log.read_text("utf-8", "replace")[-3000:] if run_code or probe_code else ""
    counts = kill_counts(audit)
    ratio = probed / plain
    result = {
        "benchmark": "probe_cost",
        "suites": dict(suites),
        "seconds": {"plain": round(plain, 2), "audit_run": round(ran, 2), "probe": round(probed, 2)},
        "ratio_probe_vs_plain": round(ratio, 3),
        "target": TARGET,
        "within_target": ratio <= TARGET,
        "modes": list(audit.probe_modes),
        "probe_sessions": audit.environment.get("probe_sessions"),
        "probe_problems": audit.environment.get("probe_problems"),
        "kill_counts": {mode: {c: list(cell) for c, cell in cells.items()} for mode, cells in counts.items()},
        "exit_codes": {"plain": plain_codes, "audit_run": run_code, "probe": probe_code},
        "workers": args.workers or os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "config_modes": [*read_config(ROOT).probe_modes, *(p.name for p in read_config(ROOT).probes)],
    }
    print(f"plain run   {plain:8.1f}s  ({', '.join(name for name, _ in suites)})")
    print(f"audit run   {ran:8.1f}s  (reference: the run the probe re-runs)")
    print(f"probe       {probed:8.1f}s  ({len(audit.probe_modes)} modes, {result['probe_sessions']} sessions)")
    for mode in audit.probe_modes:
        killed, judged = counts.get(mode, {}).get("total", (0, 0))
        print(f"  {mode:18} killed {killed:4}/{judged:<4}" + (f" ({killed / judged:.1%})" if judged else ""))
    print(f"probe cost ratio (probe / plain run): {ratio:.2f}  target <= {TARGET:g}: "
          f"{'met' if ratio <= TARGET else 'NOT met'}")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {output}")
    if failed_log:
        print(failed_log, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
