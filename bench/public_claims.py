"""The auditor's runtime and probe verdicts on public projects' own suites, with hand verdicts (issue 16).

For each project of a small pinned list (two HTTP client libraries, requests and httpx, and one application
whose tests start its own server and call it over real HTTP with a client it does not own: uvicorn, whose
tests drive a live uvicorn with httpx2), this script

1. downloads the published sdist (``pip download --no-deps --no-binary :all: NAME==VERSION``) into
   ``~/.cache/auditor-public/sdist`` (nothing of these projects is committed here), unpacks it once into
   ``~/.cache/auditor-public/src`` and copies it afresh into a scratch folder for every run;
2. builds a cached venv per project (``~/.cache/auditor-public/venvs``): the project from its sdist with its
   extras and its test requirements, as the project's own development requirements name them (what was
   resolved is recorded as ``pip freeze`` in the output JSON);
3. installs the auditor under test, non-editable, as a user would: a wheel built from a copy of
   ``--auditor=PATH`` (default: the checkout this script lives in; a git checkout's tracked and untracked,
   not ignored, files, so uncommitted changes count and the checkout itself is never written to);
4. appends a minimal ``[tool.auditor]`` table to the scratch copy's ``pyproject.toml`` (one suite, the
   deselections below, bounded timeouts, no re-runs) and runs ``auditor audit --no-gate`` (probes on, every
   built-in mode), then ``auditor gate --write-baseline`` for the "vacuous" verdicts exactly as the gate
   sees them;
5. prints per project the counts and every AUD201, AUD301, other AUD30x and "vacuous" verdict
   (``project | rule | severity | test id | message``, sorted), and writes them all to ``--output`` (JSON).

Deselected tests (never run): tests that need the Internet or would send traffic to a host that is not this
machine's loopback (see ``deselect`` of each project, each with its reason). A project run is bounded by
``--timeout`` (default 25 minutes, the pytest process groups are killed after it) and by ``suite_timeout``.

Hand verdicts: ``--verdicts FILE`` (default ``bench/public_verdicts.json`` beside this script when it
exists; ``--verdicts none`` for none) is ``{"verdicts": [{"project", "test_id", "rule", "verdict":
"true"|"false", "why"}]}``. A verdict matches a finding by project + test id + rule: the rule as an id
(``AUD301``), a slug (``proven-vacuous``) or ``vacuous``; the test id exactly, or as a wildcard pattern
(``*`` and ``?`` only: ``tests/x.py::test_y[*]``), or the verdict's id without parameters when the finding's
id has them. HIGH = severity ``high``, and every "vacuous" gate verdict (it fails the gate like a HIGH finding
does). The script prints, per project, how many HIGH findings are false / true / without a verdict, and lists
the HIGH findings that have none (a newer auditor may raise new ones: judge them and add them to the file).
Besides AUD201, AUD30x and "vacuous", any other HIGH finding of runtime or probe origin is listed too.

    python bench/public_claims.py                                  # all three projects, this checkout
    python bench/public_claims.py --auditor=/path/to/checkout --only requests
    python bench/public_claims.py --auditor=/path/to/checkout --auditor-rev=HEAD   # its last commit, not its work tree
    python bench/public_claims.py --report-only                   # re-read the last audits, no run
    python bench/public_claims.py --setup-only                    # fetch + venvs, no audit

Exit 0 when every project ran and no HIGH finding has a "false" hand verdict; 1 when one has; 2 when a
project could not be set up or run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_AUDITOR = HERE.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "auditor-public"
DEFAULT_VERDICTS = HERE / "public_verdicts.json"

#: The verdicts listed: AUD201, every probe rule (AUD30x) and the gate's "vacuous" verdict.
def listed_rule(rule: str) -> bool:
    return rule == "AUD201" or rule.startswith("AUD30") or rule == "vacuous"


#: Slugs of the listed rules (a verdict may name either).
SLUGS = {
    "passed-on-5xx": "AUD201", "proven-vacuous": "AUD301", "semantics-unchecked": "AUD302",
    "performance-unchecked": "AUD303", "truncation-unchecked": "AUD304", "echo-accepted": "AUD305",
    "fault-undetected": "AUD306",
}

#: Sample size per (project, rule) when a kind has more than SAMPLE_ABOVE findings in one project.
SAMPLE_ABOVE = 150
SAMPLE_SIZE = 60

#: Pinned projects. ``install``: the project from its unpacked sdist ({src}) with its extras; ``test_deps``:
#: its own test requirements; ``deselect``: node ids (or ``-k``/``--ignore`` args) not run, each with why.
PROJECTS: dict[str, dict] = {
    "requests": {
        "version": "2.34.2",
        "install": ["{src}[socks]"],
        # requirements-dev.txt of the sdist (pytest-cov left out: unused), plus pytest-mock (tests use `mocker`)
        "test_deps": ["pytest>=2.8.0,<10", "pytest-httpbin==2.1.0", "httpbin~=0.10.0", "pytest-mock", "trustme",
                      "wheel"],
        "paths": ["tests"],
        "args": [],
        "deselect": [
            ("tests/test_requests.py::TestTimeout::test_connect_timeout",
             "connects to TARPIT = http://10.255.255.1, a private address off this machine"),
            ("tests/test_requests.py::TestTimeout::test_total_timeout_connect",
             "connects to TARPIT = http://10.255.255.1, a private address off this machine"),
            ("tests/test_requests.py::TestRequests::test_errors[http://doesnotexist.google.com-ConnectionError]",
             "resolves a public host name (needs the Internet's DNS)"),
            ("tests/test_requests.py::TestRequests::test_proxy_error",
             "resolves the proxy host name 'non-resolvable-address' through the network's DNS"),
        ],
    },
    "httpx": {
        "version": "0.29.0",
        "install": ["{src}[brotli,cli,http2,socks,zstd]"],
        # the test tools of httpx's requirements.txt (not in the sdist; docs, packaging and lint tools left out)
        "test_deps": ["pytest", "chardet", "cryptography", "trio", "trustme", "uvicorn"],
        "paths": ["tests"],
        # httpx's own marker for tests that need a network connection
        "args": ["-m", "not network"],
        "deselect": [],
    },
    "uvicorn": {
        "version": "0.55.0",
        "install": ["{src}[standard]"],
        # [dependency-groups] dev of its pyproject, the test tools (ruff, mypy, types-*, coverage*, twine left out)
        "test_deps": ["pytest>=9.1.1", "pytest-mock==3.17.0", "pytest-xdist[psutil]==3.8.0", "pytest-codspeed>=4.1.1",
                      "trustme==1.2.1", "cryptography>=44.0.3", "httpx2", "a2wsgi==1.10.10", "wsproto==1.3.2",
                      "zttp>=0.0.34",
                      # not uvicorn's: fails a test body after 30 s (its slowest passes in a few). Under a mode
                      # that answers without the server, tests that await an event the server sets when the request
                      # arrives (tests/supervisors/test_signal.py) wait forever, and the auditor's probe sessions
                      # have no per-test watchdog (only suite timeout x modes). timeout_func_only: the timer is set
                      # per call phase, so every mode the probe runs on the item is bounded, not only the first.
                      "pytest-timeout==2.4.0"],
        "paths": ["tests"],
        # its addopts say `-n 8` (pytest-xdist): one process here, as the auditor observes each test in-process
        "args": ["-n", "0", "--timeout", "30", "-o", "timeout_func_only=true"],
        "deselect": [],
    },
}


# ----------------------------------------------------------------------------------------------- helpers

def say(message: str = "") -> None:
    print(message, flush=True)


def sh(command: list[str], *, cwd: Path | None = None, env: dict | None = None, log: Path | None = None,
       timeout: float = 3600) -> int:
    """Run a command in its own process group (killed whole on timeout); output appended to ``log``."""
    handle = open(log, "a", encoding="utf-8") if log else subprocess.DEVNULL
    try:
        if log:
            handle.write(f"\n$ {' '.join(map(str, command))}\n")
            handle.flush()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"  timed out after {timeout:.0f} s: {' '.join(map(str, command[:4]))} ... (process group killed)")
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=20)
                    break
                except subprocess.TimeoutExpired:
                    continue
            return 124
    finally:
        if log:
            handle.close()


def find_python(wanted: str) -> str:
    """The real interpreter behind ``wanted`` (a pyenv shim answers only for its selected version)."""
    candidates = [wanted]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if re.fullmatch(r"python3\.\d+", wanted) and pyenv.is_dir():
        candidates += [str(p) for p in sorted(pyenv.glob(f"{wanted[6:]}*/bin/{wanted}"), reverse=True)]
    for candidate in candidates:
        done = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                              check=False) if shutil.which(candidate) or Path(candidate).exists() else None
        if done is not None and done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    raise SystemExit(f"public_claims: no working {wanted} (give --python)")


# ------------------------------------------------------------------------------------------------ set-up

def source_tree(name: str, version: str, log: Path) -> Path:
    """The sdist, downloaded once and unpacked once into the cache (pristine: runs use copies)."""
    target = CACHE / "src" / f"{name}-{version}"
    if (target / ".unpacked").exists():
        return target
    downloads = CACHE / "sdist"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = _archive(downloads, name, version)
    if archive is None:
        code = sh([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   f"{name}=={version}", "-d", str(downloads)], log=log, timeout=600)
        archive = _archive(downloads, name, version)
        if code or archive is None:
            raise SystemExit(f"public_claims: pip download {name}=={version} failed (see {log})")
    shutil.rmtree(target, ignore_errors=True)
    unpack = CACHE / "src" / f".unpack-{name}"
    shutil.rmtree(unpack, ignore_errors=True)
    if archive.name.endswith(".zip"):
        shutil.unpack_archive(str(archive), str(unpack))
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(unpack, filter="data")
    next(unpack.iterdir()).rename(target)
    shutil.rmtree(unpack, ignore_errors=True)
    if not (target / "tests").is_dir():
        raise SystemExit(f"public_claims: the sdist of {name}=={version} ships no tests/ folder")
    (target / ".unpacked").touch()
    return target


def _archive(folder: Path, name: str, version: str) -> Path | None:
    stem = re.escape(name).replace(r"\-", "[-_]").replace("_", "[-_]")
    pattern = re.compile(rf"^{stem}-{re.escape(version)}\.(tar\.gz|zip)$", re.I)
    return next((path for path in sorted(folder.iterdir()) if pattern.match(path.name)), None)


def project_venv(name: str, spec: dict, source: Path, python: str, log: Path) -> Path:
    """A cached venv with the project and its test requirements (the auditor is installed per run)."""
    tag = Path(python).name
    venv = CACHE / "venvs" / f"{name}-{spec['version']}-{tag}"
    stamp = venv / ".public-ready"
    wanted = json.dumps({"install": spec["install"], "test_deps": spec["test_deps"], "python": python})
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    say(f"  creating {venv}")
    steps = [[python, "-m", "venv", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
              *[item.format(src=source) for item in spec["install"]], *spec["test_deps"]]]
    for step in steps:
        if sh(step, log=log, timeout=1800):
            raise SystemExit(f"public_claims: `{' '.join(step[:7])} ...` failed (see {log})")
    stamp.write_text(wanted, encoding="utf-8")
    return venv


def auditor_wheel(checkout: Path, rev: str | None, log: Path) -> Path:
    """A wheel of the auditor built from a copy of ``checkout`` (its work tree, or commit ``rev`` of it).

    The checkout is never written to: the wheel is built from the copy.
    """
    if not (checkout / "pyproject.toml").exists():
        raise SystemExit(f"public_claims: --auditor {checkout} has no pyproject.toml")
    copy = CACHE / "auditor-src"
    shutil.rmtree(copy, ignore_errors=True)
    if rev:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                                capture_output=True, text=True, check=False).stdout.strip()
        if not commit:
            raise SystemExit(f"public_claims: --auditor-rev {rev} is no commit of {checkout}")
        copy.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(checkout), "archive", "--format=tar", commit],
                                 capture_output=True, check=False)
        if archive.returncode:
            raise SystemExit(f"public_claims: git archive {commit} failed: {archive.stderr.decode()[:300]}")
        subprocess.run(["tar", "-x", "-C", str(copy)], input=archive.stdout, check=True)
        (CACHE / "auditor-src.commit").write_text(commit)
        return _build_wheel(copy, checkout, log)
    listed = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        for rel in listed.stdout.decode().split("\0"):
            src = checkout / rel
            if rel and src.is_file():
                (copy / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, copy / rel)
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False).stdout.strip()
        (CACHE / "auditor-src.commit").write_text(commit + (" (with uncommitted changes)" if dirty else ""))
    else:
        shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns(
            ".git", ".venv", "venv", "build", "dist", "*.egg-info", "reports", ".cache", "__pycache__",
            ".pytest_cache", ".auditor_cache"))
        (CACHE / "auditor-src.commit").write_text("(not a git checkout)")
    return _build_wheel(copy, checkout, log)


def _build_wheel(copy: Path, checkout: Path, log: Path) -> Path:
    wheels = CACHE / "auditor-wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    if sh([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(copy), "-w", str(wheels)], log=log,
          timeout=900):
        raise SystemExit(f"public_claims: building the auditor's wheel from {checkout} failed (see {log})")
    return next(wheels.glob("*.whl"))


def install_auditor(venv: Path, wheel: Path, log: Path) -> str:
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    for step in ([*pip, "--force-reinstall", "--no-deps", str(wheel)], [*pip, str(wheel)]):
        if sh(step, log=log, timeout=900):
            raise SystemExit(f"public_claims: installing the auditor into {venv} failed (see {log})")
    done = subprocess.run([str(venv / "bin" / "auditor"), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip()


def freeze(venv: Path) -> list[str]:
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"], capture_output=True,
                          text=True, check=False)
    return [line for line in done.stdout.splitlines() if line and not line.startswith("#")]


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def write_config(work: Path, name: str, spec: dict, args: argparse.Namespace) -> None:
    """Append the minimal ``[tool.auditor]`` table: one suite, the deselections, bounded timeouts, no re-runs."""
    pyproject = work / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    if re.search(r"^\[tool\.auditor[\].]", text, re.M):
        raise SystemExit(f"public_claims: {name} already has a [tool.auditor] table")
    suite_args = list(spec["args"])
    for node, _why in spec["deselect"]:
        suite_args += ["--deselect", node]
    text += (
        "\n\n# Written by the auditor's bench/public_claims.py for this scratch copy only.\n"
        "[tool.auditor]\n"
        f"paths = {toml_list(spec['paths'])}\n"
        'report_dir = "auditor-reports"\n'
        "reruns = 0\n"
        f"suite_timeout = {int(args.timeout)}\n"
        f"test_timeout = {int(args.test_timeout)}\n"
        "\n"
        f"[tool.auditor.suites.{name}]\n"
        f"paths = {toml_list(spec['paths'])}\n"
        f"args = {toml_list(suite_args)}\n"
    )
    pyproject.write_text(text, encoding="utf-8")


def fresh_copy(source: Path, work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, symlinks=True,
                    ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__", ".auditor_cache", ".unpacked"))
    return work


# -------------------------------------------------------------------------------------------- the audit

def run_project(name: str, args: argparse.Namespace, wheel: Path | None) -> dict:
    spec = PROJECTS[name]
    key = f"{name}-{spec['version']}"
    logs = CACHE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{key}.log"
    work = CACHE / "work" / key / name
    say(f"{name} {spec['version']}: log {log}, scratch copy {work}")
    if args.report_only:
        audit_path = work / "auditor-reports" / "audit.json"
        meta_path = work.parent / "run.json"
        if not audit_path.exists():
            raise SystemExit(f"public_claims: no audit of {name} to re-read at {audit_path}")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return summarise(name, spec, json.loads(audit_path.read_text()), work, meta)
    log.write_text("", encoding="utf-8")
    source = source_tree(name, spec["version"], log)
    venv = project_venv(name, spec, source, args.python, log)
    if args.setup_only:
        return {"project": name, "version": spec["version"], "setup_only": True}
    assert wheel is not None
    version = install_auditor(venv, wheel, log)
    say(f"  auditor in the venv: {version}")
    fresh_copy(source, work)
    write_config(work, name, spec, args)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "NO_COLOR": "1",
                "PYTHONDONTWRITEBYTECODE": "1"})
    started = time.monotonic()
    code = sh([str(venv / "bin" / "auditor"), "audit", "--no-gate"], cwd=work, env=env, log=log,
              timeout=args.timeout)
    seconds = time.monotonic() - started
    audit_path = work / "auditor-reports" / "audit.json"
    if not audit_path.exists():
        raise SystemExit(f"public_claims: auditor audit of {name} wrote no audit.json (exit {code}, see {log})")
    baseline = work.parent / "gate-baseline.json"
    baseline.unlink(missing_ok=True)
    sh([str(venv / "bin" / "auditor"), "gate", "--audit", str(audit_path), "--write-baseline", str(baseline)],
       cwd=work, env=env, log=log, timeout=600)
    meta = {"seconds": round(seconds, 1), "exit_code": code, "auditor_version": version,
            "auditor_commit": (CACHE / "auditor-src.commit").read_text() if (CACHE / "auditor-src.commit").exists()
            else "", "python": subprocess.run([str(venv / "bin" / "python"), "--version"], capture_output=True,
                                              text=True, check=False).stdout.strip(),
            "freeze": freeze(venv)}
    (work.parent / "run.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return summarise(name, spec, json.loads(audit_path.read_text()), work, meta)


def _vacuous_reasons(work: Path, audit: dict) -> dict[str, str]:
    """Node id -> why vacuous, from the gate's baseline keys; the reason read from the probes when possible."""
    baseline = work.parent / "gate-baseline.json"
    keys = json.loads(baseline.read_text()).get("violations", []) if baseline.exists() else []
    nodes = [k.split(":", 1)[1] for k in keys if k.startswith("vacuous:")]
    outcomes = {o["node_id"]: o for s in audit.get("suites", []) for o in s.get("outcomes", [])}
    reasons = {}
    for node in nodes:
        outcome = outcomes.get(node, {})
        judged = [p for p in outcome.get("probes", []) if p.get("result") in ("killed", "survived")]
        obs = outcome.get("observation") or {}
        if judged and all(p["result"] == "survived" for p in judged):
            reasons[node] = f"survived every sabotage probe ({', '.join(p['mode'] for p in judged)})"
        elif obs.get("assertions") == 0 and obs.get("raises_blocks") == 0:
            reasons[node] = "executed no assertions"
        else:
            reasons[node] = "vacuous (gate)"
    return reasons


