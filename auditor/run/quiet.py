"""Observe resource warnings and assertions without changing what a test sees (outcome parity).

An audited run must give every test the outcome plain ``pytest`` gives it, so nothing here adds a warning
filter, a pytest option or an environment variable:

- **Resource warnings.** Python's default filters ignore ``ResourceWarning``, and a project's own
  ``filterwarnings`` decide what happens to it (``error`` makes a leak fail the test). While a test runs, a
  *spy* sits first in ``warnings.filters`` (put there inside pytest's own per-test warnings context, after the
  project's filters): an entry whose message object answers every ``match`` and whose category class answers
  every ``issubclass`` with False. CPython asks it about every warning that reaches the filter list, the spy
  notes the ``ResourceWarning`` ones, and the entry never matches, so the filters after it decide exactly as
  they would have (``warnings.catch_warnings`` inside a test copies the spy too; filters that a test adds in
  front of it hide from the spy what they handle). A warning the registry already suppressed again (same
  text, same place) never reaches any filter, so it is seen once.
- **Checks.** On Python 3.12+ ``sys.monitoring`` (PEP 669, its own tool id, coexisting with coverage and
  debuggers) reports each check reached in test files (files named like ``python_files``, ``conftest.py``, or in
  a ``test``/``tests``/``testing`` folder of the project): ``assert`` statements, checking calls (mock's and
  unittest's ``assert*``, ``pytest.fail``, ``raise_for_status()``) and conditions with a failing branch (``if
  bad: pytest.fail()``), as :mod:`auditor.run.checks` lists them. Every other line is switched off after its
  first report, so the cost is one call per check reached (a multi-line check counts once, where its first line
  starts). On Python 3.11 nothing can count them without changing the run (pytest's pass hook needs
  ``enable_assertion_pass_hook``, which rewrites every test module differently; a trace function slows
  everything and displaces coverage), so they are *not observed* (``-1``), unless the project enables the pass
  hook itself (on 3.12+ ``sys.monitoring`` counts even then: it sees every kind of check). That hook sees only
  ``assert`` statements: a test whose own code holds other checks and passed no ``assert`` is then *not
  observed* either (``-1``), never "no check executed".
"""

from __future__ import annotations

import ast
import fnmatch
import os
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.run.checks import check_lines

#: Folders whose files are never test code (installed packages).
_NOT_PROJECT = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}", f"{os.sep}.venv{os.sep}",
                f"{os.sep}venv{os.sep}", f"{os.sep}.tox{os.sep}", f"{os.sep}.nox{os.sep}")
_TEST_FOLDERS = {"test", "tests", "testing"}


class _Message:
    """Stands where a filter's compiled message regex stands: remembers the text, matches everything."""

    pattern = ""
    flags = 0

    def __init__(self) -> None:
        self.local = threading.local()

    def match(self, text: Any) -> bool:
        self.local.text = text
        return True


class _NeverMeta(type):
    """Metaclass of the spy's category: ``issubclass(anything, spy)`` notes the warning and is False."""

    def __subclasscheck__(cls, subclass: Any) -> bool:
        try:
            cls.seen(subclass)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001, S110 - observing must never break a warning
            pass
        return False

    def __instancecheck__(cls, instance: Any) -> bool:
        return False


class ResourceSpy:
    """The never-matching ``warnings.filters`` entry and what it saw (no lock: it may run inside a GC pass)."""

    def __init__(self) -> None:
        self.message = _Message()
        self.category = _NeverMeta("AuditorWarningSpy", (Warning,), {"seen": staticmethod(self._seen)})
        #: (category, text, file, line) of each ResourceWarning seen since the last ``take``.
        self.found: list[tuple[type[Warning], str, str, int]] = []
        self.entry = ("default", self.message, self.category, None, 0)

    def _seen(self, category: Any) -> None:
        if not (isinstance(category, type) and issubclass(category, ResourceWarning)):
            return
        text = str(getattr(self.message.local, "text", ""))
        frame = sys._getframe(2)  # _seen <- __subclasscheck__ <- the code that warned (C frames are invisible)
        self.found.append((category, text, frame.f_code.co_filename, frame.f_lineno))

    def insert(self) -> None:
        """Put the spy first (after the project's and pytest's filters were applied for this test)."""
        warnings.filters.insert(0, self.entry)

    def remove(self) -> None:
        """Take the spy out of whatever filter list is current (pytest restores its own copy anyway)."""
        try:
            warnings.filters.remove(self.entry)
        except ValueError:
            pass

    def take(self) -> list[tuple[type[Warning], str, str, int]]:
        found, self.found = self.found, []
        return found


