"""``python -m auditor`` runs the command-line interface."""

from __future__ import annotations

from auditor.cli import main

raise SystemExit(main())