def summarise(name: str, spec: dict, audit: dict, work: Path, meta: dict) -> dict:
    outcomes = {}
    for suite in audit.get("suites", []):
        for outcome in suite.get("outcomes", []):
            outcomes.setdefault(outcome["node_id"], outcome)
    statuses: dict[str, int] = {}
    for outcome in outcomes.values():
        statuses[outcome["status"]] = statuses.get(outcome["status"], 0) + 1
    ran = sum(n for s, n in statuses.items() if s not in ("not_run", "skipped", "interrupted"))
    http = [o for o in outcomes.values() if (o.get("observation") or {}).get("http")]
    probed = [o for o in outcomes.values() if any(p.get("result") in ("killed", "survived", "error")
                                                  for p in o.get("probes", []))]
    probe_results: dict[str, dict[str, int]] = {}
    for outcome in outcomes.values():
        for probe in outcome.get("probes", []):
            probe_results.setdefault(probe["mode"], {}).setdefault(probe["result"], 0)
            probe_results[probe["mode"]][probe["result"]] += 1
    # A connection to an address off this machine's loopback (must be none: such tests belong in `deselect`),
    # and, apart, requests addressed to another host that never left the client (invalid URLs, a local proxy).
    off_machine = sorted(o["node_id"] for o in outcomes.values() if (o.get("observation") or {}).get("sockets_other"))
    addressed_elsewhere = sorted(o["node_id"] for o in outcomes.values()
                                 if not (o.get("observation") or {}).get("sockets_other")
                                 and any(x.get("host_class") in ("private", "external")
                                         for x in (o.get("observation") or {}).get("http", [])))
    findings = []
    for finding in audit.get("findings", []):
        if listed_rule(finding["rule"]) or (finding.get("severity") == "high"
                                            and finding.get("origin") in ("runtime", "probe")):
            findings.append({"project": name, "test_id": finding.get("test_id") or finding.get("path", ""),
                             "rule": finding["rule"], "slug": finding.get("slug", ""),
                             "severity": finding.get("severity", ""), "origin": finding.get("origin", ""),
                             "message": finding.get("message", ""),
                             "evidence": finding.get("evidence", [])[:6]})
    for node, reason in _vacuous_reasons(work, audit).items():
        findings.append({"project": name, "test_id": node, "rule": "vacuous", "slug": "vacuous",
                         "severity": "high", "origin": "gate", "message": reason, "evidence": []})
    findings.sort(key=lambda f: (f["rule"], f["test_id"]))
    return {"project": name, "version": spec["version"], "deselected": [list(d) for d in spec["deselect"]],
            "suite_args": spec["args"], "statuses": statuses, "tests": len(outcomes), "ran": ran,
            "http_tests": len(http), "probed": len(probed), "probe_results": probe_results,
            "off_machine": off_machine, "addressed_elsewhere": addressed_elsewhere, "findings": findings, **{k: v for k, v in meta.items() if k != "freeze"},
            "freeze": meta.get("freeze", [])}