class AssertionCounter:
    """Counts the checks (:mod:`auditor.run.checks`) reached in test files, through ``sys.monitoring``."""

    def __init__(self, files: TestFiles, on_assert: Callable[[], None]) -> None:
        self.files = files
        self.on_assert = on_assert
        self.active = False
        self.tool: int | None = None
        self._lines: dict[str, dict[int, str]] = {}
        self._starts: dict[Any, dict[int, int]] = {}

    def start(self) -> bool:
        """Begin counting; False when this Python has no ``sys.monitoring`` or no tool id is free."""
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None:
            return False
        for tool in (3, 4):  # 0 debugger, 1 coverage, 2 profiler and 5 optimizer are spoken for
            try:
                monitoring.use_tool_id(tool, "auditor")
            except ValueError:
                continue
            self.tool = tool
            break
        else:
            return False
        self._disable = monitoring.DISABLE
        monitoring.register_callback(self.tool, monitoring.events.LINE, self._line)
        monitoring.set_events(self.tool, monitoring.events.LINE)
        return True

    def stop(self) -> None:
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None or self.tool is None:
            return
        monitoring.set_events(self.tool, 0)
        monitoring.register_callback(self.tool, monitoring.events.LINE, None)
        monitoring.free_tool_id(self.tool)
        self.tool = None

    def _line(self, code: Any, line: int) -> Any:
        filename = code.co_filename
        lines = self._lines.get(filename)
        if lines is None:
            lines = self._lines[filename] = self.files.checks(filename)
        if line in lines:
            # Count the check once, where its line starts; a multi-line one (or a loop) comes back to it mid-way.
            if self.active and sys._getframe(1).f_lasti == self._line_starts(code).get(line):
                self.on_assert()
            return None
        return self._disable

    def _line_starts(self, code: Any) -> dict[int, int]:
        starts = self._starts.get(code)
        if starts is None:
            starts = {}
            for start, _end, line in code.co_lines():
                if line is not None and line not in starts:
                    starts[line] = start
            self._starts[code] = starts
        return starts


class TestFiles:
    """The checks of each test file of the project, parsed once (files outside the project have none)."""

    __test__ = False  # keep pytest from collecting this class

    def __init__(self, root: Path, python_files: list[str]) -> None:
        self.root = str(root).rstrip(os.sep) + os.sep
        self.patterns = [*python_files, "conftest.py"]
        self._checks: dict[str, dict[int, str]] = {}

    def checks(self, filename: str) -> dict[int, str]:
        """Line -> kind of each check of ``filename`` (empty unless it is a readable test file of the project)."""
        found = self._checks.get(filename)
        if found is None:
            found = self._checks[filename] = self._parse(filename) if self._is_test_file(filename) else {}
        return found

    def hidden_from_pass_hook(self, item: pytest.Item) -> bool:
        """Whether the test function holds checks that pytest's pass hook cannot see (any but ``assert``)."""
        function = getattr(item, "obj", None)
        code = getattr(getattr(function, "__func__", function), "__code__", None)
        if code is None:
            return False
        checks = self.checks(code.co_filename)
        return any(checks.get(line) in ("call", "branch") for _start, _end, line in code.co_lines() if line)

    @staticmethod
    def _parse(filename: str) -> dict[int, str]:
        try:
            with open(filename, "rb") as handle:
                return check_lines(ast.parse(handle.read(), filename))
        except (OSError, SyntaxError, ValueError):
            return {}

    def _is_test_file(self, filename: str) -> bool:
        if not filename.startswith(self.root) or not filename.endswith(".py"):
            return False
        relative = filename[len(self.root):]
        if any(part in filename for part in _NOT_PROJECT):
            return False
        name = os.path.basename(filename)
        folders = relative.split(os.sep)[:-1]
        return any(fnmatch.fnmatch(name, p) for p in self.patterns) or bool(_TEST_FOLDERS & set(folders))


class QuietHooks:
    """pytest hooks of the spy and the counter; registered by the plugin next to its recorder."""

    def __init__(self, recorder: Any, config: pytest.Config) -> None:
        self.recorder = recorder
        self.spy = ResourceSpy()
        self.files = TestFiles(config.rootpath, list(config.getini("python_files")))
        self.counter: AssertionCounter | None = None
        counter = AssertionCounter(self.files, recorder.assertion)
        # Preferred to pytest's pass hook even where the project turned that on: it sees every kind of check.
        if counter.start():
            self.counter = counter
            recorder.count_assertions = True
            recorder.asserts_only = False

    # trylast: inside pytest's per-test warnings context, after the project's filters are in place
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.spy.take()
        self.spy.insert()
        if self.counter is not None:
            self.counter.active = True
        elif self.recorder.asserts_only:
            try:
                self.recorder.hidden_checks = self.files.hidden_from_pass_hook(item)
            except Exception:  # noqa: BLE001, S110 - observing must never break a test: then it stays counted
                pass
        try:
            yield
        finally:
            if self.counter is not None:
                self.counter.active = False
            self.spy.remove()
            for category, text, filename, line in self.spy.take():
                message = warnings.WarningMessage(text, category, filename, line)
                self.recorder.warning(item.nodeid, message)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.counter is not None:
            self.counter.stop()

