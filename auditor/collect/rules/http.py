"""Rules about HTTP responses: accepted error statuses, status-only checks, truthy responses."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from auditor.collect.claims import words
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import CLIENT_HINTS, call_name, is_client_call, uses_requests
from auditor.collect.rules.facts import TestFacts, constant_int, status_of
from auditor.collect.rules.vacuity import Detection, sole_hits, span

UNIVERSE = frozenset(range(100, 600))
_OPS = {
    ast.Eq: lambda c: {c},
    ast.NotEq: lambda c: set(UNIVERSE) - {c},
    ast.Lt: lambda c: {x for x in UNIVERSE if x < c},
    ast.LtE: lambda c: {x for x in UNIVERSE if x <= c},
    ast.Gt: lambda c: {x for x in UNIVERSE if x > c},
    ast.GtE: lambda c: {x for x in UNIVERSE if x >= c},
}
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
#: Response properties that stand for a status range.
_PROPERTIES = {
    "is_success": set(range(200, 300)),
    "ok": set(range(100, 400)),
    "is_error": set(range(400, 600)),
    "is_client_error": set(range(400, 500)),
    "is_server_error": set(range(500, 600)),
}


def _collection(node: ast.AST, facts: TestFacts) -> set[int] | None:
    if isinstance(node, ast.Name):
        node = _module_constant(facts, node.id) or node
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        codes = [constant_int(item) for item in node.elts]
        return set(c for c in codes if c is not None) if codes and None not in codes else None
    if isinstance(node, ast.Call) and call_name(node) == "range":
        bounds = [constant_int(arg) for arg in node.args]
        if bounds and None not in bounds and len(bounds) <= 2:
            return set(range(*bounds)) & UNIVERSE  # type: ignore[arg-type]
    return None


def _module_constant(facts: TestFacts, name: str) -> ast.AST | None:
    for statement in facts.test.module.tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            return statement.value
    return None


def accepted(expr: ast.AST, facts: TestFacts) -> tuple[str, set[int]] | None:
    """The response and the set of statuses an assertion accepts, when it is only about one status."""
    if isinstance(expr, ast.BoolOp):
        parts = [accepted(value, facts) for value in expr.values]
        if None in parts or len({p[0] for p in parts if p}) != 1:
            return None
        sets = [p[1] for p in parts if p]
        combined = set.union(*sets) if isinstance(expr.op, ast.Or) else set.intersection(*sets)
        return parts[0][0], combined  # type: ignore[index]
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        inner = accepted(expr.operand, facts)
        return (inner[0], set(UNIVERSE) - inner[1]) if inner else None
    if isinstance(expr, ast.Attribute) and expr.attr in _PROPERTIES and isinstance(expr.value, ast.Name):
        if expr.value.id in facts.responses:
            return expr.value.id, set(_PROPERTIES[expr.attr])
        return None
    if not isinstance(expr, ast.Compare):
        return None
    operands = [expr.left, *expr.comparators]
    subject = None
    result = set(UNIVERSE)
    for op, left, right in zip(expr.ops, operands, operands[1:], strict=False):
        name_left, name_right = status_of(left), status_of(right)
        if name_left and (subject in (None, name_left)):
            subject, other, kind = name_left, right, type(op)
        elif name_right and (subject in (None, name_right)):
            subject, other, kind = name_right, left, _FLIP.get(type(op), type(op))
        else:
            return None
        if kind in (ast.In, ast.NotIn):
            codes = _collection(other, facts)
            if codes is None:
                return None
            result &= codes if kind is ast.In else set(UNIVERSE) - codes
            continue
        code = constant_int(other)
        if code is None or kind not in _OPS:
            return None
        result &= _OPS[kind](code)
    return (subject, result) if subject else None


def status_assertions(facts: TestFacts) -> list[tuple[ast.Assert, str, set[int]]]:
    """Every assert that is only about statuses: per response it names, the statuses it accepts (cached)."""
    cached = facts.memo.get("status_assertions")
    if cached is None:
        cached = []
        for node in [*facts.asserts, *_unittest_asserts(facts)]:
            if not isinstance(node.test, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Attribute)):
                continue
            # `assert r1.ok and r2.ok` is two status assertions, one per response
            parts = node.test.values if _is_and(node.test) else [node.test]  # type: ignore[attr-defined]
            found = [accepted(part, facts) for part in parts]
            if len(parts) > 1 and (None in found or len({f[0] for f in found if f}) == 1):
                found = [accepted(node.test, facts)]  # `200 <= r.status_code < 300` spelt with `and`
            cached.extend((node, f[0], f[1]) for f in found if f is not None)
        facts.memo["status_assertions"] = cached
    return cached


def _is_and(test: ast.expr) -> bool:
    return isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And)


_UNITTEST_OPS = {
    "assertEqual": ast.Eq,
    "assertNotEqual": ast.NotEq,
    "assertIn": ast.In,
    "assertNotIn": ast.NotIn,
    "assertLess": ast.Lt,
    "assertLessEqual": ast.LtE,
    "assertGreater": ast.Gt,
    "assertGreaterEqual": ast.GtE,
}


def _unittest_asserts(facts: TestFacts) -> list[ast.Assert]:
    """``self.assertIn(r.status_code, (200, 501))`` read as ``assert r.status_code in (200, 501)``."""
    found = []
    for call in facts.calls:
        op = _UNITTEST_OPS.get(call_name(call))
        if op is not None and len(call.args) >= 2 and (status_of(call.args[0]) or status_of(call.args[1])):
            test = ast.Compare(left=call.args[0], ops=[op()], comparators=[call.args[1]])
            found.append(ast.copy_location(ast.Assert(test=test, msg=None), call))
    return found


def _describe(codes: set[int]) -> str:
    if len(codes) <= 6:
        return ", ".join(str(c) for c in sorted(codes))
    return f"{len(codes)} codes from {min(codes)} to {max(codes)}"


#: Names claiming a route is there at all (`test_route_exists`), where "not 404/405" is the whole claim.
_ROUTE_EXISTS = {"route", "routes", "exists", "registered", "mounted", "reachable"}


@rule(
    "AUD101",
    "error-status-accepted",
    "high",
    "The accepted statuses include both success and 5xx, so a broken or unimplemented endpoint passes.",
    bad="def test_create(client):\n    r = client.post('/items', json={'a': 1})\n"
    "    assert r.status_code in (200, 201, 501)\n",
    good="def test_create(client):\n    r = client.post('/items', json={'a': 1})\n"
    "    assert r.status_code == 201\n    assert r.json()['a'] == 1\n",
)
def error_status_accepted(facts: TestFacts) -> Iterator[Hit]:
    route_exists = bool(_ROUTE_EXISTS & set(words(facts.node.name)))
    for node, _name, codes in status_assertions(facts):
        excluded = UNIVERSE - codes
        if route_exists and excluded and all(400 <= c < 500 for c in excluded):
            continue  # `test_route_exists`: `status not in (404, 405)` is the claim, whatever the route answers
        if any(c < 400 for c in codes) and any(c >= 500 for c in codes):
            server = sorted(c for c in codes if c >= 500)
            yield node, f"accepts success and server errors ({_describe(set(server))}): `{ast.unparse(node.test)}`"


@rule(
    "AUD102",
    "client-error-accepted",
    "medium",
    "The accepted statuses mix success with 4xx, so a missing route (404) or rejected request passes.",
    bad="def test_get_item(client):\n    r = client.get('/items/1')\n    assert r.status_code in (200, 404)\n",
    good="def test_get_item(client):\n    r = client.get('/items/1')\n    assert r.status_code == 200\n"
    "    assert r.json()['id'] == 1\n",
)
def client_error_accepted(facts: TestFacts) -> Iterator[Hit]:
    for node, _name, codes in status_assertions(facts):
        if any(c < 400 for c in codes) and any(400 <= c < 500 for c in codes) and not any(c >= 500 for c in codes):
            yield node, f"accepts success and client errors: `{ast.unparse(node.test)}`"


@rule(
    "AUD103",
    "any-error-status",
    "medium",
    "Any error status passes, so a crash (500) or an unimplemented route (501) looks like correct rejection.",
    bad="def test_rejects_bad_input(client):\n    r = client.post('/items', json={})\n    assert r.status_code >= 400\n",
    good="def test_rejects_bad_input(client):\n    r = client.post('/items', json={})\n    assert r.status_code == 422\n",
)
def any_error_status(facts: TestFacts) -> Iterator[Hit]:
    for node, _name, codes in status_assertions(facts):
        if (
            codes
            and not any(c < 400 for c in codes)
            and any(c >= 500 for c in codes)
            and any(400 <= c < 500 for c in codes)
        ):
            yield node, f"accepts both 4xx and 5xx: `{ast.unparse(node.test)}`"


_ROUTING_WORDS = (
    "route",
    "routing",
    "redirect",
    "method",
    "allowed",
    "404",
    "405",
    "not_found",
    "notfound",
    "auth",
    "permission",
    "grant",
    "grants",
    "granted",
    "deny",
    "denies",
    "denied",
    "forbidden",
    "mount",
    "exists",
    "reachable",
    "url",
    "cors",
    "head",
    "options",
    "health",
    "ping",
    "alive",
    "ready",
    # acceptance is the status: a valid key, a request within the limit, an extra field that must not be rejected
    "authorized",
    "authorised",
    "credentials",
    "accepted",
    "accepts",
    "allow",
    "allows",
    "limit",
    "within",
    "succeeds",
    "200",
    "201",
    "202",
    # URL dispatch: which version, prefix, blueprint, scheme or host a route answers under; "valid" input that
    # must get through
    "version",
    "versioning",
    "prefix",
    "blueprint",
    "bp",
    "https",
    "scheme",
    "host",
    "subdomain",
    "match",
    "matches",
    "valid",
    "reaches",
)
#: Whole words of the name: as substrings "ping" is in "mapping", "auth" in "author", "head" in "header".
_ROUTING = re.compile(r"(?:^|_)(?:" + "|".join(map(re.escape, _ROUTING_WORDS)) + r")s?(?:_|$)")
_STATUS_ATTRS = {"status_code", "status", "status_int", "reason_phrase", "reason", *_PROPERTIES}


@rule(
    "AUD104",
    "status-only-response",
    "medium",
    "Only the status of a success response is checked; an endpoint returning the wrong body still passes.",
    bad="def test_list_items(client):\n    r = client.get('/items')\n    assert r.status_code == 200\n",
    good="def test_list_items(client):\n    r = client.get('/items')\n    assert r.status_code == 200\n"
    "    assert r.json() == [{'id': 1}]\n",
)
def status_only_response(facts: TestFacts) -> Iterator[Hit]:
    if _ROUTING.search("_".join(words(facts.node.name))):
        return  # a routing/health test is about the status
    if facts.claims & {"liveness", "does-not-raise", "timing"}:
        # so is one that claims the server is up, that a request goes through, or how long it takes ("status"
        # alone is often a field: the order's status)
        return
    status_nodes = list(status_assertions(facts))
    if not status_nodes or len({id(node) for node, _, _ in status_nodes}) != len(facts.checks):
        return  # other checks exist (body, side effects, helpers)
    for _node, name, codes in status_nodes:
        # `r.ok` and `r.status_code < 400` accept redirects too, but a client follows those: still a success
        if not any(200 <= c < 300 and c != 204 for c in codes) or not all(c < 400 for c in codes):
            return
        if name == "<call>":
            continue
        for use in facts.name_uses(name):
            parent = facts.parents.get(id(use))
            if not (isinstance(parent, ast.Attribute) and parent.attr in _STATUS_ATTRS):
                return  # the response is used for more than its status
    node = status_nodes[0][0]
    yield node, f"only the status is checked, never the body: `{ast.unparse(node.test)}`"


@rule(
    "AUD105",
    "truthy-response",
    "high",
    "An httpx/TestClient response object (and its status_code) is always truthy, even for a 501.",
    bad="def test_health(client):\n    r = client.get('/health')\n    assert r\n",
    good="def test_health(client):\n    r = client.get('/health')\n    assert r.status_code == 200\n"
    "    assert r.json() == {'status': 'ok'}\n",
)
def truthy_response(facts: TestFacts) -> Iterator[Hit]:
    yield from sole_hits(facts, "AUD105", truthy_responses)


def truthy_responses(facts: TestFacts) -> Iterator[Detection]:
    """Always-true checks of a response: the object, its status code, that it is not None."""
    for node in facts.asserts:
        test = node.test
        if isinstance(test, ast.Call) and call_name(test) == "bool" and test.args:
            test = test.args[0]
        call = None
        if isinstance(test, ast.Name) and test.id in facts.responses:
            call = facts.responses[test.id]
        elif isinstance(test, ast.Call) and is_client_call(test):
            call = test
        elif isinstance(test, ast.Await) and isinstance(test.value, ast.Call) and is_client_call(test.value):
            call = test.value
        if call is not None and not uses_requests(call) and not _built_as_other(facts, call):
            yield node, f"a response object is always truthy: `{ast.unparse(node.test)}`", span(node)
            continue
        if status_of(test) and (status_of(test) in facts.responses or status_of(test) == "<call>"):
            yield node, f"a status code is never 0, so this is always true: `{ast.unparse(node.test)}`", span(node)
            continue
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.IsNot)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
            and isinstance(test.left, ast.Name)
            and test.left.id in facts.responses
        ):
            yield node, f"a client call never returns None: `{ast.unparse(node.test)}`", span(node)


def _built_as_other(facts: TestFacts, call: ast.Call) -> bool:
    """``c = Cache()`` then ``c.delete("a")``: a receiver the test built from something that is no client."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if not isinstance(receiver, ast.Name):
        return False
    for node in facts.of(ast.Assign):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if any(isinstance(t, ast.Name) and t.id == receiver.id for t in node.targets):
            built = call_name(node.value).lower()
            return not any(hint in built for hint in CLIENT_HINTS if len(hint) > 2)
    return False


@rule(
    "AUD136",
    "stringified-substring",
    "low",
    "A substring searched in str()/repr() of a structure matches anywhere, keys and unrelated fields included.",
    bad="def test_reply(client):\n    r = client.get('/items')\n    assert 'apple' in str(r.json())\n",
    good="def test_reply(client):\n    r = client.get('/items')\n    assert r.json()[0]['name'] == 'apple'\n",
)
def stringified_substring(facts: TestFacts) -> Iterator[Hit]:
    for node in facts.asserts:
        test = node.test
        if isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.In):
            target = test.comparators[0]
            if isinstance(target, ast.Call) and call_name(target) in ("str", "repr") and target.args:
                inner = target.args[0]
                structured = isinstance(inner, ast.Call) and call_name(inner) in _STRUCTURES
                if structured or (isinstance(inner, ast.Name) and inner.id in facts.responses):
                    yield node, f"substring of a stringified value: `{ast.unparse(test)}`"


_STRUCTURES = {"json", "dict", "list", "vars", "model_dump", "items", "values", "to_dict", "asdict", "dumps"}
