"""The auditor's pytest plugin: inert unless ``--audit``, ``--audit-sabotage`` or ``--audit-probe`` is given.

With ``--audit`` it records, per test, what the test really did (HTTP exchanges and their statuses,
sockets, processes, files written, mocks in force, checks executed (:mod:`auditor.run.checks`), pytest.raises blocks,
warnings, phase durations) as an :class:`~auditor.model.Observation`, and puts it in
pytest-json-report's ``metadata["auditor"]``. ``--audit-stream=PATH`` also appends one JSON line per
test as it starts and finishes (flushed at once), so results survive a timeout or a crash; the collected and
deselected node ids (by ``-m``/``-k``, or dropped while collecting by an option of the project: ``--lf``); and a
failed test's reason (the first line of its assertion or exception) and traceback excerpt. With a stream,
``SIGUSR1`` dumps every thread's stack (:mod:`faulthandler`) to ``PATH.<pid>.stacks``: the runner's watchdog
asks for it before it kills a test that outran its ``test_timeout``. Nothing else of the test process changes.
``--audit-only=FILE`` (one node id a line) runs only those of the collected tests, silently: the runner resumes
a suite after a crash, and re-runs failed tests, with it.
``--audit-sabotage=MODE`` rewrites HTTP responses during each test's call phase only.

``--audit-probe=PLAN`` (written by ``auditor probe``) runs each planned test once per sabotage mode instead
of once, in the same session (session fixtures such as a live server are shared), and appends one
``{"event": "probe", ...}`` line per test and mode to the plan's stream file: killed, survived, error, or
``n/a`` when the mode found nothing to sabotage.

Nothing here changes what a test sees (no warning filter, option or environment is added): resource
warnings and checks are observed by :mod:`auditor.run.quiet` (a never-matching warnings-filter spy, and
``sys.monitoring`` on Python 3.12+). On 3.11 ``assert`` statements are counted through ``pytest_assertion_pass``
when the project itself enables ``enable_assertion_pass_hook``; where nothing can count them they are ``-1``
(not counted), never 0.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest

_STATE_KEY = "_auditor_hooks"
SABOTAGE_ENV = "AUDITOR_SABOTAGE"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--audit`` options."""
    group = parser.getgroup("auditor", "test-validity auditor")
    group.addoption("--audit", action="store_true", default=False, help="record what each test really did")
    group.addoption("--audit-stream", default=None, metavar="PATH",
                    help="append one JSON line per test to PATH as it runs (implies --audit)")
    group.addoption("--audit-sabotage", default=None, metavar="MODE",
                    help=f"sabotage HTTP responses during each test's call phase (env {SABOTAGE_ENV})")
    group.addoption("--audit-probe", default=None, metavar="PLAN",
                    help="run the tests of a probe plan (JSON from `auditor probe`) once per sabotage mode")
    group.addoption("--audit-only", default=None, metavar="FILE",
                    help="run only the collected tests whose node ids FILE lists, one a line (with --audit)")


def pytest_configure(config: pytest.Config) -> None:
    """Install the recorder only when asked (the plugin is loaded into every pytest run)."""
    plan = config.getoption("audit_probe")
    if plan:
        from auditor.run.probe_hooks import ProbeHooks

        config.pluginmanager.register(ProbeHooks.from_plan(plan), "auditor-probe")
        return
    sabotage_name = config.getoption("audit_sabotage") or os.environ.get(SABOTAGE_ENV) or None
    stream = config.getoption("audit_stream")
    if not (config.getoption("audit") or stream or sabotage_name):
        return
    from auditor.run.recorder import Recorder

    mode = _load_sabotage(sabotage_name, config.rootpath) if sabotage_name else None
    recorder = Recorder(count_assertions=bool(config.getini("enable_assertion_pass_hook")))
    recorder.install(str(config.rootpath))
    hooks = _AuditHooks(recorder, stream, mode, sabotage_name, _read_only(config.getoption("audit_only")))
    setattr(config, _STATE_KEY, hooks)
    config.pluginmanager.register(hooks, "auditor-hooks")
    from auditor.run.quiet import QuietHooks

    config.pluginmanager.register(QuietHooks(recorder, config), "auditor-quiet")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the recorder's patches and close the stream file."""
    hooks = getattr(config, _STATE_KEY, None)
    if hooks is not None:
        hooks.close()
        hooks.recorder.uninstall()


