"""The per-file scan cache: after every kind of edit, a cached scan must say exactly what a fresh scan says,
while analysing only the files the edit can affect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.collect.scan import scan
from auditor.config import read_config
from auditor.collect.incremental import CacheStats, scan_cached

#: A project whose tests depend on other files: helpers imported by name, a helper found in another test
#: module, a helper chain across files, a conftest fixture, a module outside python_files. Its files live
#: under tests/fixtures/ (never collected: one of its tests is deliberately weak, for AUD101).
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "scan_cache_project"
FILES = {
    path.relative_to(FIXTURE).as_posix(): path.read_text(encoding="utf-8")
    for path in sorted(FIXTURE.rglob("*"))
    if path.is_file() and "__pycache__" not in path.parts
}


def write(root: Path, rel: str, text: str, *, age: int = 0) -> None:
    """Write a file; ``age`` seconds in the past lets the cache trust its stat (older than the racy window)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    if age:
        stamp = path.stat().st_mtime_ns - age * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        write(tmp_path, rel, text, age=60)
    return tmp_path


def both(root: Path) -> tuple[tuple, tuple, CacheStats]:  # type: ignore[type-arg]
    """(cached answer, fresh answer, what the cached scan did)."""
    stats = CacheStats()
    config = read_config(root)
    inventory, findings = scan_cached(config, [], stats)
    fresh_inventory, fresh_findings = scan(config, [], cache=False)
    return (inventory.cases, findings), (fresh_inventory.cases, fresh_findings), stats


def rules_of(findings: tuple, path: str) -> list[str]:  # type: ignore[type-arg]
    return [f.rule for f in findings if f.path == path]


#: A test that checks nothing is reported by one of these (AUD107 when it shows it wanted a check).
NO_CHECK = {"AUD107", "AUD153"}


def test_unchanged_tree_is_answered_without_parsing(project: Path) -> None:
    cached, fresh, stats = both(project)
    assert cached == fresh and stats.saved and not stats.reused
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert stats.parsed == [] and stats.analysed == [] and not stats.saved
    assert "tests/test_plain.py" in stats.reused


def test_editing_a_test_reanalyses_only_that_file(project: Path) -> None:
    both(project)
    write(project, "tests/test_plain.py", FILES["tests/test_plain.py"] + "\ndef test_new():\n    assert True\n")
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "AUD108" in rules_of(cached[1], "tests/test_plain.py")
    assert stats.analysed == ["tests/test_plain.py"]


def test_touching_a_file_without_changing_it_is_a_hit(project: Path) -> None:
    both(project)
    os.utime(project / "tests" / "test_plain.py")
    cached, fresh, stats = both(project)
    assert cached == fresh and stats.analysed == [] and stats.saved  # new stat stored, nothing re-read as stale


def test_a_same_size_edit_that_keeps_the_mtime_is_caught_in_the_racy_window(project: Path) -> None:
    target = project / "tests" / "test_plain.py"
    write(project, "tests/test_plain.py", FILES["tests/test_plain.py"])  # modified just now
    both(project)
    stamp = target.stat().st_mtime_ns
    target.write_text(target.read_text().replace("(200, 501)", "(200, 201)"), encoding="utf-8")
    os.utime(target, ns=(stamp, stamp))  # same size, same mtime: only the content hash can tell
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "AUD101" not in rules_of(cached[1], "tests/test_plain.py")
    assert stats.analysed == ["tests/test_plain.py"]


def test_editing_an_imported_helper_reaches_the_test_that_calls_it(project: Path) -> None:
    cached, _, _ = both(project)
    assert not NO_CHECK.intersection(rules_of(cached[1], "tests/test_imported_helper.py"))
    write(project, "tests/helpers.py", "def compare(value):\n    return value == 1\n")
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "AUD153" in rules_of(cached[1], "tests/test_imported_helper.py")
    assert stats.analysed == ["tests/test_imported_helper.py"]


def test_a_helper_chain_across_test_modules_is_followed(project: Path) -> None:
    cached, _, _ = both(project)
    assert not NO_CHECK.intersection(rules_of(cached[1], "tests/test_chain.py"))
    # follow_on (in test_chain.py) stops asserting: test_chain's own test, through shared_expectation in
    # test_shared.py, now checks nothing.
    write(project, "tests/test_chain.py", FILES["tests/test_chain.py"].replace("assert value", "return value"))
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "AUD153" in rules_of(cached[1], "tests/test_chain.py")
    assert set(stats.analysed) <= {"tests/test_chain.py", "tests/test_shared.py"}
    # Editing the middle of the chain back reaches the caller in the other file.
    write(project, "tests/test_shared.py", FILES["tests/test_shared.py"].replace("follow_on(value)", "assert value"))
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert not NO_CHECK.intersection(rules_of(cached[1], "tests/test_chain.py"))
    assert "tests/test_chain.py" in stats.analysed


