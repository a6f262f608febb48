"""Rules about checks too shallow for what the test claims: truthiness, a builtin type, one of several texts
(an exit status alone: exits.py).

Each rule fires only when *every* check of the test has the shallow shape, and only when the test's claim
(its name and docstring) is not itself the shallow property: ``isinstance(x, bytes)`` is the whole oracle of
``test_machine_id_is_bytes`` and far too little for ``test_get_machine_id``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.markers import dotted
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import CHECK_CALLS, call_name
from auditor.collect.rules.facts import TestFacts, constant_int

#: unittest assertions, read as the plain ``assert`` they stand for.
_UNITTEST_TRUTH = {"assertTrue", "assert_", "failUnless"}


def check_tests(facts: TestFacts) -> list[tuple[ast.AST, ast.expr]] | None:
    """(node, asserted expression) for every check, or ``None`` when a check is not a plain assertion.

    ``self.assertTrue(x)`` reads as ``x``, ``self.assertIsInstance(x, T)`` as ``isinstance(x, T)`` and
    ``self.assertEqual(a, b)`` as ``a == b``; a helper, ``pytest.raises`` or a mock assertion makes it ``None``.
    """
    cached = facts.memo.get("check_tests", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    found: list[tuple[ast.AST, ast.expr]] | None = []
    kept: set[int] | None = None
    for check in facts.checks:
        if isinstance(check, ast.Assert):
            found.append((check, check.test))  # type: ignore[union-attr]
            continue
        if kept is None:
            kept = {id(node.value) for node in facts.of(ast.Assign)}  # type: ignore[attr-defined]
        if id(check) in kept and call_name(check) not in CHECK_CALLS:  # type: ignore[arg-type]
            continue  # `results = detector.check_file(f)`: named like a check, kept like a value
        expr = _unittest_expr(check) if isinstance(check, ast.Call) else None
        if expr is None:
            found = None
            break
        found.append((check, expr))  # type: ignore[union-attr]
    facts.memo["check_tests"] = found
    return found


_UNITTEST_COMPARE = {
    "assertEqual": ast.Eq,
    "assertEquals": ast.Eq,
    "assertNotEqual": ast.NotEq,
    "assertIn": ast.In,
    "assertNotIn": ast.NotIn,
    "assertIs": ast.Is,
    "assertIsNot": ast.IsNot,
    "assertGreater": ast.Gt,
    "assertGreaterEqual": ast.GtE,
    "assertLess": ast.Lt,
    "assertLessEqual": ast.LtE,
}


def _unittest_expr(call: ast.Call) -> ast.expr | None:
    name = call_name(call)
    if not dotted(call.func).startswith("self."):
        return None
    if name in _UNITTEST_TRUTH and call.args:
        return call.args[0]
    if name == "assertFalse" and call.args:
        return ast.UnaryOp(op=ast.Not(), operand=call.args[0])
    if name == "assertIsInstance" and len(call.args) >= 2:
        return ast.Call(func=ast.Name(id="isinstance", ctx=ast.Load()), args=call.args[:2], keywords=[])
    if name in ("assertIsNotNone", "assertIsNone") and call.args:
        op = ast.IsNot() if name == "assertIsNotNone" else ast.Is()
        return ast.Compare(left=call.args[0], ops=[op], comparators=[ast.Constant(None)])
    if name in _UNITTEST_COMPARE and len(call.args) >= 2:
        return ast.Compare(left=call.args[0], ops=[_UNITTEST_COMPARE[name]()], comparators=[call.args[1]])
    return None


def claim_words(facts: TestFacts) -> set[str]:
    """The words of the test's name and docstring (and its class's name): what a shallow check may be enough for."""
    text = " ".join([facts.node.name, *(c.name for c in facts.test.classes), ast.get_docstring(facts.node) or ""])
    return set(words(text))


# --- truthiness ------------------------------------------------------------------------------------------

#: Name parts that make a value read as a yes/no answer (``is_ready``, ``closed``, ``mock.called``).
_BOOL_PREFIXES = ("is_", "has_", "have_", "can_", "should_", "was_", "were_", "did_", "does_", "will_", "needs_",
                  "allow", "enable", "support", "use_", "contains", "exists", "match", "check", "verify", "valid")
_BOOL_WORDS = {"ok", "done", "valid", "alive", "ready", "active", "running", "pending", "success", "succeeded",
               "found", "exists", "empty", "open", "flag", "dirty", "stale", "set", "visible", "healthy", "true",
               "false", "result_ok", "passed", "failed", "dry_run", "debug", "verbose", "all", "any", "bool",
               "caught", "eof"}
#: Calls that hand back an object (a value to compare), not an answer.
_GETTERS = ("get", "make", "create", "build", "load", "read", "fetch", "find", "parse", "compute", "calculate",
            "generate", "render", "format", "to_", "from_", "list_", "open", "new", "init", "construct", "split",
            "encode", "decode", "dump", "serialize", "serialise", "search", "lookup", "resolve", "extract")


_TRUTHY_SHAPES = (ast.Name, ast.Attribute, ast.Call)


#: ``isreset``, ``isdir``, ``isatty``: the stdlib's unseparated ``is`` prefix (not ``issue``, ``isolation``).
_FUSED_IS = re.compile(r"is(?!sue|o|land)[a-z]")
#: Answers by name: a signature verifies, two paths are the same file, a value is >= another.
_PREDICATES = {"samefile", "verify", "compare_digest", "gte", "lte", "gt", "lt", "eq", "ne", "ge", "le"}


def _answers(call: str) -> bool:
    """A call named as a yes/no question (``verify``, ``isdir``, ``is_valid``), unlike ``check_file``, which may
    hand back what it found."""
    bare = call.lstrip("_").lower()
    return bare in _PREDICATES or bool(_FUSED_IS.match(bare)) or bare.startswith(("is_", "has_", "can_"))


def _reads_as_bool(name: str) -> bool:
    bare = name.lstrip("_").lower()
    return (
        bare.startswith(_BOOL_PREFIXES)
        or bare in _BOOL_WORDS
        or bare.rsplit("_", 1)[-1] in _BOOL_WORDS  # `cancel_scope.cancelled_caught`, `reader.at_eof`
        or bare in _PREDICATES
        or bare.endswith(("ed", "_ok", "able", "ible"))
        or bare.endswith(("_equal", "_equals", "_match", "_matches", "_same", "_identical"))  # `parsers_args_equal`
        or bare.startswith("not_")
        or bool(_FUSED_IS.match(bare))
    )


#: Last words of a name that holds a value, not an answer.
_NOUNS = {"result", "results", "res", "data", "output", "outputs", "out", "value", "values", "items", "response",
          "resp", "rv", "ret", "matches", "entries", "records", "rows", "content", "contents", "text", "body",
          "list", "dict", "payload", "report", "findings", "hits"}


def _noun(name: str) -> bool:
    return name.lower().strip("_").split("_")[-1] in _NOUNS


def _object_valued(facts: TestFacts, expr: ast.expr) -> bool:
    """``res``/``store.memory``/``get_manager()``: a value whose truthiness says little, not a yes/no answer."""
    if isinstance(expr, ast.Attribute):
        return not _reads_as_bool(expr.attr)
    if isinstance(expr, ast.Call):
        if isinstance(expr.func, ast.Call):
            return False  # `getattr(conditions, name)(5, 5)`: a predicate looked up by name, then asked
        if call_name(expr) == "getattr" and len(expr.args) == 3 and isinstance(expr.args[2], ast.Constant):
            return not isinstance(expr.args[2].value, bool)  # `getattr(entry, "_bound", False)`: a flag
        name = call_name(expr).lstrip("_").lower()
        # `body.readable()` answers yes or no, though it starts like the getter `read`
        return bool(name) and name.startswith(_GETTERS) and not _reads_as_bool(name)
    if isinstance(expr, ast.Name):
        if _reads_as_bool(expr.id):
            return False
        values = _bound_values(facts, expr.id)
        if values and all(isinstance(v, ast.Call) and _answers(call_name(v)) for v in values):
            return False  # `result = algo.verify(msg, key, sig)`: the name is a noun, the value an answer
        if values and _noun(expr.id):
            return True  # `results = detector.check_file(f)`: whatever check_file does, results holds a value
        return bool(values) and all(_object_valued(facts, v) for v in values)
    return False


def _bound_values(facts: TestFacts, name: str) -> list[ast.expr]:
    """What the test assigns to local ``name`` (a call, an attribute...); empty when it is a parameter."""
    values: list[ast.expr] = []
    for node in facts.of(ast.Assign, ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[union-attr]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:  # type: ignore[union-attr]
            value = node.value  # type: ignore[union-attr]
            values.append(value.value if isinstance(value, ast.Await) else value)
    return values


#: Words of a claim that the result is true, or non-zero: truthiness is then the whole claim.
_TRUTH_CLAIMED = {"true", "truthy", "nonzero", "nonempty", "trueish"}


@rule(
    "AUD138",
    "truthiness-only",
    "medium",
    "Every check only asks whether a result is truthy: any non-empty wrong answer passes.",
    bad="def test_split():\n    parts = split_template('a{b}c')\n    assert parts\n",
    good="def test_split():\n    parts = split_template('a{b}c')\n    assert parts == ['a', '{b}', 'c']\n",
    superseded_by=("AUD105", "AUD108", "AUD137"),
)
def truthiness_only(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    if not tests or not all(isinstance(expr, _TRUTHY_SHAPES) for _node, expr in tests):
        return
    if not all(_object_valued(facts, expr) for _node, expr in tests):
        return
    if _TRUTH_CLAIMED & claim_words(facts):
        return  # `test_flush_returns_nonzero`: that the answer is true is the claim
    if not facts.claims & {"existence", "does-not-raise", "liveness"}:
        node, expr = tests[0]
        yield node, f"only truthiness is checked: `{ast.unparse(expr)}`"


# --- builtin type ----------------------------------------------------------------------------------------

#: Builtin types, and the words a claim about each would use.
_TYPE_WORDS = {
    "bytes": {"bytes", "byte", "binary"},
    "str": {"str", "string", "strings", "text", "unicode"},
    "int": {"int", "integer", "integers", "number", "count"},
    "float": {"float", "floats", "number"},
    "bool": {"bool", "boolean"},
    "list": {"list", "lists", "sequence", "array"},
    "tuple": {"tuple", "tuples", "sequence"},
    "dict": {"dict", "dicts", "mapping", "object"},
    "set": {"set", "sets"},
    "frozenset": {"frozenset", "set"},
    "bytearray": {"bytearray", "bytes"},
}
#: Words saying the claim is that something parses, converts or keeps its kind (a dtype): then the type of what
#: came out is the point.
TYPE_IS_THE_POINT = {
    "valid", "parse", "parses", "parsed", "parseable", "serialize", "serializes", "serialise", "deserialize",
    "decode", "decodes", "loads", "json", "roundtrip", "convert", "converts", "cast", "coerce", "coerces",
    "coerced", "pickle", "pickling", "pickled", "picklable", "copy", "hash", "dtype", "dtypes", "hashable",
    "decoding", "decoded", "encode", "encodes", "encoding", "encoded",
}


#: A response's body attributes always hold text or bytes: their type is AUD137's tautology, not a type check.
_BODY_ATTRS = {"text", "content", "body", "data"}


def _builtin_type_check(expr: ast.expr) -> str | None:
    """``isinstance(x, bytes)``/``type(x) is list``: the builtin type named, else ``None``."""
    if isinstance(expr, ast.Call) and call_name(expr) == "isinstance" and len(expr.args) == 2:
        if isinstance(expr.args[0], ast.Attribute) and expr.args[0].attr in _BODY_ATTRS:
            return None
        kinds = expr.args[1].elts if isinstance(expr.args[1], ast.Tuple) else [expr.args[1]]
        names = [k.id for k in kinds if isinstance(k, ast.Name)]
        if names and len(names) == len(kinds) and all(n in _TYPE_WORDS for n in names):
            return names[0]
        return None
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], (ast.Is, ast.Eq)):
        left, right = expr.left, expr.comparators[0]
        if isinstance(left, ast.Call) and call_name(left) == "type" and isinstance(right, ast.Name):
            return right.id if right.id in _TYPE_WORDS else None
    return None


#: What a command's result says about how it ended (a CLI runner's result, a completed process).
EXIT_ATTRS = {"exit_code", "returncode", "exception", "exc_info", "return_code"}


def _exit_zero(expr: ast.expr) -> bool:
    """``result.exit_code == 0`` / ``!= 0``: which way the command went, beside the text it printed."""
    return (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.left, ast.Attribute)
            and expr.left.attr in EXIT_ATTRS and constant_int(expr.comparators[0]) == 0)


def _status_success(expr: ast.expr) -> bool:
    """``r.status_code == 200``: beside a type check, only says the call did not fail."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq)):
        return False
    code = constant_int(expr.comparators[0])
    return isinstance(expr.left, ast.Attribute) and expr.left.attr in ("status_code", "status") and code is not None