def _read_only(path: str | None) -> frozenset[str] | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return frozenset(line.rstrip("\n") for line in handle if line.strip())
    except OSError as exc:
        raise pytest.UsageError(f"--audit-only={path}: cannot read ({exc.strerror})") from None


def _load_sabotage(name: str, rootpath: Any) -> Any:
    from auditor.run.sabotage import BUILTIN_MODES, get_mode

    try:
        probes = ()
        if name not in BUILTIN_MODES:  # a user-defined mode: [tool.auditor.probes] of the project
            from auditor.config import read_config

            probes = read_config(rootpath).probes
        return get_mode(name, probes)
    except Exception as exc:  # noqa: BLE001 - any refusal of the mode is the user's usage error, in one line
        raise pytest.UsageError(f"--audit-sabotage={name}: {exc}") from None


class _AuditHooks:
    """Hooks that exist only while auditing."""

    def __init__(self, recorder: Any, stream_path: str | None, mode: Any, mode_name: str | None,
                 only: frozenset[str] | None = None) -> None:
        self.recorder = recorder
        self.mode = mode
        self.mode_name = mode_name
        self.only = only
        self._made: dict[str, list[str]] = {}  # file collector node id -> the test items it made
        self._reports: dict[str, Any] = {}
        self._metadata: dict[str, Any] | None = None
        self._stream_lock = threading.Lock()
        # line-buffered append: each line reaches the file (and survives a kill -9) as soon as it is written
        self._stream = open(stream_path, "a", encoding="utf-8", buffering=1) if stream_path else None  # noqa: SIM115
        self._stacks = _register_stack_dump(stream_path) if stream_path else None

    def close(self) -> None:
        if self._stacks is not None:
            import faulthandler
            import signal

            faulthandler.unregister(signal.SIGUSR1)
            self._stacks.close()
            self._stacks = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _emit(self, record: dict[str, Any]) -> None:
        if self._stream is None:
            return
        with self._stream_lock:
            self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if self.only is not None:
            # Not a deselection (pytest's -m/-k are): the rest of the suite ran, or crashed, in an earlier process.
            items[:] = [item for item in items if item.nodeid in self.only]

    # trylast: the innermost wrapper, so it sees what a file holds before the project's options (``--lf``) trim it
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        outcome = yield
        report = outcome.get_result()
        if self._stream is None or not isinstance(collector, pytest.File) or not report.passed:
            return
        self._made[collector.nodeid] = [x.nodeid for x in report.result if isinstance(x, pytest.Item)]
        if not report.result and collector.config.pluginmanager.has_plugin("lfplugin-collskip"):
            # --lf skipped the whole file (it held no failure): every test in it is deselected by the project's option
            self._emit({"event": "deselected_files", "nodeids": [collector.nodeid], "pid": os.getpid()})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        made = self._made.pop(report.nodeid, None)
        if made:  # tests the file made that its report no longer holds: dropped by the project's options (--lf)
            kept = {x.nodeid for x in report.result}
            dropped = [node for node in made if node not in kept]
            if dropped:
                self._emit({"event": "deselected", "nodeids": dropped, "pid": os.getpid()})

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self._emit({"event": "deselected", "nodeids": [item.nodeid for item in items], "pid": os.getpid()})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._emit({"event": "collected", "count": len(session.items), "nodeids": [i.nodeid for i in session.items],
                    "pid": os.getpid()})

    # tryfirst: be outside pytest's own warnings wrapper, which reports a test's warnings only as it exits
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self._emit({"event": "start", "nodeid": item.nodeid, "pid": os.getpid()})
        self._reports = {}
        self._metadata = None
        self.recorder.start(item.nodeid)
        try:
            yield
        finally:
            self.recorder.stop()
        broken = _broken_streams(item.config) if self._stream is not None else None
        if broken:
            # pytest cannot capture or report any later test in this process: end it, as a crash of this test,
            # and the runner goes on with the rest in a fresh one.
            self._emit({"event": "broken", "nodeid": item.nodeid, "reason": broken, "pid": os.getpid()})
            os._exit(70)
        record = _finished(item.nodeid, self._reports, self.recorder)
        if self._metadata is not None:
            # Same object pytest-json-report holds (in-process runs): give it the final figures and warnings.
            self._metadata.update(record["observation"])
        self._emit(record)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        if self.mode is None:
            yield
            return
        from auditor.run import intercept

        intercept.set_sabotage(self.mode)
        try:
            yield
        finally:
            intercept.set_sabotage(None)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        self.recorder.phase(call.when, call.duration)
        outcome = yield
        self._reports[call.when] = outcome.get_result()

    def pytest_assertion_pass(self, item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
        self.recorder.assertion_passed()

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str, location: Any) -> None:
        if when == "runtest":
            self.recorder.warning(nodeid, warning_message)

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_runtest_metadata(self, item: pytest.Item, call: pytest.CallInfo) -> dict[str, Any]:
        if call.when != "teardown":
            return {}
        from auditor.serialize import to_dict

        # Exchanges still streaming are measured up to now; the stream file gets the final figures.
        data = to_dict(self.recorder.observation())
        if self.mode_name:
            data["sabotage"] = self.mode_name
        self._metadata = data
        return {"auditor": data}