def test_editing_a_conftest_fixture_reaches_its_users(project: Path) -> None:
    cached, _, _ = both(project)
    assert "AUD118" in rules_of(cached[1], "tests/test_fixture.py")
    write(project, "tests/conftest.py", FILES["tests/conftest.py"].replace('return {"a": 1}', "return build()"))
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "AUD118" not in rules_of(cached[1], "tests/test_fixture.py")
    assert stats.analysed == ["tests/test_fixture.py"]


def test_changing_the_configuration_discards_the_cache(project: Path) -> None:
    both(project)
    write(project, "pyproject.toml", FILES["pyproject.toml"] + '\n[tool.auditor]\nignore = ["AUD101"]\n')
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "AUD101" not in rules_of(cached[1], "tests/test_plain.py")
    assert stats.reused == []


def test_adding_removing_and_breaking_files(project: Path) -> None:
    both(project)
    write(project, "tests/test_added.py", "def shared_expectation(value):\n    pass\n\ndef test_x():\n    assert 1\n")
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "tests/test_chain.py" in stats.analysed  # a new definition of a name it looks up
    write(project, "tests/test_added.py", "def test_x(:\n")
    cached, fresh, _ = both(project)
    assert cached == fresh and "AUD901" in rules_of(cached[1], "tests/test_added.py")
    cached, fresh, stats = both(project)
    assert cached == fresh and stats.parsed == []  # the syntax error is answered from the cache too
    (project / "tests" / "test_added.py").unlink()
    (project / "tests" / "helpers.py").unlink()
    cached, fresh, stats = both(project)
    assert cached == fresh
    assert "tests/test_imported_helper.py" in stats.analysed


def test_a_module_outside_python_files_follows_its_importers(project: Path) -> None:
    cached, _, _ = both(project)
    outside = [c for c in cached[0] if c.path == "tests/check_extra.py"]
    assert [c.collectable for c in outside] == [False]
    write(project, "tests/test_imports_extra.py", "from tests.check_extra import test_outside_python_files\n")
    cached, fresh, _ = both(project)
    assert cached == fresh
    outside = [c for c in cached[0] if c.path == "tests/check_extra.py"]
    assert [(c.id, c.collectable) for c in outside] == [
        ("tests/test_imports_extra.py::test_outside_python_files", True)
    ]


def test_cli_cached_json_equals_no_cache_json(project: Path, tmp_path: Path) -> None:
    def audit(*extra: str) -> dict:  # type: ignore[type-arg]
        out = tmp_path / "out.json"
        command = [sys.executable, "-m", "auditor", "scan", "--root", str(project), "--format", "json"]
        done = subprocess.run(
            [*command, "--fail-on", "none", "--output", str(out), *extra], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        data = json.loads(out.read_text(encoding="utf-8"))
        del data["created"], data["environment"]["scan_seconds"]
        return data

    assert audit() == audit("--no-cache")
    write(project, "tests/helpers.py", "def compare(value):\n    print(value)\n")
    assert audit() == audit("--no-cache")
    assert audit() == audit("--no-cache")


def test_a_new_requires_python_reaches_the_cached_skip_findings(project: Path) -> None:
    # AUD147 reads the supported Pythons from pyproject's [project] table, which no test file mentions
    write(project, "tests/test_versions.py", """
        import sys

        import pytest

        @pytest.mark.skipif(sys.version_info >= (3, 9), reason="leaks on newer Pythons")
        def test_no_leak():
            assert sum([1, 2]) == 3
    """, age=60)
    cached, fresh, _ = both(project)
    assert cached == fresh and "AUD147" not in rules_of(cached[1], "tests/test_versions.py")
    write(project, "pyproject.toml", FILES["pyproject.toml"] + '\n[project]\nrequires-python = ">=3.10"\n')
    cached, fresh, _ = both(project)
    assert cached == fresh and "AUD147" in rules_of(cached[1], "tests/test_versions.py")
