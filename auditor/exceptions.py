"""Exceptions and warnings raised by the auditor.

    AuditorError            base; carries a ``slug`` and becomes a one-line CLI message
    ├── ConfigError         [tool.auditor] or a CLI option is wrong (exit 2)
    ├── DataError           an input file (audit JSON, results, baseline) cannot be read (exit 2)
    ├── CollectError        the project cannot be inventoried at all
    └── RunError            a suite could not be started
    AuditorWarning          something the user should know; config can silence it by slug
"""

from __future__ import annotations


class AuditorError(Exception):
    """Base of every error the auditor reports to the user as a single line."""

    slug = "auditor-error"


class ConfigError(AuditorError):
    """The configuration or a command-line option is invalid."""

    slug = "config-error"


class DataError(AuditorError):
    """An input file is missing, unreadable or in an unsupported format."""

    slug = "data-error"


class CollectError(AuditorError):
    """The project's tests could not be inventoried."""

    slug = "collect-error"


class RunError(AuditorError):
    """A suite could not be started."""

    slug = "run-error"


class AuditorWarning(UserWarning):
    """A warning with a slug that ``[tool.auditor] disable_warnings`` can silence."""

    def __init__(self, message: str, slug: str = "warning") -> None:
        super().__init__(message)
        self.slug = slug