def _finished(nodeid: str, reports: dict[str, Any], recorder: Any) -> dict[str, Any]:
    """The stream record of one finished test, with the outcome pytest-json-report would give it."""
    from auditor.serialize import to_dict

    outcome, reason, details = _outcome(reports)
    return {
        "event": "finished",
        "nodeid": nodeid,
        "outcome": outcome,
        "reason": reason,
        "details": details,
        "duration": sum(getattr(r, "duration", 0.0) for r in reports.values()),
        "observation": to_dict(recorder.observation()),
    }


def _outcome(reports: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(outcome, reason, details): the reason of a failure or error is the first line of what failed."""
    setup, call, teardown = reports.get("setup"), reports.get("call"), reports.get("teardown")
    if setup is not None and setup.failed:
        return ("error", *_failure(setup))
    if setup is not None and setup.skipped:
        return "skipped", _skip_reason(setup), None
    if call is not None:
        if hasattr(call, "wasxfail"):
            return ("xfailed" if call.skipped else "xpassed"), call.wasxfail or None, None
        if call.skipped:
            return "skipped", _skip_reason(call), None
        if call.failed:
            return ("failed", *_failure(call))
    if teardown is not None and teardown.failed:
        return ("error", *_failure(teardown))
    return ("passed", None, None) if call is not None else ("error", "the test never reached its call phase", None)


def _failure(report: Any) -> tuple[str | None, str | None]:
    """(first line of the failing assertion or exception, bounded traceback excerpt) of a failed phase."""
    from auditor.run.excerpt import excerpt, failure_reason

    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    try:
        text = report.longreprtext
    except Exception:  # noqa: BLE001 - a broken repr must not lose the outcome
        text = ""
    reason = failure_reason(text, getattr(crash, "message", None))
    if report.when != "call" and reason:
        reason = f"in {report.when}: {reason}"
    return reason, excerpt(text)


def _broken_streams(config: pytest.Config) -> str | None:
    """What a test broke of the process's standard output and error, if anything (then no later test can run)."""
    import sys

    broken = []
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            broken.append(f"file descriptor {fd}")
    for name in ("stdout", "stderr"):
        if any(getattr(stream, "closed", False) for stream in (getattr(sys, name, None), getattr(sys, f"__{name}__", None))):
            broken.append(f"sys.{name}")
    # pytest's own capture files (they stand in for sys.stdout/sys.stderr while a test runs)
    capturing = getattr(config.pluginmanager.getplugin("capturemanager"), "_global_capturing", None)
    for name in ("out", "err"):
        tmpfile = getattr(getattr(capturing, name, None), "tmpfile", None)
        if getattr(tmpfile, "closed", False):
            broken.append(f"pytest's capture of std{name}")
    return f"the test closed {', '.join(broken)}" if broken else None


def _register_stack_dump(stream_path: str) -> Any:
    """Let SIGUSR1 write every thread's stack to ``<stream>.<pid>.stacks`` (not on platforms without SIGUSR1)."""
    import faulthandler
    import signal

    if not hasattr(signal, "SIGUSR1"):
        return None
    handle = open(f"{stream_path}.{os.getpid()}.stacks", "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
    faulthandler.register(signal.SIGUSR1, file=handle, all_threads=True)
    return handle


def _skip_reason(report: Any) -> str | None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return None
