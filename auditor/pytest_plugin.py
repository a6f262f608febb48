"""The auditor's pytest plugin: inert unless ``--audit`` is given.

With ``--audit`` it records, per test, what the test really did (HTTP exchanges and their statuses,
sockets, processes, files written, mocks in force, assertions executed, warnings) into
pytest-json-report's ``metadata["auditor"]`` as an :class:`~auditor.model.Observation`.
"""

from __future__ import annotations

from typing import Any

import pytest

_STATE_KEY = "_auditor_recorder"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--audit`` options."""
    group = parser.getgroup("auditor", "test-validity auditor")
    group.addoption("--audit", action="store_true", default=False, help="record what each test really did")


def pytest_configure(config: pytest.Config) -> None:
    """Install the recorder only when ``--audit`` is on (the plugin is loaded into every pytest run)."""
    if not config.getoption("audit"):
        return
    from auditor.recorder import Recorder

    recorder = Recorder()
    recorder.install()
    setattr(config, _STATE_KEY, recorder)
    config.pluginmanager.register(_AuditHooks(recorder), "auditor-hooks")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the recorder's patches."""
    recorder = getattr(config, _STATE_KEY, None)
    if recorder is not None:
        recorder.uninstall()


class _AuditHooks:
    """Hooks that exist only while auditing."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.recorder.start(item.nodeid)
        yield
        self.recorder.stop()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        yield
        self.recorder.phase(call.when, call.duration)

    def pytest_assertion_pass(self, item: pytest.Item, lineno: int, orig: str, expl: str) -> None:
        self.recorder.assertion()

    def pytest_warning_recorded(self, warning_message, when: str, nodeid: str, location) -> None:
        self.recorder.warning(nodeid, warning_message)

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_runtest_metadata(self, item: pytest.Item, call: pytest.CallInfo) -> dict[str, Any]:
        if call.when != "teardown":
            return {}
        return {"auditor": self.recorder.observation_dict()}
