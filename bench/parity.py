"""Outcome parity: plain ``pytest`` (in a venv without the auditor) against ``auditor run``, on public projects.

For each project (default: requests and httpx at pinned versions, their published source distributions
fetched with ``pip download --no-deps --no-binary :all:``, or a local checkout given as ``NAME=PATH``):

1. two virtualenvs, cached under ``~/.cache/auditor-parity``: ``plain`` (the project, its extras and its test
   requirements) and ``audited`` (the same, plus this repository installed editable with the auditor's
   own dependencies, never the reference server's);
2. a fresh copy of the source for each run (so no ``.pytest_cache`` or file a run leaves behind is seen by the
   other), then ``auditor run`` in one and, in the other, plain ``python -m pytest`` over the same paths
   (one session per suite the auditor ran). The plain run's outcomes are read by a 40-line observer plugin
   (``-p``) that only reads pytest's own reports (``pytest_report_teststatus``, as the terminal counts them);
3. prints every node id whose first-attempt outcome differs (must be none), the funnel of the audit with
   static and collected counts side by side on every row and why they differ, and what the auditor adds
   to an install (``du`` of site-packages, audited minus plain).

    python bench/parity.py                                  # requests 2.34.2 and httpx 0.29.0
    python bench/parity.py requests httpx==0.29.0 myproj=/path/to/checkout --output reports/parity.json

Exit 0 when every project ran and no outcome differs; 1 when one differs; 2 when a project could not be set up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "auditor-parity"

#: Pinned projects: their extras and test requirements, as their own development requirements say.
PROJECTS: dict[str, dict] = {
    "requests": {
        "version": "2.34.2",
        "extras": "socks",
        # requirements-dev.txt and [project.optional-dependencies] test (pytest-cov and -xdist left out: unused here)
        "test_deps": ["pytest", "pytest-httpbin==2.1.0", "httpbin~=0.10.0", "pytest-mock", "trustme", "wheel"],
    },
    "httpx": {
        "version": "0.29.0",
        "extras": "brotli,cli,http2,socks,zstd",
        # its development requirements.txt: the test tools (docs, packaging and lint tools left out)
        "test_deps": ["pytest", "chardet", "cryptography", "trio", "trustme", "uvicorn"],
    },
}

#: The reference server's packages: never part of what the auditor needs in a user's venv.
SERVER_ONLY = {"mlx", "mlx-lm", "fastapi", "uvicorn", "transformers", "tokenizers"}

OBSERVER = '''\
"""Parity observer: per-test outcome exactly as pytest's own reports categorise it. Changes nothing."""
import json, os

_PATH = os.environ["AUDITOR_PARITY_OUT"]
_PHASES = {}
_CONFIG = []


def pytest_configure(config):
    _CONFIG.append(config)


def pytest_deselected(items):
    with open(_PATH, "a", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps({"nodeid": item.nodeid, "outcome": "deselected"}) + "\\n")


def pytest_runtest_logreport(report):
    config = _CONFIG[-1]
    category = config.hook.pytest_report_teststatus(report=report, config=config)[0]
    _PHASES.setdefault(report.nodeid, {})[report.when] = (category, report)
    if report.when == "teardown":
        phases = _PHASES.pop(report.nodeid)
        with open(_PATH, "a", encoding="utf-8") as out:
            out.write(json.dumps({"nodeid": report.nodeid, "outcome": _outcome(phases)}) + "\\n")


def _outcome(phases):
    setup, call, teardown = (phases.get(w, (None, None)) for w in ("setup", "call", "teardown"))
    if setup[1] is not None and setup[1].failed:
        return "error"
    if setup[1] is not None and setup[1].skipped:
        return "xfailed" if setup[0] == "xfailed" else "skipped"
    if call[1] is not None and call[0] in ("failed", "skipped", "xfailed", "xpassed", "error"):
        return call[0]
    if teardown[1] is not None and teardown[1].failed:
        return "error"
    return "passed" if call[1] is not None else "error"
