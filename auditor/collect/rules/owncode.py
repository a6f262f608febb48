"""A test that computes its answer itself: it re-implements the logic inline and asserts on what it built.

The code under test never runs: every call is a builtin, the standard library, or a method of a value the
test made itself, and every assertion reads a value the test assigned. Whatever the product does, the test
passes (a "tests its own reimplementation" test).
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Iterator

from auditor.collect.markers import dotted, is_test_metadata
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name
from auditor.collect.rules.facts import TestFacts, walk
from auditor.collect.rules.moduleinfo import per_module
from auditor.collect.rules.shallow import check_tests

_BUILTINS = frozenset(dir(builtins))
_STDLIB = frozenset(sys.stdlib_module_names)
#: pytest's own fixtures hand the test plain data or scratch space, not the code under test.
_PLAIN_FIXTURES = {"tmp_path", "tmpdir", "tmp_path_factory", "monkeypatch", "capsys", "capfd", "caplog", "request"}


def _stdlib_names(facts: TestFacts) -> set[str]:
    """Names the test module (or the test itself) binds to standard-library modules and their members."""
    names = set(per_module(facts.test.module.tree, "stdlib_names", lambda tree: _stdlib_bindings(tree.body)))
    if facts.of(ast.Import, ast.ImportFrom):
        names |= _stdlib_bindings(facts.of(ast.Import, ast.ImportFrom))  # type: ignore[arg-type]
    return names


def _stdlib_bindings(statements: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name.split(".")[0] in _STDLIB:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
            if statement.module.split(".")[0] in _STDLIB:
                names.update(alias.asname or alias.name for alias in statement.names)
    return names


#: Standard-library calls that run other code (a subprocess, an import, exec): the product may run there.
_RUNS_CODE = {
    "run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput", "system", "popen",
    "exec", "eval", "compile", "__import__", "import_module", "reload", "run_path", "run_module", "communicate",
    "spawnv", "spawnl", "execv", "execvp", "fork", "find_spec", "getattr", "setattr", "delattr", "hasattr", "vars",
    "dir", "globals", "locals", "signature", "getsource", "getmembers", "isinstance", "issubclass", "type",
}
#: Modules whose functions only build or read file paths: a fixture handed to them is a path, not a product object.
_PATH_MODULES = {"os", "pathlib", "posixpath", "ntpath", "shutil", "tempfile", "glob"}


def _path(node: ast.AST) -> str:
    """``a.b.c`` for a pure Name/Attribute chain; ``""`` when a call or subscript sits inside it."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


_LEAVES = (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


class _Own:
    """Which values in a test are the test's own: literals, and what it computed from them without product code."""

    def __init__(self, facts: TestFacts) -> None:
        self.stdlib = _stdlib_names(facts)
        self.own: set[str] = set()  # local names and dotted attribute paths the test assigned its own values
        # the project's fixtures may hand over product objects: only passed along as arguments, never called
        self.fixtures = set(facts.test.case.fixtures) - _PLAIN_FIXTURES

    def expr(self, node: ast.AST) -> bool:
        """True when ``node`` evaluates without product code, from the test's own values and inputs."""
        if isinstance(node, (ast.Constant, *_LEAVES)):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.own or node.id in _PLAIN_FIXTURES or node.id in self.stdlib or node.id in _BUILTINS
        if isinstance(node, ast.Attribute):
            path = _path(node)
            if path and (path.split(".")[0] in self.stdlib or self.owned_path(path)):
                return True
            return self.expr(node.value)
        if isinstance(node, ast.Call):
            arguments = [*node.args, *(k.value for k in node.keywords)]
            paths = _path(node.func).split(".")[0] in _PATH_MODULES or call_name(node) in ("Path", "PurePath")
            return self.call(node) and all((paths and self._argument(a)) or self.expr(a) for a in arguments)
        if isinstance(node, _COMPREHENSIONS):
            for generator in node.generators:
                if not self.expr(generator.iter):
                    return False
                self.bind(generator.target)
            return all(self.expr(child) for child in ast.iter_child_nodes(node) if not isinstance(child, ast.comprehension))
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda, ast.NamedExpr)):
            return False
        return all(self.expr(child) for child in ast.iter_child_nodes(node))

    def _argument(self, node: ast.AST) -> bool:
        return bool(dotted(node)) and isinstance(node, (ast.Name, ast.Attribute)) and dotted(node) in self.fixtures

    def owned_path(self, path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.own for i in range(len(parts), 1, -1))

    def call(self, call: ast.Call) -> bool:
        """A builtin, a standard-library function, or a method of a value the test built (``"a=b".split``)."""
        func = call.func
        if call_name(call) in _RUNS_CODE:
            return False
        if isinstance(func, ast.Name):
            return func.id in _BUILTINS or func.id in self.stdlib
        if isinstance(func, ast.Attribute):
            path = _path(func)
            if path and path.split(".")[0] in self.stdlib:
                return True
            return self.expr(func.value)
        return False

    def pass_along(self, node: ast.Assign) -> bool:
        """``server.ROOT = test_dir``: the target now holds a fixture's value, usable as one."""
        if not self._argument(node.value):
            return False
        self.fixtures.update(dotted(t) for t in node.targets if dotted(t))
        return True

    def bind(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.own.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element)
        elif isinstance(target, ast.Starred):
            self.bind(target.value)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            path = dotted(target.value if isinstance(target, ast.Subscript) else target)
            if isinstance(target, ast.Subscript) and path.split(".")[0] in self.fixtures:
                return  # `cache[key] = value` on a fixture's cache feeds the product object, it does not replace it
            if path:
                self.own.add(path)


