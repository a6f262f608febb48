"""Every test is counted (issue 14): a huge file's tests are inventoried (the rules skip it, with a note), and a
file pytest cannot import is MEDIUM and its tests are counted as uncollectable. The files are generated here,
in tmp_path, and real pytest runs say the same."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.collect.inventory import HUGE_FILE_BYTES

WEAK = "def test_weak():\n    assert True\n"  # AUD108 tautology wherever the rules look


def scan(root: Path, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"scan{len(list(tmp_path.glob('scan*.json')))}.json"
    code = main(["scan", "--root", str(root), "--format", "json", "--fail-on", "none", "-o", str(out), *extra])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def collect_only(root: Path) -> tuple[int, str]:
    """pytest's own collection of the project: (exit code, output)."""
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                         cwd=root, capture_output=True, text=True, timeout=300, check=False)
    return run.returncode, run.stdout + run.stderr


@pytest.fixture(scope="module")
def huge_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2.3 MB file with 40,000 generated tests (and one weak one), beside a small file with the same weak test."""
    root = tmp_path_factory.mktemp("huge")
    (root / "tests").mkdir()
    generated = "".join(f"def test_generated_{i:05d}():\n    assert {i} + 1 == {i + 1}\n\n" for i in range(40_000))
    (root / "tests" / "test_generated.py").write_text(generated + WEAK, encoding="utf-8")
    (root / "tests" / "test_small.py").write_text(WEAK, encoding="utf-8")
    assert (root / "tests" / "test_generated.py").stat().st_size > HUGE_FILE_BYTES
    return root


def test_a_huge_file_is_counted_and_only_the_rules_skip_it(huge_project: Path, tmp_path: Path) -> None:
    audit = scan(huge_project, tmp_path, "--no-cache")
    per_file: dict[str, int] = {}
    for case in audit["cases"]:
        per_file[case["path"]] = per_file.get(case["path"], 0) + 1
    assert per_file == {"tests/test_generated.py": 40_001, "tests/test_small.py": 1}
    findings = [(f["rule"], f["path"], f["severity"]) for f in audit["findings"]]
    # The weak test is flagged in the small file; in the huge one the rules did not look, and a note says so.
    assert sorted(findings) == [("AUD108", "tests/test_small.py", "high"), ("AUD903", "tests/test_generated.py", "low")]
    note = next(f["message"] for f in audit["findings"] if f["rule"] == "AUD903")
    assert re.fullmatch(r"file is [\d,]+ bytes: its 40,001 test\(s\) are counted, but the rules did not analyse it", note)
    # The per-file cache gives the same answer, written and then read back.
    for _ in range(2):
        cached = scan(huge_project, tmp_path)
        assert (len(cached["cases"]), cached["findings"]) == (len(audit["cases"]), audit["findings"])


def test_pytest_collects_as_many_tests_from_a_huge_file_as_the_inventory_counts(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    padding = "    # " + "generated " * 140 + "\n"  # ~1.4 kB per test: over the limit with few tests, so pytest is quick
    source = "import pytest\n\n" + "".join(
        f"{padding}@pytest.mark.parametrize('n', [1, 2])\ndef test_case_{i}(n):\n    assert n * {i} == {i} * n\n\n"
        for i in range(1_500))
    (tmp_path / "tests" / "test_padded.py").write_text(source, encoding="utf-8")
    assert (tmp_path / "tests" / "test_padded.py").stat().st_size > HUGE_FILE_BYTES
    audit = scan(tmp_path, tmp_path, "--no-cache")
    instances = sum(case["params"] for case in audit["cases"])
    code, output = collect_only(tmp_path)
    assert code == 0 and f"{instances} tests collected" in output, output[-500:]
    assert instances == 3_000


@pytest.fixture(scope="module")
def encoded_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("encodings")
    tests = root / "tests"
    tests.mkdir()
    body = b"def test_accent():\n    assert '\xe9'.upper() == '\xc9'\n\n\ndef test_plain():\n    assert 2 * 2 == 4\n"
    (tests / "test_undeclared.py").write_bytes(body)  # latin-1 bytes, no coding line: not UTF-8
    (tests / "test_declared.py").write_bytes(b"# -*- coding: latin-1 -*-\n" + body)  # the same bytes, declared
    (tests / "test_unknown_codec.py").write_bytes(b"# coding: klingon\ndef test_x():\n    assert 1 == 1\n")
    (tests / "test_bad_name.py").write_bytes(b"def test_caf\xe9():\n    assert 1 == 1\n")  # unparsable once replaced
    return root


def test_a_file_pytest_cannot_import_is_medium_and_its_tests_are_uncollectable(encoded_project: Path,
                                                                              tmp_path: Path) -> None:
    audit = scan(encoded_project, tmp_path, "--no-cache")
    cases = {case["id"]: (case["collectable"], case["not_collectable_reason"]) for case in audit["cases"]}
    undeclared = ("pytest cannot import the file: not valid utf-8 (Python's default, and no coding line declares "
                  "another): byte 0xe9 at offset 31")
    assert cases == {
        "tests/test_declared.py::test_accent": (True, None),
        "tests/test_declared.py::test_plain": (True, None),
        "tests/test_undeclared.py::test_accent": (False, undeclared),
        "tests/test_undeclared.py::test_plain": (False, undeclared),
        "tests/test_unknown_codec.py::test_x": (False, ("pytest cannot import the file: its coding line cannot be used "
                                                        "(unknown encoding: klingon)")),
    }
    found = {f["path"]: (f["rule"], f["severity"], f["message"]) for f in audit["findings"]}
    assert found["tests/test_undeclared.py"] == ("AUD902", "medium", undeclared.replace("the file", "this file", 1)
                                                 + "; none of its 2 test(s) can run")
    assert found["tests/test_unknown_codec.py"][:2] == ("AUD902", "medium")
    assert found["tests/test_bad_name.py"][:2] == ("AUD902", "medium")
    assert found["tests/test_bad_name.py"][2].endswith("its tests cannot run or be counted")
    assert "tests/test_declared.py" not in found and len(audit["findings"]) == 3


def test_pytest_fails_to_import_exactly_the_files_flagged(encoded_project: Path, tmp_path: Path) -> None:
    audit = scan(encoded_project, tmp_path, "--no-cache")
    flagged = {f["path"] for f in audit["findings"] if f["rule"] == "AUD902"}
    code, output = collect_only(encoded_project)
    assert code == 2  # collection errors
    errors = set(re.findall(r"^ERROR (tests/\S+\.py)", output, re.MULTILINE))
    assert errors == flagged == {"tests/test_undeclared.py", "tests/test_unknown_codec.py", "tests/test_bad_name.py"}
    assert "tests/test_declared.py::test_accent" in output  # the declared file imports fine