# ------------------------------------------------------------------------------------------ hand verdicts

def _rule_key(rule: str) -> str:
    rule = rule.strip()
    return SLUGS.get(rule.lower(), rule.upper() if rule.upper().startswith("AUD") else rule.lower())


def _strip_params(test_id: str) -> str:
    return test_id.split("[", 1)[0]


def load_verdicts(path: str | None) -> list[dict]:
    if not path or path == "none":
        return []
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = data["verdicts"] if isinstance(data, dict) else data
    for row in rows:
        row["_rule"] = _rule_key(row["rule"])
        row["verdict"] = str(row["verdict"]).lower()
    return rows


def match_verdict(finding: dict, verdicts: list[dict]) -> dict | None:
    rule, test = _rule_key(finding["rule"]), finding["test_id"]
    candidates = [v for v in verdicts if v["project"] == finding["project"] and v["_rule"] == rule]
    for how in ("exact", "pattern", "base"):
        for verdict in candidates:
            vid = verdict["test_id"]
            if how == "exact" and vid == test:
                return verdict
            if how == "pattern" and any(c in vid for c in "*?") and _wildcard(vid).fullmatch(test):
                return verdict
            if how == "base" and "[" not in vid and _strip_params(test) == vid:
                return verdict
    return None


def _wildcard(pattern: str) -> re.Pattern:
    """``*`` and ``?`` as wildcards; brackets are literal (parametrized ids are full of them)."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


def sample_ids(project: str, rule: str, ids: list[str]) -> set[str]:
    """The seeded sample of ids given hand verdicts when a kind has more than SAMPLE_ABOVE findings."""
    ids = sorted(set(ids))
    if len(ids) <= SAMPLE_ABOVE:
        return set(ids)
    return set(random.Random(f"{project}:{rule}:0").sample(ids, SAMPLE_SIZE))


# ------------------------------------------------------------------------------------------------ output

def is_high(finding: dict) -> bool:
    return finding["severity"] == "high" or finding["rule"] == "vacuous"


def report(results: list[dict], verdicts: list[dict]) -> int:
    false_high_total = 0
    for result in results:
        if result.get("setup_only"):
            continue
        name = result["project"]
        say()
        say(f"== {name} {result['version']}  (auditor {result.get('auditor_version', '?')}, "
            f"{result.get('auditor_commit', '')}; {result.get('python', '')}; audit {result.get('seconds', '?')} s, "
            f"exit {result.get('exit_code', '?')})")
        say(f"   tests {result['tests']}, ran {result['ran']}, statuses {json.dumps(result['statuses'], sort_keys=True)}")
        say(f"   made HTTP calls {result['http_tests']}, probed {result['probed']}; per mode: "
            + ", ".join(f"{m} {json.dumps(r, sort_keys=True)}" for m, r in sorted(result["probe_results"].items())))
        for node, why in result["deselected"]:
            say(f"   deselected {node}: {why}")
        if result["off_machine"]:
            say(f"   WARNING: {len(result['off_machine'])} test(s) opened a connection off this machine's loopback "
                "(add them to `deselect`): " + ", ".join(result["off_machine"][:10]))
        if result.get("addressed_elsewhere"):
            say(f"   {len(result['addressed_elsewhere'])} test(s) addressed another host without connecting to it "
                "(invalid URLs, a local proxy): " + ", ".join(result["addressed_elsewhere"][:4])
                + (" ..." if len(result["addressed_elsewhere"]) > 4 else ""))
        by_rule: dict[str, list[dict]] = {}
        for finding in result["findings"]:
            by_rule.setdefault(finding["rule"], []).append(finding)
        say("   counts: " + (", ".join(f"{r} {len(fs)}" for r, fs in sorted(by_rule.items())) or "no finding"))
        tally = {"false": 0, "true": 0, "none": 0}
        for rule, findings in sorted(by_rule.items()):
            sampled = sample_ids(name, rule, [f["test_id"] for f in findings])
            if len(sampled) < len({f["test_id"] for f in findings}):
                say(f"   {rule}: {len(findings)} findings, hand verdicts on a seeded sample of {len(sampled)}")
            for finding in findings:
                verdict = match_verdict(finding, verdicts)
                finding["hand_verdict"] = verdict["verdict"] if verdict else None
                finding["hand_why"] = verdict.get("why", "") if verdict else None
                finding["sampled"] = finding["test_id"] in sampled
                mark = {"true": "TRUE ", "false": "FALSE"}.get(finding["hand_verdict"] or "", "  ?  ")
                if is_high(finding) and finding["sampled"]:
                    tally[finding["hand_verdict"] if finding["hand_verdict"] in ("true", "false") else "none"] += 1
                say(f"   {mark if verdicts else ''}{' | ' if verdicts else ''}{name} | {rule} | {finding['severity']} | "
                    f"{finding['test_id']} | {finding['message']}")
        highs = sum(1 for f in result["findings"] if is_high(f))
        result["high"] = highs
        result["high_verdicts"] = tally
        if verdicts:
            say(f"   HIGH findings: {highs}; by hand verdict: false {tally['false']}, true {tally['true']}, "
                f"no verdict {tally['none']}")
        false_high_total += tally["false"]
    say()
    say("summary (HIGH = severity high, and every gate 'vacuous' verdict)")
    head = f"{'project':10} {'tests':>6} {'ran':>5} {'http':>5} {'probed':>6} {'AUD201':>6} {'AUD301':>6} " \
           f"{'AUD30x':>6} {'vacuous':>7} {'HIGH':>5}"
    say(head + ("  false  true  no-verdict" if verdicts else ""))
    for result in results:
        if result.get("setup_only"):
            continue
        rules = [f["rule"] for f in result["findings"]]
        line = (f"{result['project']:10} {result['tests']:>6} {result['ran']:>5} {result['http_tests']:>5} "
                f"{result['probed']:>6} {rules.count('AUD201'):>6} {rules.count('AUD301'):>6} "
                f"{sum(1 for r in rules if r.startswith('AUD30') and r != 'AUD301'):>6} {rules.count('vacuous'):>7} "
                f"{result['high']:>5}")
        if verdicts:
            tally = result["high_verdicts"]
            line += f"  {tally['false']:>5} {tally['true']:>5} {tally['none']:>11}"
        say(line)
    if verdicts:
        unjudged = [f for r in results for f in r.get("findings", [])
                    if is_high(f) and f.get("sampled") and f.get("hand_verdict") not in ("true", "false")]
        if unjudged:
            say()
            say(f"HIGH findings without a hand verdict ({len(unjudged)}): judge them and add them to the verdicts file")
            for f in unjudged:
                say(f"   {f['project']} | {f['rule']} | {f['test_id']} | {f['message']}")
        say()
        say(f"false HIGH findings, all projects: {false_high_total}")
    return false_high_total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auditor", default=str(DEFAULT_AUDITOR),
                        help="checkout of the auditor to install (non-editable) into each venv (default: this repo)")
    parser.add_argument("--auditor-rev", default=None,
                        help="install this commit of --auditor (git archive) instead of its work tree, e.g. HEAD")
    parser.add_argument("--only", action="append", choices=sorted(PROJECTS), help="only this project (repeatable)")
    parser.add_argument("--verdicts", default=str(DEFAULT_VERDICTS) if DEFAULT_VERDICTS.exists() else None,
                        help="hand verdicts JSON (default: bench/public_verdicts.json when present; 'none': none)")
    parser.add_argument("--output", default=str(CACHE / "public_claims.json"), help="write the results here (JSON)")
    parser.add_argument("--python", default="python3.12",
                        help="interpreter of the venvs (default python3.12: the plugin counts assertions on 3.12+)")
    parser.add_argument("--timeout", type=float, default=1500, help="seconds for one project's whole audit")
    parser.add_argument("--test-timeout", type=float, default=120, help="seconds one test may run")
    parser.add_argument("--setup-only", action="store_true", help="only fetch the sdists and build the venvs")
    parser.add_argument("--report-only", action="store_true", help="re-read the last audits; run nothing")
    args = parser.parse_args(argv)
    args.python = find_python(args.python)
    verdicts = load_verdicts(args.verdicts)
    names = args.only or list(PROJECTS)
    wheel = None
    results = []
    try:
        if not (args.setup_only or args.report_only):
            (CACHE / "logs").mkdir(parents=True, exist_ok=True)
            wheel = auditor_wheel(Path(args.auditor).resolve(), args.auditor_rev, CACHE / "logs" / "auditor-wheel.log")
            say(f"auditor wheel: {wheel.name} from {args.auditor} ({(CACHE / 'auditor-src.commit').read_text()})")
        for name in names:  # one project at a time
            results.append(run_project(name, args, wheel))
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    false_high = report(results, verdicts)
    if args.output and not args.setup_only:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({
            "format": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "auditor": args.auditor,
            "platform": platform.platform(), "verdicts_file": args.verdicts, "results": results}, indent=1) + "\n",
            encoding="utf-8")
        say(f"results: {args.output}")
    return 1 if false_high else 0


if __name__ == "__main__":
    sys.exit(main())