def _computes_its_own_answer(facts: TestFacts) -> bool:
    tests = check_tests(facts)
    if not tests or not facts.calls:
        return False
    if facts.of(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.AsyncWith, ast.Try):
        return False  # defines or drives something the product may call back into
    if not all(is_test_metadata(decorator) for decorator in facts.node.decorator_list):
        return False  # `@freeze_time(...)`: the product wraps the test, and the standard library is what it patches
    imported, defined = facts.imported_from, facts.module_functions
    for call in facts.calls:
        name = call.func.id if isinstance(call.func, ast.Name) else None
        if name and (name in defined or (name in imported and imported[name].split(".")[0] not in _STDLIB)):
            return False  # a product function or a helper of the test module is called
    own = _Own(facts)
    if any(isinstance(c.func, ast.Name) and not own.call(c) for c in facts.calls):
        return False  # a product function is called
    computed = False
    for node in facts.nodes:
        if isinstance(node, ast.Call) and not own.call(node):
            return False  # product code runs
        if isinstance(node, ast.Assign) and own.pass_along(node):
            continue
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            if not own.expr(node.value):
                return False
            computed = computed or any(isinstance(n, ast.Call) for n in walk(node.value))
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                own.bind(target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            if not own.expr(node.iter):
                return False
            own.bind(node.target)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            continue
    if not computed:
        return False  # a literal compared with a literal is AUD117's case
    return all(own.expr(expr) and _reads_own(own, expr) for _node, expr in tests)


def _reads_own(own: _Own, expr: ast.expr) -> bool:
    """The assertion reads something the test assigned (not only literals and fixtures)."""
    for node in walk(expr):
        if isinstance(node, ast.Name) and node.id in own.own:
            return True
        if isinstance(node, ast.Attribute) and own.owned_path(dotted(node)):
            return True
    return False


@rule(
    "AUD142",
    "own-computation",
    "medium",
    "The test computes its answer itself (no product code runs) and asserts on it: breaking the product changes nothing.",
    bad="import os\n\ndef test_destinations(tmp_path):\n    allowed = {}\n    for arg in ['img=img', 'doc=../doc']:\n"
    "        key, rel = arg.split('=', 1)\n        if not os.path.normpath(rel).startswith('..'):\n"
    "            allowed[key] = os.path.join(tmp_path, rel)\n    assert list(allowed) == ['img']\n",
    good="def test_destinations(tmp_path):\n    allowed = parse_destinations(['img=img', 'doc=../doc'], root=tmp_path)\n"
    "    assert list(allowed) == ['img']\n",
    superseded_by=("AUD117",),
)
def own_computation(facts: TestFacts) -> Iterator[Hit]:
    if _computes_its_own_answer(facts):
        node = check_tests(facts)[0][0]  # type: ignore[index]
        yield node, "every assertion reads a value the test computed itself; no code under test is called"

