"""Build hook: ship the repository's top-level ``templates/`` inside the wheel as ``auditor/report/templates/``.

Everything else about the package (name, dependencies, extras, package data) is declared in pyproject.toml.
The templates stay at the top of the repository (its fixed layout); ``auditor.report.base`` reads them with
``importlib.resources`` from the installed package, and from the repository's top in a checkout or an
editable install (which copies nothing). ``tests/test_packaging.py`` builds a wheel and checks both.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Where the templates go inside the package (``importlib.resources.files("auditor.report") / "templates"``).
PACKAGED = ("auditor", "report", "templates")


def _template_files() -> list[Path]:
    if not TEMPLATES.is_dir():
        raise SystemExit(f"setup.py: {TEMPLATES} is missing; the report templates must be shipped in the wheel")
    return sorted(p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


class BuildPyWithTemplates(build_py):
    """``build_py`` that also copies ``templates/`` into the built package (not for editable installs)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads templates/ where it is
        target = Path(self.build_lib, *PACKAGED)
        for source in _template_files():
            destination = target / source.relative_to(TEMPLATES)
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib, *PACKAGED)
            outputs += [str(target / p.relative_to(TEMPLATES)) for p in _template_files()]
        return outputs


setup(cmdclass={"build_py": BuildPyWithTemplates})
