"""auditor: are our tests real, did they run, and how done are we actually?"""

from __future__ import annotations

__version__ = "0.1.0"
