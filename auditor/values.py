"""Readers of configuration values: each checks one TOML value's type and range, and names where it was read.

A wrong value is a :class:`~auditor.exceptions.ConfigError` that says where (``[tool.auditor.gate] min_quality``),
what was expected and what was given, so a typo never silently does nothing. Used by :mod:`auditor.config`.
"""

from __future__ import annotations

from typing import Any

from auditor.exceptions import ConfigError


def str_tuple(value: Any, where: str) -> tuple[str, ...]:
    """A string (one item) or a list of strings."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a string or a list of strings, got {value!r}")
    return tuple(value)


def str_dict(value: Any, where: str) -> dict[str, str]:
    """A table whose values are strings."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: expected a table of strings, got {value!r}")
    return {str(k): v for k, v in value.items()}


def text(value: Any, where: str, expected: str = "a string") -> str:
    """A non-empty string (``expected`` says what it names, for the error)."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected {expected}, got {value!r}")
    return value


def number_in(value: Any, where: str, low: float, high: float, what: str) -> float:
    """A number from ``low`` to ``high`` (``what`` says why, for the error)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a number from {low:g} to {high:g} ({what}), got {value!r}")
    return float(value)


def positive(value: Any, where: str) -> float:
    """A number above 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: expected a positive number, got {value!r}")
    return float(value)


def count(value: Any, where: str) -> int:
    """A whole number, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: expected a whole number >= 0, got {value!r}")
    return value


def module_names(value: Any, where: str) -> tuple[str, ...]:
    """Importable module names (``trio``, ``yaml``, ``google.protobuf``) or ``"*"``."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of module names, e.g. [\"trio\"] (or [\"*\"]), got {value!r}")
    for item in value:
        if item != "*" and not all(part.isidentifier() for part in item.split(".")):
            raise ConfigError(f"{where}: {item!r} is not a module name (expected e.g. \"trio\", \"google.protobuf\" or \"*\")")
    return tuple(value)
