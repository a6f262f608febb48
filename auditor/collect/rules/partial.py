"""Rules about a result checked only by a property that a wrong result shares: its class, its length.

Like :mod:`auditor.collect.rules.shallow`, each rule fires only when *every* check of the test has that
shape and the test's claim (name, docstring, class name) is not itself the property: ``isinstance(c,
OpenAIClient)`` is the whole oracle of ``test_factory_picks_open_ai`` and far too little for
``test_execute_write_fn``; ``len(calls) == 2`` is the claim of ``test_retries_once`` and not of
``test_set_tab_color``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from auditor.collect.claims import comments_of, words
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, constant_int
from auditor.collect.rules.shallow import TYPE_IS_THE_POINT, claim_words, check_tests

#: What a count of is a count of events: calls made, requests sent, events seen.
_HAPPENINGS = {"call", "calls", "request", "requests", "events", "event", "messages", "attempts", "retries",
               "records", "warnings", "errors", "spans", "hits", "invocations", "sent", "received"}
#: Standard-library value classes: their class says a value was made, never which (a UUID, a datetime).
#: A project class is left alone: which of its subclasses came back (``ZiB``, ``NativeEnvironment``,
#: ``ModelB`` from a union) is usually the very thing the test is about.
_VALUE_CLASSES = {
    "UUID", "datetime", "date", "time", "timedelta", "timezone", "Decimal", "Fraction", "Path", "PurePath",
    "PosixPath", "ModuleType", "OrderedDict", "defaultdict", "deque", "Counter", "bytearray", "memoryview",
    "IPv4Address", "IPv6Address", "ParseResult", "SplitResult", "struct_time", "StringIO", "BytesIO",
}
#: Words that make a count or a size what the test is about.
_COUNT_WORDS = {
    "len", "length", "lengths", "count", "counts", "counted", "counting", "size", "sizes", "number", "many",
    "empty", "once", "twice", "times", "limit", "limits", "max", "min", "maximum", "minimum", "truncate",
    "truncates", "truncated", "truncation", "pad", "padding", "padded", "split", "splits", "chunk", "chunks",
    "batch", "batches", "page", "pages", "paginate", "pagination", "retry", "retries", "dedupe", "duplicates",
    "unique", "all", "each", "every", "n", "top", "first", "last", "single", "one", "two", "three", "none",
    "long", "longer", "short", "shorter", "big", "bigger", "small", "smaller", "large", "larger", "grow", "grows",
    "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "dozen", "twenty", "hundred",
    "lines", "members", "items", "entries", "elements", "rows", "columns", "fields", "keys", "values", "parts",
}


def _class_checked(expr: ast.expr) -> ast.expr | None:
    """``isinstance(x, uuid.UUID)``: the class expression, when it is a standard-library value class."""
    if not (isinstance(expr, ast.Call) and call_name(expr) == "isinstance" and len(expr.args) == 2):
        return None
    kind = expr.args[1]
    kinds = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    for k in kinds:
        name = k.id if isinstance(k, ast.Name) else k.attr if isinstance(k, ast.Attribute) else ""
        if name not in _VALUE_CLASSES:
            return None
    return kind


@rule(
    "AUD150",
    "class-only",
    "medium",
    "Every check is only the standard value class of a result (isinstance(x, UUID)): any wrong value passes.",
    bad="def test_write_fn_in_background(db):\n    task = db.execute_write_fn(fn, block=False)\n"
    "    assert isinstance(task, uuid.UUID)\n",
    good="def test_write_fn_in_background(db):\n    task = db.execute_write_fn(fn, block=False)\n"
    "    assert db.wait(task) == 1\n",
)
def class_only(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    if not tests:
        return
    kinds = [_class_checked(expr) for _node, expr in tests]
    if any(k is None for k in kinds) or "type" in facts.claims:
        return
    claimed = claim_words(facts)
    if claimed & TYPE_IS_THE_POINT or claimed & {"type", "types", "class", "instance", "subclass", "factory"}:
        return
    # `test_picks_open_ai` checked with `isinstance(client, OpenAIClient)`: the class is what is claimed
    named = {w for k in kinds for w in words(ast.unparse(k)) if len(w) >= 3}  # type: ignore[arg-type]
    if named & claimed:
        return
    yield tests[0][0], f"only the class is checked (`{ast.unparse(tests[0][1])[:70]}`), never the value"


def _said(facts: TestFacts) -> set[str]:
    """:func:`claim_words`, the body's comments (``# powers and names have as many items``) and the module's name."""
    comments = comments_of(facts.node, facts.test.module.lines)
    # the module's name too: every test of `test_value_array_length.py` is about lengths
    module = facts.test.module.path.rsplit("/", 1)[-1].removesuffix(".py")
    return claim_words(facts) | set(words(" ".join([*comments, module])))


def _length_compare(expr: ast.expr) -> bool:
    """``len(x) == 84``, ``len(x) > 20``: a length against a number of 3 or more."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1) or isinstance(expr.ops[0], ast.NotEq):
        return False  # `len(lines) != 5`: that something did not all happen (yet), not a format's width
    left, right = expr.left, expr.comparators[0]
    sides = [left, right]
    lengths = [s for s in sides if isinstance(s, ast.Call) and call_name(s) == "len"]
    if not lengths:
        return False
    if any(_of_a_set(s) or _counts_matches(s) for s in lengths):
        return False  # `len(x) == len(set(x))`: no duplicates; `len([r for r in rows if r])`: a count of matches
    if len(lengths) == 2:
        # `len(after) > len(before)`: a change was seen (AUD143 judges the `>=` that sees none); `==` pairs items
        return False
    other = right if lengths[0] is left else left
    number = constant_int(other)
    # 0, 1 or 2 items is a count of events or calls, which is usually the point; 84 characters is a format
    return number is not None and number >= 3