@rule(
    "AUD139",
    "builtin-type-only",
    "medium",
    "Every check is only the builtin type of a result (isinstance(x, bytes)): an empty or wrong value passes.",
    bad="def test_machine_id():\n    assert isinstance(get_machine_id(), bytes)\n",
    good="def test_machine_id():\n    assert get_machine_id() == get_machine_id() != b''\n",
)
def builtin_type_only(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    if not tests:
        return
    kinds = [_builtin_type_check(expr) for _node, expr in tests]
    named = [k for k in kinds if k]
    if not named or any(k is None and not _status_success(expr) for k, (_n, expr) in zip(kinds, tests, strict=True)):
        return
    if len(set(named)) > 1 and len(named) > 1 and len(tests) > 1:
        return  # int here, float there: the test contrasts types, so the type is what it is about
    claimed = claim_words(facts)
    if facts.claims & {"type", "does-not-raise"} or claimed & TYPE_IS_THE_POINT:
        return  # the claim is the type, that the output parses, or that the call runs without raising
    if any(claimed & _TYPE_WORDS[k] for k in named):
        return
    node = next(n for k, (n, _e) in zip(kinds, tests, strict=True) if k)
    yield node, f"only the builtin type ({', '.join(dict.fromkeys(named))}) is checked, never the value"


# --- one of several texts --------------------------------------------------------------------------------


def _needle_and_haystack(expr: ast.expr) -> tuple[str, str] | None:
    if (
        isinstance(expr, ast.Compare)
        and len(expr.ops) == 1
        and isinstance(expr.ops[0], ast.In)
        and isinstance(expr.left, ast.Constant)
        and isinstance(expr.left.value, (str, bytes))
    ):
        value = expr.left.value
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return text, ast.dump(expr.comparators[0])
    return None


def _alternatives(expr: ast.expr) -> list[str] | None:
    """``'a' in t or 'b' in t``: the texts accepted (those containing another accepted text dropped)."""
    if not (isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or)):
        return None
    parts = [_needle_and_haystack(v) for v in expr.values]
    if None in parts or len({p[1] for p in parts if p}) != 1:
        return None
    needles = list(dict.fromkeys(p[0] for p in parts if p))
    # `'{{7*7}}.txt' in t or '{{7*7}}' in t` accepts exactly what the shorter one accepts
    kept = [n for n in needles if not any(o != n and o in n for o in needles)]
    folded = {n.lower() for n in kept}
    return kept if len(folded) == len(kept) or len(kept) == 1 else None


