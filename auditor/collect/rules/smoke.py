"""Rules about tests that check nothing: such a test proves only that the code ran without raising.

That is the whole claim of ``test_parses_legacy_marker`` (``Marker(s)`` raises on a bad marker) and far too
little for ``test_render_report``. The body alone rarely tells the two apart: on strangers' suites
(bench/blind/wild) a test without any check was weak 3 times in 12. So AUD107 (medium) speaks only when the
test itself shows that a check was wanted: it prints or logs a result for a human to read, asks for an
output-capturing fixture it never reads, throws away a value it computed, returns one for pytest to ignore,
says it exists for coverage, or its name or claim promises an output. AUD153 (low) names every other such test a smoke
test, so a reader can still find them all.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from auditor.collect.claims import comments_of, words
from auditor.collect.markers import dotted, is_test_metadata
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name, is_client_call, uses_requests
from auditor.collect.rules.facts import TestFacts
from auditor.collect.rules.structure import records_measurement

_PRINTS = {"print", "pprint", "pprint.pprint", "pp"}
_LOGGERS = {"logging", "logger", "log", "LOGGER", "LOG", "_log", "_logger"}
_LOG_LEVELS = {"debug", "info", "warning", "warn", "error", "critical", "exception"}
_CAPTURES = ("capsys", "capfd", "capsysbinary", "capfdbinary", "caplog")
#: Builtins and serialisers whose value is their only effect: calling one as a statement discards the answer.
_PURE = {"repr", "str", "format", "len", "sorted", "bytes", "dumps", "json", "to_json", "to_dict", "model_dump"}
#: Name words that promise an output the test would have to look at.
_OUTPUT_WORDS = {"display", "displays", "show", "shows", "render", "renders", "rendered", "output", "outputs",
                 "print", "prints", "returns", "result", "results"}
#: Claims that name what must be seen, not merely survived: "must not crash the server" (liveness), "returns
#: 404" (status), "streams its events" (streaming). Nothing is seen when nothing is checked.
_OBSERVABLE_CLAIMS = ("liveness", "status", "timing", "shape", "streaming", "completion", "persistence", "type",
                      "request")
_COVERAGE = re.compile(r"\bcoverage\b", re.IGNORECASE)
#: Findings that already say what is wrong with a test that checks nothing.
_SUPERSEDED_BY = ("AUD114", "AUD115", "AUD113", "AUD127", "AUD128", "AUD129", "AUD149")


def _checks_nothing(facts: TestFacts) -> bool:
    return bool(
        facts.body
        and not facts.checks
        and "benchmark" not in facts.test.case.fixtures
        and not facts.checked_by_plugin
        # pytest-httpx and respx fail the test when a mocked response is never requested (or a request not mocked)
        and not {"httpx_mock", "respx_mock"} & set(facts.test.case.fixtures)
        and not records_measurement(facts)
        # Not raising is the whole claim of `test_close_twice_does_not_raise` or `test_template_is_hashable`.
        and "does-not-raise" not in facts.claims
        and not _body_from_decorator(facts)
    )


def _body_from_decorator(facts: TestFacts) -> bool:
    """``@filesBasedTest`` over ``pass``: a project decorator supplies the test (AUD114 leaves it alone too)."""
    empty = all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                for s in facts.node.body)
    return empty and _project_decorated(facts)


def _project_decorated(facts: TestFacts) -> bool:
    """A decorator that is no pytest or unittest metadata (``@json_test()``, ``@filesBasedTest``): it may wrap the test."""
    return not all(is_test_metadata(d) for d in facts.node.decorator_list)


def _shows_output(facts: TestFacts) -> bool:
    for call in facts.calls:
        name = dotted(call.func)
        if name in _PRINTS:
            return True
        receiver, _, level = name.rpartition(".")
        if level in _LOG_LEVELS and receiver.split(".")[-1] in _LOGGERS:
            return True
    return False


def _discards_a_value(facts: TestFacts) -> str | None:
    for statement in facts.of(ast.Expr):
        value = statement.value  # type: ignore[attr-defined]
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call):
            continue
        if call_name(value) in _PURE:
            return f"throws away the value of {dotted(value.func)}()"
        if is_client_call(value) and not uses_requests(value):
            return "throws away the response of its request"
    for assign in facts.of(ast.Assign):
        targets = assign.targets  # type: ignore[attr-defined]
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and isinstance(assign.value, ast.Call):  # type: ignore[attr-defined]
            name = targets[0].id
            in_class = any(isinstance(a, ast.ClassDef) for a in facts.ancestors(assign))  # a field, read by its class
            if not name.startswith("_") and not in_class and not facts.name_uses(name):
                return f"never reads the {name!r} it computed"
    return None


def evidence_of_a_wanted_check(facts: TestFacts) -> str | None:
    """Why the test looks like it meant to check a result it never checks, or ``None`` when it is a smoke test."""
    claimed = [claim for claim in _OBSERVABLE_CLAIMS if claim in facts.claims]
    if claimed:
        return f"claims {claimed[0]}, which only a check can see"
    if _shows_output(facts):
        return "prints or logs what it gets, for a person to read"
    for fixture in _CAPTURES:
        if fixture in facts.test.case.fixtures and not facts.name_uses(fixture):
            return f"asks for {fixture} and never reads it"
    discarded = _discards_a_value(facts)
    if discarded:
        return discarded
    if any(isinstance(r.value, ast.expr) and not (isinstance(r.value, ast.Constant) and r.value.value is None)
           for r in facts.of(ast.Return) if facts.parents.get(id(r)) is facts.node) and (  # type: ignore[attr-defined]
            # tinycss2's `@json_test()` compares what the function returns with a JSON file: the decorator reads it
            not _project_decorated(facts)):
        return "returns a value, which pytest ignores"
    said = " ".join([ast.get_docstring(facts.node) or "", *comments_of(facts.node, facts.test.module.lines)])
    if _COVERAGE.search(said):
        return "says it is there for coverage"
    promised = _OUTPUT_WORDS & set(words(facts.node.name))
    if promised:
        return f"is named for an output ({sorted(promised)[0]}) it never looks at"
    return None


def _evidence_once(facts: TestFacts) -> str | None:
    """:func:`evidence_of_a_wanted_check`, read once for AUD107 and AUD153 alike."""
    if "smoke:evidence" not in facts.memo:
        facts.memo["smoke:evidence"] = evidence_of_a_wanted_check(facts)
    return facts.memo["smoke:evidence"]  # type: ignore[return-value]


@rule(
    "AUD107",
    "no-assertion",
    "medium",
    "The test checks nothing, yet it shows it wanted to (it prints the result, drops a value it computed): "
    "any answer passes.",
    bad="def test_create_item(client):\n    client.post('/items', json={'name': 'a'})\n",
    good="def test_create_item(client):\n    r = client.post('/items', json={'name': 'a'})\n"
    "    assert r.json() == {'id': 1, 'name': 'a'}\n",
    superseded_by=_SUPERSEDED_BY,
)
def no_assertion(facts: TestFacts) -> Iterator[Hit]:
    if _checks_nothing(facts):
        evidence = _evidence_once(facts)
        if evidence:
            yield facts.node, f"{facts.node.name} has no assertion and calls no checking helper, though it {evidence}"


@rule(
    "AUD153",
    "smoke-only",
    "low",
    "The test checks nothing: it proves only that the code runs without raising, enough only when that is "
    "its claim.",
    bad="def test_vacuum(db):\n    db['data'].insert({'a': 1})\n    db.vacuum()\n",
    good="def test_vacuum(db):\n    db['data'].insert({'a': 1})\n    db.vacuum()\n"
    "    assert list(db['data'].rows) == [{'a': 1}]\n",
    superseded_by=(*_SUPERSEDED_BY, "AUD107"),
)
def smoke_only(facts: TestFacts) -> Iterator[Hit]:
    if _checks_nothing(facts) and _evidence_once(facts) is None:
        yield facts.node, f"{facts.node.name} checks nothing: it fails only if the code raises"
