"""A test that acts after its last check and waits: the effect it waited for is never looked at.

``button.click()`` then ``page.wait_for_timeout(500)`` and the test ends, or ``with spinner: sleep(0.01)`` after
the only assertion: the action the test is named for runs, and a broken one passes (the check was forgotten).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk

#: Calls that end or undo things (cleanup), wait, or report: none of them is the action a test is about.
_CLEANUP = ("close", "aclose", "stop", "shutdown", "join", "cancel", "kill", "terminate", "cleanup", "clean",
            "disconnect", "reset", "clear", "remove", "unlink", "delete", "teardown", "tear_down", "dispose",
            "exit", "quit", "release", "undo", "restore", "wait", "sleep", "print", "log", "debug", "info",
            "warning", "error", "flush", "rmtree", "drop", "free", "collect", "gc", "unregister", "detach",
            "set", "put", "append", "extend", "update", "pop", "add", "write", "save", "dump", "record",
            "addcleanup", "docleanups", "unpatch", "rollback", "commit", "sync", "finalize", "assert", "check",
            "verify", "expect", "validate", "ensure")
_STDLIB_RECEIVERS = {"time", "os", "sys", "shutil", "logging", "gc", "asyncio", "anyio", "trio", "threading",
                     "warnings", "json", "io", "pathlib", "builtins", "print", "logger", "log"}


def _action(statement: ast.stmt) -> ast.expr | None:
    """The product call a trailing statement makes (``button.click()``), or the object it enters (``with sp:``)."""
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return statement.items[0].context_expr
    value = statement.value if isinstance(statement, ast.Expr) else None
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return None
    name = call_name(value).lstrip("_")
    root = dotted(value.func).split(".")[0]
    if not name or name.lower().startswith(_CLEANUP) or root in _STDLIB_RECEIVERS:
        return None
    return value


_WAITS = {"sleep", "wait_for_timeout", "wait", "wait_for", "wait_until"}


def _waits(statement: ast.stmt) -> bool:
    return any(isinstance(n, ast.Call) and call_name(n) in _WAITS for n in walk(statement))


# LOW: 2 of the 7 labelled strangers' tests it flagged were weak (docs/rules.md, "Severity from strangers' tests")
@rule(
    "AUD146",
    "unchecked-final-action",
    "low",
    "The test acts after its last check, waits for the effect and ends: what that action did is never checked.",
    bad="def test_theme_toggle(page):\n    button = page.locator('#theme')\n    assert button.is_visible()\n"
    "    button.click()\n    page.wait_for_timeout(500)\n",
    good="def test_theme_toggle(page):\n    button = page.locator('#theme')\n    assert button.is_visible()\n"
    "    button.click()\n    assert 'dark' in page.locator('html').get_attribute('class')\n",
)
def unchecked_final_action(facts: TestFacts) -> Iterator[Hit]:
    body = facts.body
    if not body or isinstance(body[-1], ast.Assert) or not facts.checks:
        return  # most tests end with their last check
    checks = {id(c) for c in facts.checks}
    if id(body[-1]) in checks:
        return
    last = next((i for i in range(len(body) - 1, -1, -1) if any(id(n) in checks for n in walk(body[i]))), None)
    if last is None or last == len(body) - 1:
        return
    trailing = body[last + 1 :]
    for index, statement in enumerate(trailing):
        action = _action(statement)
        # waiting after (or while) acting is waiting for an effect: the check of that effect is what is missing
        if action is not None and any(_waits(s) for s in trailing[index:]) and "does-not-raise" not in facts.claims:
            yield statement, f"`{ast.unparse(action)[:60]}` runs after the last check, the test waits, and ends"
            return
