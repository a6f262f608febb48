"""The auditor's pytest plugin: inert unless ``--audit`` is given."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--audit`` options."""
    group = parser.getgroup("auditor", "test-validity auditor")
    group.addoption("--audit", action="store_true", default=False, help="record what each test really did")
