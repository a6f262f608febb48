"""Inline suppressions: ``# auditor: ignore[AUD123] <reason>`` on a finding's line or on its test's ``def``.

A reason is required and every suppression must silence something: a suppression without a
reason, naming an unknown rule, or matching no finding is itself reported (AUD905/AUD906), so
stale suppressions cannot pile up unseen. One on a test's ``def`` covers every finding about that test,
from every origin and on every parametrized instance (``test_x[1]``); runtime and probe findings are
put on the ``def`` line, and are silenced once the tests ran (:mod:`auditor.collect.settle`).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditor.model import Finding

_PATTERN = re.compile(r"#\s*auditor:\s*ignore\[([^\]]*)\]\s*(.*)$")


@dataclass(frozen=True)
class Suppression:
    """One ``# auditor: ignore[...]`` comment."""

    path: str
    line: int
    rules: tuple[str, ...]  # ids or slugs, as written
    reason: str
    #: Node id of the test whose ``def`` line carries the comment (it then covers the whole test).
    test_id: str | None = None


def parse_suppressions(path: str, lines: Sequence[str]) -> list[Suppression]:
    """Every suppression comment in a file's ``lines`` (1-based line numbers in the result).

    Only real comments count (found with :mod:`tokenize`), so the syntax quoted inside a string, as
    in a test of this very feature, suppresses nothing.
    """
    if not any("auditor:" in text for text in lines):
        return []  # the common case, without paying for tokenize
    found = []
    source = io.StringIO("\n".join(lines) + "\n")
    try:
        for token in tokenize.generate_tokens(source.readline):
            if token.type != tokenize.COMMENT or "auditor:" not in token.string:
                continue
            match = _PATTERN.search(token.string)
            if match is None:
                continue
            rules = tuple(part.strip() for part in match.group(1).split(",") if part.strip())
            found.append(Suppression(path=path, line=token.start[0], rules=rules, reason=match.group(2).strip()))
    except (tokenize.TokenError, SyntaxError):
        return found  # the file parsed as Python, so this is only an unterminated construct at the end
    return found


def _names(finding: Finding) -> tuple[str, str]:
    return finding.rule, finding.slug


def covers(suppression: Suppression, finding: Finding) -> bool:
    """True when ``suppression`` silences ``finding`` (same file; its line, or its test's def)."""
    if suppression.path != finding.path or not suppression.reason:
        return False
    if not any(rule in _names(finding) for rule in suppression.rules):
        return False
    if suppression.line == finding.line:
        return True
    # A runtime or probe finding names the instance it is about: `path::test_x[1]` is `path::test_x`'s.
    return suppression.test_id is not None and suppression.test_id == (finding.test_id or "").split("[", 1)[0]


def apply(findings: Iterable[Finding], suppressions: Sequence[Suppression]) -> tuple[list[Finding], set[Suppression]]:
    """Split off suppressed findings: returns (kept findings, suppressions that silenced something)."""
    by_path: dict[str, list[Suppression]] = {}
    for item in suppressions:
        by_path.setdefault(item.path, []).append(item)
    kept: list[Finding] = []
    used: set[Suppression] = set()
    for finding in findings:
        hits = [item for item in by_path.get(finding.path, ()) if covers(item, finding)]
        if hits:
            used.update(hits)
        else:
            kept.append(finding)
    return kept, used