'''


def sh(command: list[str], *, cwd: Path | None = None, env: dict | None = None, log: Path | None = None,
       timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run a command; its output goes to ``log`` (appended) when given."""
    if log is None:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        return subprocess.run(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, check=False)


def say(message: str) -> None:
    print(message, flush=True)


def parse_spec(spec: str) -> tuple[str, str | None, Path | None]:
    """``name``, ``name==version`` or ``name=PATH`` (a local checkout)."""
    if "==" in spec:
        name, version = spec.split("==", 1)
        return name, version, None
    if "=" in spec:
        name, path = spec.split("=", 1)
        return name, None, Path(path).resolve()
    return spec, PROJECTS.get(spec, {}).get("version"), None


def source_tree(name: str, version: str | None, checkout: Path | None, log: Path) -> Path:
    """The pristine source: a local checkout, or the sdist unpacked once into the cache."""
    if checkout is not None:
        return checkout
    if version is None:
        raise SystemExit(f"parity: give a version for {name} ({name}==VERSION) or a checkout ({name}=PATH)")
    target = CACHE / "src" / f"{name}-{version}"
    if (target / ".unpacked").exists():
        return target
    downloads = CACHE / "sdist"
    downloads.mkdir(parents=True, exist_ok=True)
    done = sh([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"{name}=={version}",
               "-d", str(downloads)], log=log)
    if done.returncode:
        raise SystemExit(f"parity: pip download {name}=={version} failed (see {log})")
    archive = next(p for p in downloads.iterdir() if p.name.lower().startswith(f"{name.lower()}-{version}")
                   and p.name.endswith((".tar.gz", ".zip")))
    shutil.rmtree(target, ignore_errors=True)
    unpack = CACHE / "src" / f".unpack-{name}"
    shutil.rmtree(unpack, ignore_errors=True)
    if archive.suffix == ".zip":
        shutil.unpack_archive(str(archive), str(unpack), filter="data")
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(unpack, filter="data")
    inner = next(unpack.iterdir())
    inner.rename(target)
    shutil.rmtree(unpack, ignore_errors=True)
    (target / ".unpacked").touch()
    return target


def auditor_requirements() -> list[str]:
    """The auditor's own dependencies (its pyproject), without the reference server's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    keep = []
    for requirement in project["dependencies"]:
        name = requirement.split(";")[0].split("[")[0]
        for stop in "<>=!~ ":
            name = name.split(stop)[0]
        if name.strip().lower() not in SERVER_ONLY:
            keep.append(requirement)
    return keep


def make_venv(kind: str, name: str, key: str, source: Path, spec: dict, log: Path) -> Path:
    """A cached venv: the project (editable from ``source``), its extras, its test requirements; ``audited`` adds us."""
    venv = CACHE / "venvs" / f"{key}-{kind}"
    stamp = venv / ".parity-ready"
    if stamp.exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    say(f"  creating the {kind} venv of {name} ({venv})")
    steps = [[sys.executable, "-m", "venv", str(venv)]]
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    extras = f"[{spec['extras']}]" if spec.get("extras") else ""
    # Installed from the pristine source, not editable: the runs use copies of it, and a copy's own
    # package (found first on sys.path from the project root) is what the tests import either way.
    steps.append([*pip, f"{source}{extras}", *spec.get("test_deps", ["pytest"])])
    if kind == "audited":
        steps.append([*pip, "--no-deps", "-e", str(ROOT)])
        steps.append([*pip, *auditor_requirements()])
    for step in steps:
        if sh(step, log=log).returncode:
            raise SystemExit(f"parity: `{' '.join(step[:6])} ...` failed (see {log})")
    stamp.touch()
    return venv


def site_packages_bytes(venv: Path) -> int:
    lib = next((venv / "lib").glob("python*/site-packages"))
    done = sh(["du", "-sb", str(lib)])
    return int(done.stdout.split()[0]) if done.returncode == 0 and done.stdout else 0


def fresh_copy(source: Path, work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, symlinks=True, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__",
                                                                                 ".auditor_cache", "reports"))
    return work


def run_audited(venv: Path, work: Path, log: Path, timeout: float) -> tuple[dict, float]:
    out = work.parent / f"{work.name}-audit.json"
    out.unlink(missing_ok=True)
    started = time.monotonic()
    sh([str(venv / "bin" / "auditor"), "run", "--no-progress", "-o", str(out)], cwd=work, log=log, timeout=timeout)
    seconds = time.monotonic() - started
    if not out.exists():
        raise SystemExit(f"parity: auditor run wrote no audit (see {log})")
    return json.loads(out.read_text(encoding="utf-8")), seconds


def run_plain(venv: Path, work: Path, suites: list[dict], log: Path, timeout: float) -> tuple[dict[str, str], float]:
    """Plain pytest over each suite's paths (and marker expression), outcomes read by the observer plugin."""
    plugin_dir = work.parent / f"{work.name}-observer"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / "auditor_parity_observer.py").write_text(OBSERVER, encoding="utf-8")
    results = work.parent / f"{work.name}-outcomes.jsonl"
    results.unlink(missing_ok=True)
    env = {**os.environ, "AUDITOR_PARITY_OUT": str(results),
           "PYTHONPATH": os.pathsep.join(p for p in (str(plugin_dir), os.environ.get("PYTHONPATH")) if p)}
    started = time.monotonic()
    for suite in suites:
        if suite["status"] == "not_run" or not suite.get("command"):
            continue
        command = [str(venv / "bin" / "python"), "-m", "pytest", *suite["paths"], "-p", "auditor_parity_observer"]
        audited = suite["command"][3:]  # after `python -m pytest`
        if "-m" in audited:
            command += ["-m", audited[audited.index("-m") + 1]]
        sh(command, cwd=work, env=env, log=log, timeout=timeout)
    seconds = time.monotonic() - started
    outcomes: dict[str, str] = {}
    if results.exists():
        for line in results.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if outcomes.get(record["nodeid"]) in (None, "deselected"):
                outcomes[record["nodeid"]] = record["outcome"]
    return outcomes, seconds


def audited_outcomes(audit: dict) -> dict[str, str]:
    """First-attempt outcome per node id pytest reported in the audited run (deselected ones as such)."""
    outcomes: dict[str, str] = {}
    for suite in audit["suites"]:
        if suite.get("source") != "run" or suite["status"] == "not_run":
            continue
        for outcome in suite["outcomes"]:
            status = outcome["status"]
            if status == "not_run":
                if outcome.get("reason") != "deselected":
                    continue
                status = "deselected"
            if outcomes.get(outcome["node_id"]) in (None, "deselected"):
                outcomes[outcome["node_id"]] = status
    return outcomes


def compare(plain: dict[str, str], audited: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(node, plain.get(node, "absent"), audited.get(node, "absent"))
            for node in sorted(set(plain) | set(audited)) if plain.get(node) != audited.get(node)]


FUNNEL_KEYS = ("static", "created", "collectable", "collected", "run", "passed", "deselected", "skipped",
               "skipped_platform", "skipped_dependency", "not_run")


def funnel_lines(audit: dict) -> list[str]:
    """The funnel of every row, static beside collected, and why they differ (the reports' own words)."""
    sys.path.insert(0, str(ROOT))
    from auditor.model import Tally
    from auditor.serialize import from_dict
    from auditor.status.summary import funnel_gap

    header = f"  {'category':10} " + " ".join(f"{k.replace('skipped_', 'skip_'):>15}" for k in FUNNEL_KEYS)
    lines = [header]
    for data in audit["tallies"]:
        tally = from_dict(Tally, data)
        cells = []
        for key in FUNNEL_KEYS:
            value = getattr(tally, key)
            if (key == "static" and tally.static_unreadable) or (key == "created" and tally.created_lower_bound):
                value = f">={value}"
            cells.append(f"{value!s:>15}")
        lines.append(f"  {tally.category:10} " + " ".join(cells))
        lines.append(f"  {'':10}   static {tally.static} -> collected {tally.collected}: {funnel_gap(tally) or 'equal'}")
    return lines


def check_project(spec_text: str, args: argparse.Namespace) -> dict:
    name, version, checkout = parse_spec(spec_text)
    spec = dict(PROJECTS.get(name, {"test_deps": ["pytest"]}))
    key = f"{name}-{version or 'checkout'}"
    logs = CACHE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{key}.log"
    log.write_text("", encoding="utf-8")
    say(f"{name} {version or checkout}: log {log}")
    source = source_tree(name, version, checkout, log)
    plain_venv = make_venv("plain", name, key, source, spec, log)
    audited_venv = make_venv("audited", name, key, source, spec, log)
    if args.setup_only:
        return {"project": name, "version": version, "differences": []}
    work = CACHE / "work" / key
    work.mkdir(parents=True, exist_ok=True)
    # The same folder for both runs (a fresh copy each time): node ids may embed a path (requests' do).
    audit, audited_seconds = run_audited(audited_venv, fresh_copy(source, work / name), log, args.timeout)
    plain, plain_seconds = run_plain(plain_venv, fresh_copy(source, work / name), audit["suites"], log, args.timeout)
    audited = audited_outcomes(audit)
    differences = compare(plain, audited)
    plain_size, audited_size = site_packages_bytes(plain_venv), site_packages_bytes(audited_venv)
    counts: dict[str, int] = {}
    for status in plain.values():
        counts[status] = counts.get(status, 0) + 1
    say(f"{name} {version or checkout}: {len(plain)} tests by plain pytest ({plain_seconds:.1f}s), "
        f"{len(audited)} by auditor run ({audited_seconds:.1f}s); outcomes {json.dumps(counts, sort_keys=True)}")
    say(f"  first-attempt outcome differences: {len(differences)}")
    for node, before, after in differences:
        say(f"    {node}: plain {before}, auditor {after}")
    say("  funnel (audit.json tallies; static = the scan's count, created = pytest's where it collected the test):")
    for line in funnel_lines(audit):
        say(line)
    say(f"  site-packages: plain {plain_size / 1e6:.1f} MB, with the auditor {audited_size / 1e6:.1f} MB "
        f"(+{(audited_size - plain_size) / 1e6:.1f} MB)")
    return {"project": name, "version": version, "checkout": str(checkout) if checkout else None,
            "plain_tests": len(plain), "audited_tests": len(audited), "outcomes": counts,
            "differences": [{"node_id": n, "plain": b, "auditor": a} for n, b, a in differences],
            "plain_seconds": round(plain_seconds, 1), "audited_seconds": round(audited_seconds, 1),
            "tallies": audit["tallies"], "site_packages_bytes": {"plain": plain_size, "audited": audited_size}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", default=[f"{n}=={p['version']}" for n, p in PROJECTS.items()],
                        help="NAME, NAME==VERSION or NAME=PATH (default: requests and httpx at their pinned versions)")
    parser.add_argument("--output", default=None, help="also write the results as JSON here")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per pytest run")
    parser.add_argument("--setup-only", action="store_true", help="only fetch the sources and build the venvs")
    args = parser.parse_args(argv)
    results = []
    try:
        for spec in args.projects:
            results.append(check_project(spec, args))
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"python": sys.version.split()[0], "platform": platform.platform(),
                                                 "results": results}, indent=2) + "\n", encoding="utf-8")
    return 1 if any(r["differences"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