def _of_a_set(length: ast.Call) -> bool:
    arg = length.args[0] if length.args else None
    return isinstance(arg, (ast.Set, ast.SetComp)) or (isinstance(arg, ast.Call) and call_name(arg) in ("set", "frozenset"))


def _counts_matches(length: ast.Call) -> bool:
    """``len([r for r in rows if r])``, ``len(list(events))``, ``len(session.exec_calls)``: how many things
    happened or matched, which is a claim about behaviour, not a format's width."""
    arg = length.args[0] if length.args else None
    if isinstance(arg, (ast.ListComp, ast.GeneratorExp)) or (isinstance(arg, ast.Call) and call_name(arg) == "list"):
        return True
    return arg is not None and any(w in _HAPPENINGS for w in words(ast.unparse(arg)))


def _written_out(node: ast.AST) -> bool:
    """A list, tuple or set literal the test builds (not a ``for a, b in`` target)."""
    return isinstance(node, ast.Set) or (isinstance(node, (ast.List, ast.Tuple)) and isinstance(node.ctx, ast.Load))


def _numbers(node: ast.AST) -> list[int]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and type(n.value) is int]


# LOW: 6 of the 13 labelled strangers' tests it flagged were weak: a count of what a query, a registry or a
# parser returns is often the claim itself (docs/rules.md, "Severity from strangers' tests")
@rule(
    "AUD151",
    "length-only",
    "low",
    "Every check is only a length (len(seq) == 84): a wrong result of the same length passes.",
    bad="def test_tab_color_sequence():\n    assert len(set_tab_color('#1f1f1f')) == 84\n",
    good="def test_tab_color_sequence():\n    assert set_tab_color('#1f1f1f').endswith('\\x1b]6;1;bg;blue;brightness;31\\a')\n",
)
def length_only(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    if not tests or not all(_length_compare(expr) for _node, expr in tests):
        return
    if _said(facts) & _COUNT_WORDS or "does-not-raise" in facts.claims:
        return  # a count is the claim, or the test only claims that something is accepted
    # `range(8)` calls, then `len(spans) == 8`: a count of what the test itself made
    compared = {n for _node, expr in tests for n in _numbers(expr)}
    elsewhere = _numbers(facts.node)
    if any(elsewhere.count(n) > sum(1 for _node, e in tests for m in _numbers(e) if m == n) for n in compared):
        return
    # `Sub([1, 2, 3])`, then `len(...) == 3`: the size of a collection the test wrote out
    if compared & {len(n.elts) for n in facts.nodes if _written_out(n)}:
        return
    yield tests[0][0], f"only a length is checked (`{ast.unparse(tests[0][1])[:70]}`), never the content"


#: Calls that say a file is there: ``os.path.exists(p)``, ``p.exists()``, ``p.is_file()``. (A directory's
#: existence is often all a test means; a file's content is what was made.)
_FILE_THERE = {"exists", "isfile", "is_file", "lexists"}
_PLACE_WORDS = {
    "dir", "dirs", "directory", "directories", "folder", "folders", "structure", "layout", "path", "paths",
    "parent", "parents", "exists", "exist", "isfile", "idempotent", "symlink", "symlinks", "tempdir", "location",
    "move", "moves", "moved", "rename", "renames", "copy", "copies", "backup", "backs", "name", "names",
}
_EXIT_ATTRS = {"exit_code", "returncode", "return_code", "status_code", "code"}


def _file_there(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Call) and call_name(expr) in _FILE_THERE


def _success_exit(expr: ast.expr) -> bool:
    """``result.exit_code == 0``, ``code == 0``: the command did not fail."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq)):
        return False
    subject = expr.left
    name = subject.attr if isinstance(subject, ast.Attribute) else subject.id if isinstance(subject, ast.Name) else ""
    return name in _EXIT_ATTRS and constant_int(expr.comparators[0]) in (0, 200, 201)


@rule(
    "AUD152",
    "file-exists-only",
    "medium",
    "The file the code should write is only checked to exist (beside a success exit): empty or wrong content passes.",
    bad="def test_export_writes_spec(runner):\n    result = runner.invoke(app, ['export', '-o', 'spec.yaml'])\n"
    "    assert result.exit_code == 0\n    assert os.path.exists('spec.yaml')\n",
    good="def test_export_writes_spec(runner):\n    result = runner.invoke(app, ['export', '-o', 'spec.yaml'])\n"
    "    assert yaml.safe_load(Path('spec.yaml').read_text())['openapi'] == '3.0.0'\n",
)
def file_exists_only(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    if not tests or "existence" in facts.claims or "does-not-raise" in facts.claims:
        return
    files = [node for node, expr in tests if _file_there(expr)]
    exits = [node for node, expr in tests if _success_exit(expr)]
    # Only after a command that ran (an exit status): a test of `mkdir -p` semantics, of a path helper or of
    # a scaffold's layout is about where things are, and there existence is the claim.
    if not files or not exits or len(files) + len(exits) != len(tests) or _said(facts) & _PLACE_WORDS:
        return
    yield files[0], "only the file's existence is checked, never what it holds"
