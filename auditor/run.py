"""Run: each suite as its own pytest subprocess, with a timeout that kills the whole process group.

The pytest exit code is kept as data (``SuiteResult.exit_code``), never passed through as ours.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from auditor.collect import Inventory
from auditor.config import AuditConfig, SuiteConfig
from auditor.exceptions import RunError
from auditor.model import SuiteResult
from auditor.observe import outcomes_from_report

#: pytest exit codes -> suite status (5 = nothing collected).
_STATUS = {0: "completed", 1: "failed", 2: "error", 3: "error", 4: "error", 5: "no_tests"}


def default_suites(config: AuditConfig, inventory: Inventory) -> tuple[SuiteConfig, ...]:
    """Configured suites, else one per category, over the folders that hold its tests."""
    if config.suites:
        return config.suites
    folders: dict[str, set[str]] = defaultdict(set)
    for case in inventory.cases:
        if case.collectable:
            folders[case.category].add(str(PurePosixPath(case.path).parent))
    suites = []
    for category, paths in sorted(folders.items()):
        # keep only the outermost folders, so no test is run twice
        outer = sorted(p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in paths))
        suites.append(SuiteConfig(name=category, paths=tuple(outer), category=category, timeout=config.suite_timeout))
    return tuple(suites)


def run_suites(config: AuditConfig, inventory: Inventory, *, progress: bool = False, only: Sequence[str] = ()) -> tuple[SuiteResult, ...]:
    """Run every suite (or those named in ``only``) one after the other."""
    suites = default_suites(config, inventory)
    unknown = set(only) - {s.name for s in suites}
    if unknown:
        raise RunError(f"no suite named {', '.join(sorted(unknown))} (suites: {', '.join(s.name for s in suites)})")
    cases = {case.id: case for case in inventory.cases}
    results = []
    for suite in suites:
        if only and suite.name not in only:
            continue
        if progress:
            print(f"auditor: running suite {suite.name} ({', '.join(suite.paths) or suite.markers})", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="auditor-") as scratch:
            result = run_pytest(suite, root=config.root, json_path=Path(scratch) / "report.json", cases=cases)
        if progress:
            print(f"auditor: suite {suite.name}: {result.status} in {result.duration:.1f}s, {len(result.outcomes)} results",
                  file=sys.stderr, flush=True)
        results.append(result)
    return tuple(results)


def run_pytest(
    suite: SuiteConfig,
    *,
    root: Path,
    json_path: Path,
    node_ids: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cases: Mapping | None = None,
) -> SuiteResult:
    """One pytest subprocess over ``suite`` (or just ``node_ids``); partial results survive a timeout."""
    command = [sys.executable, "-m", "pytest", *(node_ids or suite.paths), "-q", "-p", "no:cacheprovider",
               "--json-report", f"--json-report-file={json_path}", "--audit", "-o", "enable_assertion_pass_hook=true",
               *suite.args, *extra_args]
    if suite.markers and not node_ids:
        command += ["-m", suite.markers]
    # Rewritten test modules compiled with the assertion-pass hook must not mix with ordinary pyc files.
    pycache = Path(tempfile.gettempdir()) / "auditor-pycache"
    environment = {**os.environ, "PYTHONPYCACHEPREFIX": str(pycache), **suite.env, **(env or {})}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=root, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=suite.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        timed_out = True
    duration = time.monotonic() - started
    report = _read_report(json_path)
    code = process.returncode
    if timed_out:
        status = "timed_out"
    elif code is not None and code < 0:
        status = "crashed"
    else:
        status = _STATUS.get(code, "crashed")
    summary = report.get("summary", {})
    message = None
    if status in ("error", "crashed") and stderr:
        message = stderr.decode("utf-8", "replace").strip().splitlines()[-1][:300] if stderr.strip() else None
    return SuiteResult(
        name=suite.name, category=suite.category, paths=tuple(suite.paths), status=status, exit_code=code,
        duration=duration, collected=int(summary.get("collected", 0)), deselected=int(summary.get("deselected", 0)),
        outcomes=outcomes_from_report(report, suite.name, dict(cases or {})), command=tuple(command), message=message,
    )


def _read_report(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
