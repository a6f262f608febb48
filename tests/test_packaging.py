"""Packaging (issue 15): a light core install, the server as an extra, templates and the fixture model in the wheel.

The whole path a user takes (wheel into a fresh venv without the extra, an audit outside the clone) is
``.ci/wheel_check``; these tests build a real wheel and check what it holds and declares.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from review_audit import review_audit

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

#: Import name -> distribution, for the auditor's imports.
DISTRIBUTIONS = {"typer": "typer", "click": "click", "rich": "rich", "jinja2": "jinja2", "pytest": "pytest",
                 "_pytest": "pytest", "psutil": "psutil"}
#: Imported by the auditor only when the audited project has them (guarded imports of the HTTP interceptors).
OPTIONAL = {"requests", "respx", "responses", "starlette", "anyio", "httpx", "httpx2"}
#: Never needed by the core: the reference server's dependencies.
SERVER_ONLY = {"mlx", "mlx-lm", "fastapi", "uvicorn", "numpy", "transformers"}


def third_party_imports(package: Path) -> set[str]:
    """Top-level names of every module ``package`` imports (anywhere in a file) that is not stdlib or its own."""
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            found |= {name.split(".")[0] for name in names}
    return {name for name in found if name not in sys.stdlib_module_names and name not in ("auditor", "server")}


def requirement_names(requirements: list[str]) -> set[str]:
    return {req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
            for req in requirements}


def test_the_core_depends_on_exactly_what_the_auditor_imports() -> None:
    imported = third_party_imports(REPO / "auditor")
    assert imported - OPTIONAL <= set(DISTRIBUTIONS), f"undeclared import: {imported - OPTIONAL - set(DISTRIBUTIONS)}"
    core = requirement_names(PYPROJECT["project"]["dependencies"])
    # pytest-json-report is loaded by name on the pytest command line (``--json-report``), never imported.
    assert core == {DISTRIBUTIONS[name] for name in imported - OPTIONAL} | {"pytest-json-report"}
    assert not core & SERVER_ONLY


def test_the_server_extra_covers_the_server_and_dev_keeps_everything() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    server = requirement_names(extras["server"])
    # starlette and anyio come with fastapi; tokenizers/transformers only train the fixture model (dev, mlx-lm).
    needed = {name.replace("_", "-") for name in third_party_imports(REPO / "server")} - {"starlette", "anyio",
                                                                                            "tokenizers", "transformers"}
    assert needed <= server | requirement_names(PYPROJECT["project"]["dependencies"])
    assert "auditor[server]" in extras["dev"]
    assert {"pytest-xdist", "httpx", "setuptools", "wheel"} <= requirement_names(extras["dev"])


def test_requires_python_is_what_the_code_runs_on() -> None:
    assert "tomllib" in (REPO / "auditor" / "config.py").read_text(encoding="utf-8")  # 3.11+
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built by pip from a copy of the tree (tracked and new files, as a clean clone holds them)."""
    tmp = tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (tmp / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tmp / "src" / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(tmp / "dist"), str(tmp / "src")], capture_output=True, text=True, timeout=300,
                           check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    (found,) = (tmp / "dist").glob("auditor-*.whl")
    return found


def test_the_wheel_ships_every_template_and_the_fixture_model(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"auditor/report/templates/{p.relative_to(REPO / 'templates').as_posix()}"
                 for p in (REPO / "templates").rglob("*") if p.is_file()}
    model = {f"server/fixture/model/{p.name}" for p in (REPO / "server" / "fixture" / "model").iterdir()}
    assert {"auditor/report/templates/report.html.j2", "auditor/report/templates/report.md.j2"} <= templates
    assert templates <= names
    assert {"server/fixture/model/model.safetensors", "server/fixture/model/tokenizer.json"} <= model <= names
    assert not any(name.startswith(("templates/", "tests/", "suites/")) for name in names)


def test_the_wheel_declares_the_core_the_extras_and_python(wheel: Path) -> None:
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA").decode()
    requires = [line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist: ")]
    core = [req for req in requires if "extra ==" not in req]
    assert requirement_names(core) == requirement_names(PYPROJECT["project"]["dependencies"])
    assert not requirement_names(core) & SERVER_ONLY
    assert {"mlx-lm", "fastapi", "uvicorn"} <= requirement_names([r for r in requires if 'extra == "server"' in r])
    assert "Requires-Python: >=3.11" in metadata.splitlines()


def test_the_installed_package_reads_its_own_templates(wheel: Path, tmp_path: Path) -> None:
    """Unpacked wheel first on the path, run from outside the clone: templates come from the package, and render."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    audit = tmp_path / "audit.json"
    from auditor.serialize import dumps

    audit.write_text(dumps(review_audit(with_scores=True)), encoding="utf-8")
    code = ("import sys; from auditor.report.base import template_loader; from auditor.cli import main; "
            "loader = template_loader(); print(type(loader).__name__, loader.package_name, "
            "sys.modules['auditor'].__file__); sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", code, "report", "--audit", str(audit), "-f", "markdown", "-f", "html",
                          "-o", str(tmp_path / "out"), "--root", str(tmp_path)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, check=False)
    assert run.returncode == 0, run.stderr
    loader, package, module = run.stdout.splitlines()[0].split()
    assert (loader, package) == ("PackageLoader", "auditor.report") and module.startswith(str(site))
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "# Test audit: review" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_a_checkout_reads_the_templates_at_the_top_of_the_repository() -> None:
    from auditor.report.base import REPOSITORY_TEMPLATES, template_loader

    loader = template_loader()
    assert REPOSITORY_TEMPLATES == REPO / "templates"
    assert type(loader).__name__ == "FileSystemLoader" and loader.searchpath == [str(REPO / "templates")]


def test_python_m_server_without_the_extra_names_it_in_one_line(tmp_path: Path) -> None:
    # -S: no site-packages at all, so mlx, fastapi and uvicorn are really absent; the server package is the checkout's.
    run = subprocess.run([sys.executable, "-S", "-m", "server"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1
    assert "is not installed" in run.stderr and "pip install 'auditor[server]'" in run.stderr
