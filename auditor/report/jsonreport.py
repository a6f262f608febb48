"""JSON report: the audit in its documented, versioned form (``docs/schema.md``)."""

from __future__ import annotations

from auditor.model import Audit
from auditor.report.base import RenderContext
from auditor.serialize import dumps


class JsonReporter:
    """Writes ``audit.json``, the input of every other report, the gate and ``merge``."""

    name = "json"
    filename = "audit.json"

    def render(self, audit: Audit, context: RenderContext) -> str:
        """The audit as indented JSON (``format`` first)."""
        return dumps(audit)