# LOW: 3 of the 7 labelled strangers' tests it flagged were weak; the others accept two spellings of one right
# answer (an entity-quoted or literal character, `.bashrc` or `.bash_profile`) (docs/rules.md, "Severity from
# strangers' tests")
@rule(
    "AUD140",
    "alternative-substrings",
    "low",
    "The check accepts any of several texts (or a two-letter fragment) anywhere in the output: a wrong one passes.",
    bad="def test_error_shown(page):\n    text = page.inner_text('table')\n    assert '500' in text or '404' in text\n",
    good="def test_error_shown(page):\n    text = page.inner_text('table')\n    assert 'GET /users/999 500' in text\n",
)
def alternative_substrings(facts: TestFacts) -> Iterator[Hit]:
    tests = check_tests(facts)
    # Beside an exact check or a `pytest.raises`, a loose message check is a side remark, not the test's oracle.
    if not tests or any(_alternatives(expr) is None and not _status_success(expr) and not _exit_zero(expr)
                        for _node, expr in tests):
        return
    for node in facts.asserts:
        kept = _alternatives(node.test)
        if kept is None:
            continue
        if len(kept) > 1 and len({k.lower() for k in kept}) > 1:
            yield node, f"any of {len(kept)} texts is accepted: `{ast.unparse(node.test)[:80]}`"
        elif len(kept) == 1 and len(kept[0].strip()) <= 2:
            yield node, f"only the fragment {kept[0]!r} must occur: `{ast.unparse(node.test)[:80]}`"
