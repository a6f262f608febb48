"""Shared facts about one test's AST: its checks, calls, HTTP responses and the project helpers it uses.

Every static rule reads a :class:`TestFacts`; the expensive parts (walks, the parent map, helper
resolution) are computed once per test and cached.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from auditor.collect.claims import claims_of
from auditor.collect.markers import dotted
from auditor.collect.module import TestNode
from auditor.collect.pytest_settings import PytestSettings
from auditor.collect.rules import moduleinfo
from auditor.collect.rules.astwalk import parent_map, walk, walk_grouped
from auditor.collect.rules.calls import (
    call_name,
    is_check_call,
    is_client_call,
)
from auditor.collect.rules.index import ProjectIndex, helper_classes
from auditor.collect.rules.moduleinfo import per_module
from auditor.config import AuditConfig

#: Libraries whose functions are checks (they raise on a mismatch).
_ASSERTION_LIBRARIES = {"testfixtures", "hamcrest", "assertpy", "expects", "pytest_check"}


def _assertion_imports(tree: ast.Module) -> frozenset[str]:
    """Names a module imports from an assertion library (asked for every call of every test: computed once)."""
    imported = per_module(tree, "imported_from", moduleinfo.imported_from)
    return frozenset(name for name, module in imported.items() if module.split(".")[0] in _ASSERTION_LIBRARIES)


#: Marks whose plugin checks the test, not its body's asserts.
_PLUGIN_CHECKED = {"mpl_image_compare", "mypy_testing"}


@dataclass
class TestFacts:
    """What one test does, as far as its AST says."""

    __test__ = False

    test: TestNode
    config: AuditConfig
    settings: PytestSettings
    index: ProjectIndex
    #: Results rules share (e.g. the parsed status assertions), keyed by name.
    memo: dict[str, object] = field(default_factory=dict)

    @property
    def node(self) -> ast.FunctionDef | ast.AsyncFunctionDef:
        """The test's ``def``."""
        return self.test.node

    @cached_property
    def body(self) -> list[ast.stmt]:
        """The statements of the body, without a leading docstring."""
        body = list(self.node.body)
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body = body[1:]
        return body

    @cached_property
    def _walked(self) -> tuple[list[ast.AST], dict[type, list[ast.AST]]]:
        return walk_grouped(self.body)

    @property
    def nodes(self) -> list[ast.AST]:
        """Every node of the body in source order (nested defs included: tests usually call them)."""
        return self._walked[0]

    def of(self, *types: type) -> list[ast.AST]:
        """Nodes of exactly these AST classes (each class in source order): rules need one or two kinds."""
        grouped = self._walked[1]
        if len(types) == 1:
            return grouped.get(types[0], [])
        return [node for kind in types for node in grouped.get(kind, ())]

    @cached_property
    def parents(self) -> dict[int, ast.AST]:
        """Child node id -> parent node, for the body (statements of the body map to the def)."""
        # A second walk, on demand: only tests with branches or nested defs ever ask (about a quarter).
        return parent_map(self.body, self.node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """Parents of ``node`` up to (not including) the test's def."""
        current = self.parents.get(id(node))
        while current is not None and current is not self.node:
            yield current
            current = self.parents.get(id(current))

    @property
    def checked_by_plugin(self) -> bool:
        """A plugin checks the outcome: pytest-mpl compares the returned figure with a baseline image,
        pytest-mypy-testing runs mypy and compares the ``# R:`` / ``# E:`` comments of the body."""
        return any(m.name in _PLUGIN_CHECKED for m in self.test.case.markers)

    @cached_property
    def claims(self) -> frozenset[str]:
        """What the test claims, from its name and docstring (:mod:`auditor.collect.claims`)."""
        # The inventory read them already (TestCase.claims); reading them again costs as much as a rule.
        return frozenset(self.test.case.claims) if self.test.case.claims else claims_of(self.node)

    @cached_property
    def calls(self) -> list[ast.Call]:
        """Every call in the body."""
        return self.of(ast.Call)  # type: ignore[return-value]

    @cached_property
    def asserts(self) -> list[ast.Assert]:
        """Every ``assert`` statement in the body."""
        return self.of(ast.Assert)  # type: ignore[return-value]

    @cached_property
    def imported_from(self) -> dict[str, str]:
        """Names the test module imports from other modules: name -> module."""
        return per_module(self.test.module.tree, "imported_from", moduleinfo.imported_from)

    def _from_assertion_library(self, call: ast.Call) -> bool:
        """``compare(...)`` imported from testfixtures, ``assert_that`` from hamcrest: they raise on a mismatch."""
        return isinstance(call.func, ast.Name) and call.func.id in per_module(
            self.test.module.tree, "assertion_imports", _assertion_imports
        )

    def helper_imports(self) -> list[str]:
        """Modules the test calls an imported name from: their helpers must be indexed before any rule runs."""
        imported = self.imported_from
        names = [call_name(call) for call in self.calls]
        # a test class's imported base classes hold the checking methods it calls on self
        names += [dotted(base).split(".")[0] for cls in self.test.classes for base in cls.bases]
        return [imported[name] for name in dict.fromkeys(names) if name in imported]

    def checks_outside(self, spans: list[tuple[int, int]]) -> list[ast.AST]:
        """The test's checks that lie outside every (first, last) line span: what still checks besides those lines."""
        return [c for c in self.checks if not any(a <= getattr(c, "lineno", 0) <= b for a, b in spans)]

    @cached_property
    def checks(self) -> list[ast.AST]:
        """Asserts, raise statements, checking calls and checking ``with`` blocks."""
        found: list[ast.AST] = [*self.asserts]
        found += [r for r in self.of(ast.Raise) if id(r) not in self._simulated_raises]
        # A function the test defines itself is walked with it: its asserts are already here, and a project
        # helper of the same name elsewhere says nothing about it.
        local = {n.name for n in self.of(ast.FunctionDef, ast.AsyncFunctionDef) if n is not self.node}
        aliases = self._check_aliases
        for call in self.calls:
            if isinstance(call.func, ast.Name) and call.func.id in aliases:
                found.append(call)
                continue
            if isinstance(call.func, ast.Name) and call.func.id in local:
                continue
            if is_check_call(call, None) or self._from_assertion_library(call):
                found.append(call)
            elif self._may_be_helper(call) and is_check_call(call, self.index) and self._used_as_check(call):
                found.append(call)
            elif any(self._asserting_callback(arg) for arg in (*call.args, *(k.value for k in call.keywords))):
                # `monkeypatch.setattr(Client, "_request", fake_request)` where the fake asserts what it is sent
                found.append(call)
            elif self._helper_method(call) and self._used_as_check(call) and self.index.helper_checks(call_name(call)):
                # `super().testValid()` runs the base test's checks; `pair.send(...)` on an instance of a helper
                # class runs that method's
                found.append(call)
        if self.test.classes:
            # A method of the test's class or of a base class or mixin (defined in another module): any asserting
            # method of that name in the project counts, as a class-level def is indexed wherever it lives.
            own = {s.name for cls in self.test.classes for s in cls.body if isinstance(s, ast.FunctionDef)}
            for call in self.calls:
                if not dotted(call.func).startswith("self.") or call in found:
                    continue
                if (call_name(call) in own or self._used_as_check(call)) and self.index.helper_checks(call_name(call)):
                    found.append(call)
        return found

    def _helper_method(self, call: ast.Call) -> bool:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return False
        owner = func.value
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            # the base test's own body (`super().test_valid()`), not `super().__init__()` in a fake it defines
            return func.attr == self.node.name or func.attr.lstrip("_").startswith(("test", "check", "assert", "verify"))
        return isinstance(owner, ast.Name) and owner.id in self._helper_instances

    @cached_property
    def _helper_instances(self) -> set[str]:
        """Locals bound to an instance of a helper class: ``p = ConnectionPair()``."""
        classes = per_module(self.test.module.tree, "helper_classes", helper_classes)
        found: set[str] = set()
        for node in self.of(ast.Assign):
            value = node.value  # type: ignore[attr-defined]
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in classes:
                found.update(t.id for t in node.targets if isinstance(t, ast.Name))  # type: ignore[attr-defined]
        return found

    @cached_property
    def _check_aliases(self) -> set[str]:
        """Locals bound to a checking function: ``sc = self.check_scale_and_center`` makes ``sc(...)`` a check."""
        aliases: set[str] = set()
        for node in self.of(ast.Assign):
            value = node.value  # type: ignore[attr-defined]
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(value, ast.Attribute | ast.Name):  # type: ignore[attr-defined]
                probe = ast.Call(func=value, args=[], keywords=[])
                if is_check_call(probe, None) or (dotted(value).startswith("self.") and is_check_call(probe, self.index)):
                    aliases.add(node.targets[0].id)  # type: ignore[attr-defined]
        return aliases

    @cached_property
    def _simulated_raises(self) -> set[int]:
        """``raise StopIteration`` in an iterator the test defines: the iteration protocol, not a failure report.

        (Other raises in a fake stay checks: ``raise ValueError('include got modified')`` is how a fake fails.)
        """
        nested = self.of(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if not nested:
            return set()
        return {
            id(node)
            for scope in nested
            for node in walk(scope)
            if isinstance(node, ast.Raise) and node.exc is not None and _ends_iteration(node.exc)
        }

    def _asserting_callback(self, arg: ast.expr) -> bool:
        """A project function handed to the code under test (a fake, a callback) that asserts when called."""
        if not isinstance(arg, ast.Name) or arg.id in self.test.case.fixtures:
            return False
        # Only a function of the module or one it imports: a local variable named like a helper is not one.
        return (arg.id in self.module_functions or arg.id in self.imported_from) and self.index.helper_checks(arg.id)

    @property
    def module_functions(self) -> set[str]:
        """Names of the functions the test module defines at its top level."""
        return per_module(self.test.module.tree, "module_functions", moduleinfo.module_functions)

    def is_statement(self, call: ast.Call) -> bool:
        """Whether ``call`` is a whole statement (or an ``assert``/``with`` item): its value is not used further."""
        return id(call) in self._statement_calls

    def _used_as_check(self, call: ast.Call) -> bool:
        """A helper called for its checks (a statement: ``check_reply(r)``), not a factory whose value is kept
        (``app = make_app()``: its own asserts check the setup, not what the test claims)."""
        return id(call) in self._statement_calls

    @cached_property
    def _statement_calls(self) -> set[int]:
        # From the grouped nodes already walked: no parent map needed (a second walk of the body).
        found: set[int] = set()
        for node in self.of(ast.Expr, ast.Assert, ast.withitem):
            value = node.value if isinstance(node, ast.Expr) else node.test if isinstance(node, ast.Assert) else node.context_expr
            if isinstance(value, ast.Await):
                value = value.value
            found.add(id(value))
        return found

    def _may_be_helper(self, call: ast.Call) -> bool:
        """A call that can reach a project helper: ``helper()`` or ``module.helper()``, not ``loop.close()``."""
        if isinstance(call.func, ast.Name):
            return True
        root = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        return root.id in self.imported_from or root.id in self.imported_modules

    @property
    def imported_modules(self) -> set[str]:
        """Names bound by the test module's plain ``import`` statements."""
        return per_module(self.test.module.tree, "imported_modules", moduleinfo.imported_modules)

    @cached_property
    def responses(self) -> dict[str, ast.Call]:
        """Local names bound to an HTTP response: ``r = client.get(...)`` -> ``{"r": call}``."""
        result: dict[str, ast.Call] = {}
        for child in self.of(ast.Assign, ast.AnnAssign):
            value = getattr(child, "value", None)
            if isinstance(child, (ast.Assign, ast.AnnAssign)) and isinstance(value, ast.Call | ast.Await):
                call = value.value if isinstance(value, ast.Await) else value
                if not isinstance(call, ast.Call) or not is_client_call(call):
                    continue
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        result[target.id] = call
        return result

    def name_uses(self, name: str) -> list[ast.Name]:
        """Every load of local ``name`` in the body."""
        return [c for c in self.nodes if isinstance(c, ast.Name) and c.id == name and isinstance(c.ctx, ast.Load)]

    def is_conditional(self, node: ast.AST) -> bool:
        """True when ``node`` sits in an ``if``/``while`` body or a loop that may not run."""
        child = node
        for parent in self.ancestors(node):
            if isinstance(parent, (ast.If, ast.IfExp)) and child is not getattr(parent, "test", None):
                return True
            if isinstance(parent, ast.While) and child is not parent.test:
                return not (isinstance(parent.test, ast.Constant) and parent.test.value)
            if (
                isinstance(parent, (ast.For, ast.AsyncFor))
                and child is not parent.iter
                and self.may_be_empty(parent.iter)
            ):
                return True
            if isinstance(parent, ast.comprehension):
                return self.may_be_empty(parent.iter)
            if isinstance(parent, ast.Match):
                return True
            child = parent
        return False

    def may_be_empty(self, iterable: ast.AST) -> bool:
        """A loop over what an HTTP call returned (a body, a stream) may run zero times unnoticed.

        Loops over data the test built itself (a graph, a literal, a module constant) are not doubted:
        flagging them would bury the real cases (``for item in r.json()["items"]``) in noise.
        """
        if _surely_iterates(iterable):
            return False
        for node in walk(iterable):
            if isinstance(node, ast.Name) and (node.id in self.responses or node.id in self.response_data):
                return True
            if isinstance(node, ast.Call) and (is_client_call(node) or call_name(node) in _RESPONSE_READERS):
                return True
        return False

    @cached_property
    def response_data(self) -> set[str]:
        """Names bound to something read from a response (``items = r.json()["items"]``)."""
        names = set()
        for node in self.nodes:
            if isinstance(node, ast.Assign) and any(
                isinstance(n, ast.Call) and (call_name(n) in _RESPONSE_READERS or is_client_call(n))
                for n in walk(node.value)
            ):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return names

    @cached_property
    def source(self) -> str:
        """The test's source text."""
        lines = self.test.module.lines
        end = getattr(self.node, "end_lineno", self.node.lineno) or self.node.lineno
        return "\n".join(lines[self.node.lineno - 1 : end])


_RESPONSE_READERS = {
    "json",
    "iter_lines",
    "iter_bytes",
    "iter_text",
    "iter_raw",
    "aiter_lines",
    "aiter_bytes",
    "aiter_text",
    "aiter_raw",
    "iter_content",
    "stream",
    "read",
    "content",
}


def _ends_iteration(exc: ast.expr) -> bool:
    return dotted(exc.func if isinstance(exc, ast.Call) else exc).split(".")[-1] in ("StopIteration", "StopAsyncIteration")


def _surely_iterates(node: ast.AST) -> bool:
    """A loop over a non-empty literal, ``range(N)`` with N > 0, or ``enumerate``/``zip`` of those."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return bool(node.elts)
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return bool(node.value)
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name == "range" and node.args:
            stop = node.args[-1] if len(node.args) == 1 else node.args[1]
            start = node.args[0] if len(node.args) > 1 else ast.Constant(0)
            if isinstance(stop, ast.Constant) and isinstance(start, ast.Constant):
                return isinstance(stop.value, int) and stop.value > start.value
            return False
        if name in ("enumerate", "zip", "sorted", "reversed", "list", "tuple") and node.args:
            return all(_surely_iterates(arg) for arg in node.args)
    return False


def constant_int(node: ast.AST) -> int | None:
    """An int literal's value (``-1`` style included), else ``None``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = constant_int(node.operand)
        return -inner if inner is not None else None
    if isinstance(node, ast.Attribute) and node.attr.startswith(("HTTP_", "HTTP_")):
        digits = [part for part in node.attr.split("_") if part.isdigit()]
        return int(digits[0]) if digits else None
    return None


def status_of(node: ast.AST) -> str | None:
    """``r`` for ``r.status_code``/``r.status``/``r.status_int``; ``"<call>"`` for ``client.get(...).status_code``."""
    if isinstance(node, ast.Attribute) and node.attr in ("status_code", "status", "status_int"):
        if isinstance(node.value, ast.Name):
            return node.value.id
        if isinstance(node.value, ast.Call):
            return "<call>"
        return dotted(node.value) or "<expr>"
    return None
