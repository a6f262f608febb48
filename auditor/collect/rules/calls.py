"""What a call in a test is: its name, whether it talks HTTP, whether it is a check."""

from __future__ import annotations

import ast
import re
from typing import Protocol

from auditor.collect.markers import dotted


class HelperIndex(Protocol):
    """Knows whether a project helper called ``name`` asserts (see :class:`~auditor.collect.rules.index.ProjectIndex`)."""

    def helper_checks(self, name: str, depth: int = 0) -> bool: ...


HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream"}
#: Receivers whose HTTP calls return a response object (``client.get``, ``requests.get``...).
CLIENT_HINTS = ("client", "session", "http", "api", "requests", "httpx", "browser", "ac", "conn", "app")
CHECK_PREFIXES = ("assert", "check", "verify", "expect", "validate", "ensure", "must", "should")
#: Words that make any snake_case name a check wherever they sit in it.
_CHECK_WORDS = {"assert", "raises", "warns"}
#: pytest/unittest calls that are checks by themselves.
CHECK_CALLS = {
    "raises",
    "warns",
    "deprecated_call",
    "fail",
    "fail_json",
    "raise_for_status",
    "assertRaises",
    "fnmatch_lines",
    "re_match_lines",
    "no_fnmatch_line",
    "no_re_match_line",
    "skipTest_never",
}
#: Context managers that are checks (``with pytest.raises(...)``, ``with self.assertRaises(...)``).
CHECK_CONTEXTS = {
    "raises",
    "warns",
    "deprecated_call",
    "assertRaises",
    "assertRaisesRegex",
    "assertWarns",
    "assertLogs",
    "assertNoLogs",
    "RaisesGroup",
    "does_not_raise",
}


_FLUENT = {"should", "should_not", "shouldnt", "must", "must_not"}


def _fluent(func: ast.expr) -> bool:
    """An assertion chain through a ``should`` attribute (``x.should.equal(1)``)."""
    node = func.value if isinstance(func, ast.Attribute) else None
    while isinstance(node, ast.Attribute):
        if node.attr in _FLUENT:
            return True
        node = node.value
    return False


def is_client_call(call: ast.Call) -> bool:
    """``client.get(...)``, ``requests.post(...)``, ``httpx.get(...)``, ``self.client.put(...)``."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in HTTP_METHODS:
        return False
    receiver = dotted(func.value).lower()
    if not receiver:
        return False
    last = receiver.split(".")[-1]
    return any(hint == last or hint in last for hint in CLIENT_HINTS if len(hint) > 2) or last in ("c", "ac")


def uses_requests(call: ast.Call) -> bool:
    """True when the response comes from ``requests`` (whose ``Response.__bool__`` is ``.ok``)."""
    receiver = dotted(call.func.value) if isinstance(call.func, ast.Attribute) else ""
    return receiver.split(".")[0] == "requests" or "session" in receiver.lower()


def call_name(call: ast.Call) -> str:
    """The last part of a call's dotted name (``raises`` for ``pytest.raises(...)``)."""
    cached = getattr(call, "_auditor_name", None)
    if cached is None:
        func = call.func
        if isinstance(func, ast.Attribute):
            cached = func.attr
        elif isinstance(func, ast.Name):
            cached = func.id
        else:
            name = dotted(func)
            cached = name.split(".")[-1] if name else ""
        call._auditor_name = cached  # type: ignore[attr-defined]  # rules ask for the same name many times
    return cached


def is_check_call(call: ast.Call, index: HelperIndex | None, depth: int = 0) -> bool:
    """A call that fails the test when something is wrong (pytest/unittest/mock checks, asserting helpers)."""
    name = call_name(call)
    if not name:
        return False
    bare = name.lstrip("_").lower()
    # `test_helper(...)` runs another test's checks; `TestClient(app)` only builds a client.
    runs_a_test = bare.startswith("test_")
    if name in CHECK_CALLS or name in CHECK_CONTEXTS or bare.startswith(CHECK_PREFIXES) or runs_a_test:
        return True
    if ("assert" in bare or "raises" in bare or "warns" in bare) and _CHECK_WORDS & set(bare.split("_")):
        return True  # `xp_assert_close`, `warns_deprecated_sympy`: a checking helper under a namespace prefix
    if name in ("run", "check_call", "check_output") and any(
        k.arg == "check" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords
    ):
        return True
    if name in ("check_call", "check_output"):
        return True
    if _fluent(call.func):
        return True  # the `sure` library: `response.status.should.equal(200)`, `x.should_not.be.none`
    if name == "benchmark" or name == "pedantic":
        return False
    return index is not None and index.helper_checks(name, depth)


#: A compiled pattern's name: ``NUMBER_RE``, ``SIMPLE_INTERPOLATION_PATTERN``, ``rx``.
_PATTERN_NAME = re.compile(r"(^|_)(re|rx|regex|regexp|pattern|pat)$", re.IGNORECASE)


def product_pattern_match(call: ast.Call) -> bool:
    """``grammar_parser.SIMPLE_INTERPOLATION_PATTERN.match(text)``: a module's pattern asked whether it accepts the
    text. The pattern is the code under test; ``re.match(r"\\d{4}", out)`` is the test's format check instead."""
    if call_name(call) not in ("search", "match", "fullmatch") or not isinstance(call.func, ast.Attribute):
        return False
    module, _, pattern = dotted(call.func.value).rpartition(".")
    return bool(module) and module not in ("re", "regex") and bool(_PATTERN_NAME.search(pattern))
