"""pytest's own collection settings, read from its config files without importing pytest's config code.

pytest uses the first file that holds settings, in this order: ``pytest.ini``/``.pytest.ini``,
``pyproject.toml`` (``[tool.pytest]`` in pytest 9, else ``[tool.pytest.ini_options]``), ``tox.ini``
(``[pytest]``), ``setup.cfg`` (``[tool:pytest]``). Name matching follows ``_pytest.python``.
"""

from __future__ import annotations

import configparser
import fnmatch
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import tomllib

DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
DEFAULT_PYTHON_CLASSES = ("Test",)
DEFAULT_PYTHON_FUNCTIONS = ("test",)
DEFAULT_NORECURSEDIRS = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}")


@dataclass(frozen=True)
class PytestSettings:
    """The settings that decide what pytest collects, and where they came from."""

    testpaths: tuple[str, ...] = ()
    python_files: tuple[str, ...] = DEFAULT_PYTHON_FILES
    python_classes: tuple[str, ...] = DEFAULT_PYTHON_CLASSES
    python_functions: tuple[str, ...] = DEFAULT_PYTHON_FUNCTIONS
    norecursedirs: tuple[str, ...] = DEFAULT_NORECURSEDIRS
    addopts: tuple[str, ...] = ()
    xfail_strict: bool = False
    source: str | None = None  # the file the settings came from, None for pytest's defaults

    def file_matches(self, path: PurePath) -> bool:
        """True when pytest would collect the module at ``path`` while recursing a directory."""
        return any(_fnmatch_ex(pattern, path) for pattern in self.python_files)

    def function_matches(self, name: str) -> bool:
        """True when ``name`` is a test function name (prefix or glob, as pytest's ``_matches_prefix_or_glob_option``)."""
        return _prefix_or_glob(name, self.python_functions)

    def class_matches(self, name: str) -> bool:
        """True when ``name`` is a test class name."""
        return _prefix_or_glob(name, self.python_classes)

    def ignored_dir(self, path: PurePath) -> str | None:
        """The ``norecursedirs`` pattern that makes pytest skip the directory ``path``, else ``None``."""
        for pattern in self.norecursedirs:
            if _fnmatch_ex(pattern, path):
                return pattern
        return None


def _prefix_or_glob(name: str, options: tuple[str, ...]) -> bool:
    for option in options:
        if name.startswith(option):
            return True
        # pytest treats an option with glob characters as a glob, not a prefix.
        if ("*" in option or "?" in option or "[" in option) and fnmatch.fnmatch(name, option):
            return True
    return False


def _fnmatch_ex(pattern: str, path: PurePath) -> bool:
    """pytest's ``fnmatch_ex``: a pattern without a separator matches the basename."""
    if "/" not in pattern:
        return fnmatch.fnmatch(path.name, pattern)
    if not pattern.startswith("/") and not pattern.startswith("*"):
        pattern = "*/" + pattern
    return fnmatch.fnmatch(path.as_posix(), pattern)


def _split_lines(value: Any) -> tuple[str, ...]:
    """ini values are whitespace/line separated; TOML values may be lists or strings."""
    if isinstance(value, (list, tuple)):
        return tuple(str(item) for item in value)
    return tuple(str(value).split())


def _settings(values: dict[str, Any], source: Path) -> PytestSettings:
    kwargs: dict[str, Any] = {"source": str(source)}
    for key in ("testpaths", "python_files", "python_classes", "python_functions", "norecursedirs"):
        if key in values:
            kwargs[key] = _split_lines(values[key])
    if "addopts" in values:
        raw = values["addopts"]
        kwargs["addopts"] = tuple(raw) if isinstance(raw, list) else tuple(shlex.split(str(raw)))
    strict = values.get("xfail_strict", values.get("strict_xfail", values.get("strict", False)))
    kwargs["xfail_strict"] = str(strict).strip().lower() in ("true", "1", "yes")
    return PytestSettings(**kwargs)


def _ini_section(path: Path, section: str) -> dict[str, Any] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None
    if not parser.has_section(section):
        return None
    return dict(parser.items(section))


def read_pytest_settings(root: Path) -> PytestSettings:
    """The pytest settings that apply to the project at ``root`` (pytest's defaults when none)."""
    for name in ("pytest.ini", ".pytest.ini"):
        path = root / name
        if path.is_file():
            # pytest.ini wins even when it has no [pytest] section.
            return _settings(_ini_section(path, "pytest") or {}, path)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            tool = {}
        pytest_table = tool.get("pytest")
        if isinstance(pytest_table, dict):
            native = {k: v for k, v in pytest_table.items() if k != "ini_options"}
            legacy = pytest_table.get("ini_options")
            if native:
                return _settings(native, pyproject)
            if isinstance(legacy, dict):
                return _settings(legacy, pyproject)
    tox = root / "tox.ini"
    if tox.is_file():
        values = _ini_section(tox, "pytest")
        if values is not None:
            return _settings(values, tox)
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        values = _ini_section(setup_cfg, "tool:pytest")
        if values is not None:
            return _settings(values, setup_cfg)
    return PytestSettings()


def project_root(path: Path | str) -> Path:
    """The project a path belongs to: the nearest folder at or above it holding pyproject.toml, else the path's folder."""
    start = Path(path).resolve()
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start
