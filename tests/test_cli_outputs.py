"""Each command writes only what it is asked to (issue 15): ``status -o`` and ``report`` never touch the history,
``run`` appends to it, ``status --history`` only when asked; files keep normal permissions; ``--version`` works."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import __version__

TESTS = "def test_one():\n    assert 1 + 1 == 2\n\n\ndef test_two():\n    assert 'a'.upper() == 'A'\n"


def auditor(root: Path, *args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=root, capture_output=True, text=True,
                          timeout=300, preexec_fn=set_umask, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_things.py").write_text(TESTS, encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', encoding="utf-8")
    return root


@pytest.fixture
def junit(project: Path, tmp_path: Path) -> Path:
    """Results of a plain pytest run made "elsewhere" (a real run, JUnit XML)."""
    path = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={path}"],
                   cwd=project, capture_output=True, timeout=120, check=True)
    return path


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and ".pytest_cache" not in p.parts)


@pytest.mark.parametrize("args", [["--version"], ["version"]])
def test_version_prints_the_version_and_exits_0(tmp_path: Path, args: list[str]) -> None:
    run = auditor(tmp_path, *args)
    assert (run.returncode, run.stdout, run.stderr) == (0, f"auditor {__version__}\n", "")


def test_status_with_output_writes_that_file_and_nothing_else(project: Path, junit: Path, tmp_path: Path) -> None:
    before = files(project)
    run = auditor(project, "status", "--results", str(junit), "-o", str(tmp_path / "other.json"))
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "other.json").read_text(encoding="utf-8"))["environment"]["source"] == "results"
    assert files(project) == before  # no reports/, no audit.json, no history.jsonl


def test_status_appends_to_the_history_only_with_history(project: Path, junit: Path) -> None:
    assert auditor(project, "status", "--results", str(junit)).returncode == 0
    assert files(project / "reports") == ["audit.json"]
    run = auditor(project, "status", "--results", str(junit), "--history")
    assert run.returncode == 0, run.stderr
    lines = (project / "reports" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["run"] == 2


def test_run_appends_to_the_history_and_report_renders_only_what_is_asked(project: Path) -> None:
    for _ in range(2):
        run = auditor(project, "run", "--no-progress")
        assert run.returncode == 0, run.stderr
    history = project / "reports" / "history.jsonl"
    assert [json.loads(line)["passed"] for line in history.read_text(encoding="utf-8").splitlines()] == [2, 2]
    audit = (project / "reports" / "audit.json").read_bytes()
    # A report file left with mode 0600 (by an older version, or by hand) is replaced with the umask's mode.
    (project / "reports" / "report.md").write_text("old", encoding="utf-8")
    (project / "reports" / "report.md").chmod(0o600)
    run = auditor(project, "report", "--format", "markdown", "--format", "sarif", umask=0o022)
    assert run.returncode == 0, run.stderr
    assert files(project / "reports") == ["audit.json", "audit.sarif", "history.jsonl", "report.md"]
    assert len(history.read_text(encoding="utf-8").splitlines()) == 2  # the history is not the report's business
    assert (project / "reports" / "audit.json").read_bytes() == audit
    modes = {name: stat.S_IMODE((project / "reports" / name).stat().st_mode) for name in ("report.md", "audit.sarif")}
    assert modes == {"report.md": 0o644, "audit.sarif": 0o644}
    assert "# Test audit" in (project / "reports" / "report.md").read_text(encoding="utf-8")


def test_report_files_follow_the_users_umask(project: Path, tmp_path: Path) -> None:
    assert auditor(project, "run", "--no-progress", umask=0o022).returncode == 0
    run = auditor(project, "report", "--format", "all", "--output", str(tmp_path / "out"), umask=0o002)
    assert run.returncode == 0, run.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()}
    assert modes == {"audit.json": 0o664, "audit.sarif": 0o664, "report.html": 0o664, "report.md": 0o664}
    assert stat.S_IMODE((project / "reports" / "audit.json").stat().st_mode) == 0o644  # run ran under umask 022
