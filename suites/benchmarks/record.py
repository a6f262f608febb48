"""Merge benchmark numbers into reports/benchmarks.json, one entry per benchmark, with machine and command."""

from __future__ import annotations

import fcntl
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS_JSON = REPO_ROOT / "reports" / "benchmarks.json"
FORMAT_VERSION = 1


def machine() -> dict[str, Any]:
    """What the numbers were measured on: they only compare within one machine and one run."""
    versions = {}
    for package in ("mlx", "mlx-lm", "uvicorn", "httpx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": versions,
        "ci": os.environ.get("CI") == "true",
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def record(name: str, numbers: dict[str, Any], *, command: str | None = None, path: Path = BENCHMARKS_JSON) -> None:
    """Store ``numbers`` under ``name`` (replacing that entry only); safe with several writers at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "numbers": numbers,
        "command": command or " ".join([Path(sys.executable).name, *sys.argv]),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
    }
    # pytest-xdist workers and bench scripts may write at the same time: hold a lock across read-merge-write.
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            document = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except ValueError:
            document = {}  # a file broken by hand is rebuilt rather than blocking every later run
        benchmarks = document.get("benchmarks") if isinstance(document.get("benchmarks"), dict) else {}
        benchmarks[name] = entry
        document = {"format": FORMAT_VERSION, "benchmarks": dict(sorted(benchmarks.items()))}
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temp, path)
