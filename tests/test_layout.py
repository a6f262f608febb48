"""The package layout is the pipeline: stage packages in data-flow order, no cycles, no reach upward.

This file is where the stage order is written down (``AUDITOR_LAYERS``); README.md and docs describe it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.importgraph import cycles, private_imports, upward_imports

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "layout"

#: Shared modules first, then the stages in the order data flows through them, then the drivers.
#: A module may import only from its own layer or an earlier one.
AUDITOR_LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "model", "serialize", "exceptions", "values", "config", "files"),
    ("collect",),  # inventory, pytest settings, markers, suppressions, scan cache, rule engine and catalogue
    ("run",),  # runner, progress, the pytest plugin and what it records, intercepts, sabotage, imported results
    ("probe",),  # sabotage sessions planned from a run's outcomes
    ("status",),  # evidence, scores, completion, diagnosis, history, gate
    ("report",),  # one shared view model, one module per format
    ("pipeline",),
    ("cli", "__main__"),
)
TOP_LEVEL = {"__init__.py", "__main__.py", "model.py", "serialize.py", "exceptions.py", "values.py", "config.py",
             "files.py", "pipeline.py", "cli.py", "collect", "run", "probe", "status", "report"}
MAX_LINES = 420


@pytest.mark.parametrize("package", ["auditor", "server"])
def test_no_import_cycles_counting_function_and_type_checking_imports(package: str) -> None:
    assert cycles(REPO / package) == []


@pytest.mark.parametrize("package", ["auditor", "server"])
def test_no_private_name_is_imported_from_another_module(package: str) -> None:
    assert [f"{e.importer}:{e.line} imports {e.names} from {e.target}" for e in private_imports(REPO / package)] == []


def test_no_stage_imports_a_later_stage() -> None:
    found = upward_imports(REPO / "auditor", AUDITOR_LAYERS)
    assert [f"{e.importer}:{e.line} -> {e.target}" for e in found] == []


def test_auditor_top_level_holds_only_stages_and_shared_modules() -> None:
    entries = {p.name for p in (REPO / "auditor").iterdir() if p.name != "__pycache__"}
    assert entries == TOP_LEVEL


@pytest.mark.parametrize("package", ["auditor", "server"])
def test_no_module_is_much_over_400_lines(package: str) -> None:
    long = {str(p.relative_to(REPO)): n for p in (REPO / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_stage_package_says_what_comes_in_and_goes_out() -> None:
    for layer in AUDITOR_LAYERS[1:6]:
        init = REPO / "auditor" / layer[0] / "__init__.py"
        text = init.read_text(encoding="utf-8")
        assert text.startswith('"""') and "In:" in text and "Out:" in text, init


def test_the_pytest_entry_point_imports_nothing_until_audit_is_given() -> None:
    # It loads into every pytest run of a user's project, audited or not.
    code = "import sys, auditor.run.plugin; print(' '.join(sorted(m for m in sys.modules if m.startswith('auditor'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert loaded.stdout.split() == ["auditor", "auditor.run", "auditor.run.plugin"]


def test_a_function_level_cycle_is_found() -> None:
    assert cycles(FIXTURES / "func_cycle" / "pkg") == [["pkg.first", "pkg.second"]]


def test_a_type_checking_cycle_is_found() -> None:
    assert cycles(FIXTURES / "typecheck_cycle" / "pkg") == [["pkg.index", "pkg.model"]]


def test_an_upward_import_and_a_private_import_are_found() -> None:
    package = FIXTURES / "upward" / "pkg"
    upward = upward_imports(package, (("",), ("early",), ("late",)))
    assert {(e.importer, e.target) for e in upward} == {("pkg.early.reader", "pkg.late"), ("pkg.early.reader", "pkg.late.writer")}
    assert [(e.importer, e.names) for e in private_imports(package)] == [("pkg.early.reader", ("_render",))]
    assert cycles(package) == []
