"""Inside a probe session's pytest process: every planned test runs once per sabotage mode.

Registered by :mod:`auditor.run.plugin` for ``--audit-probe=PLAN``. The plan (JSON, written by
:mod:`auditor.probe.sessions`) names the stream file, each mode's built-in base (``null`` for an env-only mode, whose
sabotage is the session's environment) and the modes of each node id; tests not in the plan are deselected.

Each mode run is pytest's own ``runtestprotocol`` (as pytest-rerunfailures re-runs a test) with the teardown
going only as far as the test's parent, so fixtures above function scope (a live server) live on between
modes and tests; the teardown towards the real next test happens once, after the last mode. Runs are not
logged: pytest's summary stays empty and its exit code reflects only collection and infrastructure.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from auditor.run import intercept
from auditor.run.alarm import ProbeTimeout, RunLimit
from auditor.run.reads import clock_read, set_project_root, track_json_paths, watch_clock
from auditor.run.touched import describe
from auditor.run.sabotage import SabotageMode, get_mode

#: Probe verdicts written to the stream; ``n/a``: the mode found nothing to sabotage in this test.
VERDICTS = ("killed", "survived", "error", "n/a")


class ProbeHooks:
    """Hooks of a probe session: deselect what is not planned, run the rest once per mode, stream verdicts."""

    def __init__(self, stream: str, modes: dict[str, str | None], tests: dict[str, list[str]],
                 expected: dict[str, list[list[Any]]] | None = None, test_timeout: float | None = None) -> None:
        self.tests = tests
        self.test_timeout = test_timeout
        self.expected = {node: {(method, path): status for method, path, status in exchanges}
                         for node, exchanges in (expected or {}).items()}
        self.touched: set[str] = set()
        self.read: set[str] = set()
        self.modes: dict[str, SabotageMode | None] = {name: get_mode(base) if base else None
                                                      for name, base in modes.items()}
        self.current: SabotageMode | None = None
        self.changed = 0
        self.failures: dict[str, str] = {}
        self._restore: list[tuple[Any, Any]] = []
        # line-buffered: every verdict reaches the file even if the session is killed at its timeout
        self._stream = open(stream, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in unconfigure

    @classmethod
    def from_plan(cls, path: str) -> ProbeHooks:
        """Read a plan file; anything wrong with it is a one-line usage error."""
        try:
            plan = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(plan["stream"], plan["modes"], plan["tests"], plan.get("expected"), plan.get("test_timeout"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise pytest.UsageError(f"--audit-probe={path}: not a usable probe plan ({exc})") from None

    def _emit(self, record: dict[str, Any]) -> None:
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")

    def pytest_configure(self, config: pytest.Config) -> None:
        intercept.install()
        set_project_root(str(config.rootpath))
        track_json_paths(True)
        self._restore = _share_default_ssl_contexts()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        intercept.uninstall()
        for owner, original in self._restore:
            owner.create_ssl_context = original
        self._stream.close()

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept = [item for item in items if item.nodeid in self.tests]
        dropped = [item for item in items if item.nodeid not in self.tests]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
        self._emit({"event": "collected", "count": len(kept), "pid": os.getpid()})

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        for name in self.tests.get(item.nodeid, ()):
            self._emit(self._probe(item, name))
        try:
            # pytest's SetupState, as pytest-rerunfailures uses it: tear down what the next test does not share.
            item.session._setupstate.teardown_exact(nextitem)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a fixture's teardown failed: report it, judge no test by it
            self._emit({"event": "teardown", "nodeid": item.nodeid, "error": _first_line(exc)})
        return True

    def _probe(self, item: pytest.Item, name: str) -> dict[str, Any]:
        self.current, self.changed, self.failures = self.modes[name], 0, {}
        self.touched, self.read = set(), set()
        intercept.set_expected(self.expected.get(item.nodeid, {}))
        started = time.perf_counter()
        try:
            with RunLimit(self.test_timeout):
                reports = runtestprotocol(item, log=False, nextitem=item.parent)  # type: ignore[arg-type]
        except ProbeTimeout as exc:  # fired between pytest's phases, outside any test code
            return {"event": "probe", "nodeid": item.nodeid, "mode": name, "result": "error",
                    "detail": f"{exc} (between phases)", "duration": round(time.perf_counter() - started, 4)}
        finally:
            self.current = None
        env_only = self.modes[name] is None
        result, detail = verdict(reports, self.failures, changed=self.changed > 0 or env_only)
        if result == "survived" and not env_only and not self.touched:
            result, detail = "n/a", f"changed nothing the test read (it read: {describe(self.read)})"
        return {"event": "probe", "nodeid": item.nodeid, "mode": name, "result": result, "detail": detail,
                "touched": sorted(self.touched), "reads": sorted(self.read)[:50],
                "duration": round(time.perf_counter() - started, 4)}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        mode = self.current
        if mode is None:
            yield
            return
        intercept.start_recording()
        intercept.set_sabotage(mode)
        delays = mode.delay > 0 or mode.stretch > 1
        watch_clock(delays)
        try:
            yield
        finally:
            self.changed = intercept.sabotaged()
            intercept.set_sabotage(None)
            watch_clock(False)
            self.touched, self.read = intercept.touched(clock=delays and clock_read())
            intercept.stop_recording()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
        """A failure's report without its formatted traceback: only the verdict is used, and formatting
        tracebacks (source, locals, assertion diffs) was most of the cost of a probe whose test fails fast."""
        excinfo = call.excinfo
        if excinfo is None:
            return None
        line = _first_line(excinfo.value, excinfo.typename)
        self.failures.setdefault(call.when, line)
        if isinstance(excinfo.value, pytest.skip.Exception):
            return None  # pytest's own report: the skip's location and reason
        return pytest.TestReport(item.nodeid, item.location, {name: 1 for name in item.keywords}, "failed", line,
                                 call.when, [], call.duration, call.start, call.stop)


def verdict(reports: Sequence[pytest.TestReport], failures: dict[str, str], *, changed: bool) -> tuple[str, str | None]:
    """``(result, detail)`` of one mode run from its reports; see :data:`VERDICTS`."""
    by_phase = {report.when: report for report in reports}
    setup = by_phase.get("setup")
    if setup is None or not setup.passed:
        # Sabotage applies to the call phase only: a setup that fails or skips is not the test noticing it.
        return "error", f"setup {'skipped' if setup is not None and setup.skipped else 'failed'}: " + \
            failures.get("setup", "")
    call, teardown = by_phase.get("call"), by_phase.get("teardown")
    if call is not None and call.skipped and hasattr(call, "wasxfail"):
        return "killed", f"call: expected failure ({failures.get('call', 'xfail')})"
    for phase, report in (("call", call), ("teardown", teardown)):
        if report is not None and report.failed:
            return "killed", f"{phase}: {failures.get(phase, 'failed')}"
    if not changed:
        return "n/a", "nothing to sabotage"
    if call is not None and call.skipped:
        return "survived", f"skipped: {failures.get('call', '')}"
    return "survived", None


def _share_default_ssl_contexts() -> list[tuple[Any, Any]]:
    """Let httpx/httpx2 clients with default TLS settings share one SSL context; return how to undo it.

    Loading the CA bundle costs ~30 ms per client, and a function-scoped client fixture pays it on every
    run: seven modes would pay it seven times per test. A shared context is what httpx itself recommends
    (``verify=ctx``); only clients with default settings share it, so nothing a test configures changes.
    """
    restore = []
    for name in ("httpx", "httpx2"):
        try:
            transports = importlib.import_module(f"{name}._transports.default")
        except ImportError:
            continue
        original = transports.create_ssl_context
        shared: dict[tuple[bool, str, str], Any] = {}

        def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True,
                               _original: Any = original, _shared: dict = shared) -> Any:
            if verify is not True or cert:
                return _original(verify=verify, cert=cert, trust_env=trust_env)
            key = (trust_env, os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
            if key not in _shared:
                _shared[key] = _original(verify=verify, cert=cert, trust_env=trust_env)
            return _shared[key]

        transports.create_ssl_context = create_ssl_context
        restore.append((transports, original))
    return restore


def _first_line(exc: BaseException, typename: str | None = None) -> str:
    text = str(exc).strip().splitlines()
    name = typename or type(exc).__name__
    return f"{name}: {text[0][:200]}" if text else name
