"""The project's own packages that are HTTP client libraries: their suites' servers are fixtures.

In httpx's or requests' own suite, the client library the interceptor sees is the code under test: response
sabotage would sabotage it (``auditor probe`` judges those tests ``n/a``), and a 5xx a test reads is an answer
it set up to see what the client does with it (not AUD201).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: Client libraries the interceptor sees, as ``HttpExchange.client`` names them.
CLIENT_LIBRARIES = frozenset({"httpx", "httpx2", "requests"})


def own_clients(root: str | Path, configured: Iterable[str] = ()) -> frozenset[str]:
    """The client libraries that are the code under test: found at ``root`` or under ``root/src``, or configured."""
    base = Path(root)
    found = {name for name in CLIENT_LIBRARIES
             if (base / name / "__init__.py").is_file() or (base / "src" / name / "__init__.py").is_file()}
    return frozenset(found | set(configured))
