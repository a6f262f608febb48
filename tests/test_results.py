"""auditor.run.imported: importing real pytest-json-report and JUnit XML files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auditor.collect.inventory import collect
from auditor.config import read_config
from auditor.exceptions import DataError
from auditor.run.imported import load_results

SOURCE = '''
import pytest

class TestGroup:
    def test_in_class(self):
        assert [1, 2] == [1, 2]

@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n in (1, 2)

def test_fails():
    assert "a" == "b"

@pytest.mark.skip(reason="never")
def test_skipped():
    assert False
'''


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(project root, json report, junit xml) of one real pytest run over a small project."""
    root = tmp_path_factory.mktemp("results") / "project"
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "tests" / "unit" / "test_mod.py").write_text(SOURCE, encoding="utf-8")
    json_path, xml_path = root / "report.json", root / "junit.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests", "--json-report",
                             f"--json-report-file={json_path}", f"--junitxml={xml_path}"], cwd=root,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout
    return root, json_path, xml_path


def _cases(root: Path):
    return collect(read_config(root)).cases


def test_json_report_import(reported) -> None:
    root, json_path, _ = reported
    (suite,) = load_results([json_path], _cases(root))
    assert (suite.source, suite.status, suite.exit_code, suite.category) == ("results", "failed", 1, "unit")
    statuses = {o.node_id: o.status for o in suite.outcomes}
    assert statuses == {
        "tests/unit/test_mod.py::TestGroup::test_in_class": "passed",
        "tests/unit/test_mod.py::test_param[1]": "passed",
        "tests/unit/test_mod.py::test_param[2]": "passed",
        "tests/unit/test_mod.py::test_fails": "failed",
        "tests/unit/test_mod.py::test_skipped": "skipped",
    }
    skipped = next(o for o in suite.outcomes if o.status == "skipped")
    assert (skipped.reason, skipped.skip_kind) == ("never", "unconditional")
    assert {o.observation for o in suite.outcomes} == {None}


def test_junit_import_maps_classnames_to_node_ids(reported) -> None:
    root, _, xml_path = reported
    (suite,) = load_results([xml_path], _cases(root))
    assert {o.node_id: o.status for o in suite.outcomes} == {
        "tests/unit/test_mod.py::TestGroup::test_in_class": "passed",
        "tests/unit/test_mod.py::test_param[1]": "passed",
        "tests/unit/test_mod.py::test_param[2]": "passed",
        "tests/unit/test_mod.py::test_fails": "failed",
        "tests/unit/test_mod.py::test_skipped": "skipped",
    }
    assert next(o.reason for o in suite.outcomes if o.status == "skipped") == "never"


def test_both_files_count_each_test_once(reported) -> None:
    root, json_path, xml_path = reported
    suites = load_results([json_path, xml_path], _cases(root))
    node_ids = [o.node_id for s in suites for o in s.outcomes]
    assert len(node_ids) == 5
    assert len(set(node_ids)) == 5


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ('{"summary": {}}', "not a pytest-json-report file"),
    ("<html></html>", "not a JUnit XML file"),
    ("<testsuite>", "not valid XML"),
])
def test_bad_files_are_data_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "results.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_results([path])
