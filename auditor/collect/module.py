"""Tests in one parsed module: which defs pytest collects, their marks, category, and why some never run."""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.collect.category import category_of
from auditor.collect.claims import claims_of, words
from auditor.collect.markers import (
    argnames,
    dotted,
    mark_name,
    parametrize_size,
    parse_marker,
    pytestmark_items,
    usefixtures,
)
from auditor.collect.pytest_settings import PytestSettings
from auditor.collect.rules import collection  # noqa: F401 - registers AUD124-AUD126 and AUD9xx, reported here
from auditor.collect.rules.astwalk import walk
from auditor.collect.rules.calls import is_check_call
from auditor.collect.rules.registry import finding
from auditor.config import AuditConfig
from auditor.model import Finding, Marker, TestCase

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

#: Methods pytest/unittest call by name, so they are never "uncollected tests".
_HOOK_METHODS = ("setup", "teardown", "setUp", "tearDown", "setUpClass", "tearDownClass", "asyncSetUp", "asyncTearDown",
                 "load_tests", "additional_tests")  # unittest's and setuptools' hooks that add doctests to a suite
#: Names of helpers that check for the tests that call them (`standard_span_checks(span)`), not tests themselves.
_HELPER_WORDS = ("check", "assert", "verify", "expect", "helper", "validate", "compare", "ensure")


@dataclass(frozen=True)
class SourceModule:
    """A parsed Python file: a test module, or a conftest that provides fixtures."""

    path: str  # relative to the project root, posix
    tree: ast.Module = field(compare=False, repr=False)
    lines: tuple[str, ...] = field(compare=False, repr=False)
    is_test: bool = True
    outside_python_files: bool = False
    #: The file's size when it is too large for the rules (its tests are still counted); 0 otherwise.
    huge_bytes: int = 0
    #: Why Python cannot import the file although it parses (not valid in its encoding), else ``None``.
    unimportable: str | None = None


@dataclass(frozen=True)
class TestNode:
    """A test case with the AST it came from, for the rules."""

    __test__ = False

    case: TestCase
    node: FunctionNode = field(compare=False, repr=False)
    classes: tuple[ast.ClassDef, ...] = field(compare=False, repr=False)
    module: SourceModule = field(compare=False, repr=False)
    #: False for a test inherited from a base class already analysed at its own definition.
    primary: bool = True


@dataclass
class _Context:
    module: SourceModule
    config: AuditConfig
    settings: PytestSettings
    nodes: list[TestNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    _referenced: set[str] | None = None
    _used_in_tests: set[str] | None = None

    @property
    def referenced(self) -> set[str]:
        """Names loaded anywhere in the module (computed only when a non-test function needs judging)."""
        if self._referenced is None:
            # Identifiers that occur more than once in the text: the def itself is one occurrence.
            words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", "\n".join(self.module.lines))
            counts: dict[str, int] = {}
            for word in words:
                counts[word] = counts.get(word, 0) + 1
            self._referenced = {word for word, count in counts.items() if count > 1}
        return self._referenced

    @property
    def used_in_tests(self) -> set[str]:
        """Names the module's test functions load: a class a test builds and calls is a helper, not a test class."""
        if self._used_in_tests is None:
            tests = [f for f in ast.walk(self.module.tree) if isinstance(f, FunctionNode) and f.name.startswith("test")]
            self._used_in_tests = {n.id for f in tests for n in ast.walk(f) if isinstance(n, ast.Name)}
        return self._used_in_tests


def _is_fixture(node: FunctionNode) -> bool:
    return any(dotted(decorator).split(".")[-1] in ("fixture", "yield_fixture") for decorator in node.decorator_list)


def _is_unittest_class(node: ast.ClassDef, classes: dict[str, ast.ClassDef], depth: int = 0) -> bool:
    for base in node.bases:
        name = dotted(base)
        # `helper.CPWebCase`, `test_es.Num2WordsESTest`: a base from elsewhere named like a test case may well be
        # a unittest.TestCase, which pytest collects whatever the subclass is called; unsure, it is not "never runs"
        local = classes.get(name)
        if name.split(".")[-1].endswith(("TestCase", "Case") if local else ("TestCase", "Case", "Test", "Tests")):
            return True
        if local is not None and depth < 10 and _is_unittest_class(local, classes, depth + 1):
            return True
    return False


def _assigned_false(body: Sequence[ast.stmt], name: str) -> bool:
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in statement.targets
        ):
            return isinstance(statement.value, ast.Constant) and not statement.value.value
    return False


def _has_check(node: ast.AST) -> bool:
    for child in walk(node):
        if isinstance(child, ast.Assert):
            return True
        if isinstance(child, ast.Call) and dotted(child.func).split(".")[-1] in ("raises", "fail"):
            return True
    return False


def _decorator_info(decorators: Sequence[ast.expr]) -> tuple[list[Marker], list[ast.Call], list[str]]:
    markers, parametrize, fixtures = [], [], []
    for decorator in decorators:
        name = mark_name(decorator)
        if name is None:
            continue
        if name == "parametrize" and isinstance(decorator, ast.Call):
            parametrize.append(decorator)
        elif name == "usefixtures" and isinstance(decorator, ast.Call):
            fixtures.extend(usefixtures(decorator))
        marker = parse_marker(decorator)
        if marker is not None:
            markers.append(marker)
    return markers, parametrize, fixtures


def _add_test(
    ctx: _Context,
    node: FunctionNode,
    classes: tuple[ast.ClassDef, ...],
    outer: tuple[list[Marker], list[ast.Call], list[str]],
    *,
    unittest_class: bool = False,
    not_collectable: str | None = None,
    primary: bool = True,
) -> None:
    markers, parametrize, fixtures = _decorator_info(node.decorator_list)
    markers = [*outer[0], *markers]
    parametrize = [*outer[1], *parametrize]
    params = parametrize_size(parametrize)
    param_names = {name for call in parametrize for name in argnames(call)}
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    names = [arg.arg for arg in args]
    if classes and names and names[0] in ("self", "cls"):
        names = names[1:]
    used = tuple(dict.fromkeys([*outer[2], *fixtures, *(name for name in names if name not in param_names)]))
    class_names = [cls.name for cls in classes]
    test_id = "::".join([ctx.module.path, *class_names, node.name])
    case = TestCase(
        id=test_id,
        path=ctx.module.path,
        name=node.name,
        line=node.lineno,
        category=category_of(ctx.config, ctx.module.path, markers),
        cls="::".join(class_names) or None,
        markers=tuple(markers),
        params=params,
        fixtures=() if unittest_class else used,
        collectable=not_collectable is None,
        not_collectable_reason=not_collectable,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        claims=tuple(sorted(claims_of(node, ctx.module.lines))),
        has_checks=_has_checks(node),
    )
    ctx.nodes.append(TestNode(case=case, node=node, classes=classes, module=ctx.module, primary=primary))
    if not_collectable is not None and primary:
        rule = "AUD126" if "__test__" in not_collectable else "AUD124"
        ctx.findings.append(
            finding(rule, f"pytest never collects {node.name}: {not_collectable}", path=ctx.module.path,
                    line=node.lineno, test_id=test_id, config=ctx.config)
        )


def _default_run_test(node: ast.stmt, defs: Sequence[ast.stmt]) -> bool:
    """unittest's ``runTest``, which pytest collects from a TestCase that has no ``test*`` method."""
    return getattr(node, "name", "") == "runTest" and not any(
        isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and d.name.startswith("test") for d in defs)


def _looks_like_test(ctx: _Context, node: FunctionNode) -> bool:
    """A function pytest skips by name but that was meant as a test (never called, and checks things)."""
    if _is_fixture(node) or node.name.startswith(("__", "pytest_")) or node.name in _HOOK_METHODS:
        return False
    if node.name.lower().startswith(("setup", "teardown")):
        return False
    lowered = node.name.lower()
    # `Test_x`, `tests_x` say "test"; in `typetest_none` (checked by mypy) only a check would make it a test
    named_test = any(word.startswith("test") for word in words(node.name))
    if node.decorator_list or not (named_test or (_has_check(node) and not any(w in lowered for w in _HELPER_WORDS))):
        return False
    return node.name not in ctx.referenced


def _scope(
    ctx: _Context,
    body: Sequence[ast.stmt],
    classes: tuple[ast.ClassDef, ...],
    outer: tuple[list[Marker], list[ast.Call], list[str]],
    disabled: str | None,
    *,
    unittest_class: bool = False,
    local_classes: dict[str, ast.ClassDef],
) -> None:
    defs = [s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    last = {statement.name: statement for statement in defs}
    in_class = bool(classes)
    for statement in defs:
        shadowed_by = last[statement.name] if last[statement.name] is not statement else None
        if isinstance(statement, ast.ClassDef):
            if not unittest_class:  # pytest collects a TestCase's methods only: a class nested in one is test data
                _class(ctx, statement, classes, outer, disabled, local_classes, shadowed_by)
            continue
        if _is_fixture(statement):
            continue
        name_ok = (statement.name.startswith("test") or _default_run_test(statement, defs)) if unittest_class \
            else ctx.settings.function_matches(statement.name)
        if name_ok:
            reason = disabled
            if shadowed_by is not None and reason is None:
                ctx.findings.append(
                    finding(
                        "AUD125",
                        f"{statement.name} is defined again at line {shadowed_by.lineno}; "
                        "this first definition never runs",
                        path=ctx.module.path,
                        line=statement.lineno,
                        test_id="::".join([ctx.module.path, *(c.name for c in classes), statement.name]),
                        config=ctx.config,
                    )
                )
                _add_test(ctx, statement, classes, outer, unittest_class=unittest_class,
                          not_collectable=f"redefined at line {shadowed_by.lineno}", primary=False)
                continue
            _add_test(ctx, statement, classes, outer, unittest_class=unittest_class, not_collectable=reason)
        elif (disabled is None and (not in_class or classes) and not (classes and _a_base(classes[-1]))
              and _looks_like_test(ctx, statement)):
            pattern = "test*" if unittest_class else ", ".join(ctx.settings.python_functions)
            _add_test(
                ctx,
                statement,
                classes,
                outer,
                unittest_class=unittest_class,
                not_collectable=f"function name outside python_functions ({pattern})",
            )


def _class(
    ctx: _Context,
    node: ast.ClassDef,
    classes: tuple[ast.ClassDef, ...],
    outer: tuple[list[Marker], list[ast.Call], list[str]],
    disabled: str | None,
    local_classes: dict[str, ast.ClassDef],
    shadowed_by: ast.stmt | None,
) -> None:
    unittest_class = _is_unittest_class(node, local_classes)
    name_ok = unittest_class or ctx.settings.class_matches(node.name)
    methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    has_tests = any(ctx.settings.function_matches(m.name) for m in methods) or any(
        isinstance(s, ast.ClassDef) for s in node.body
    )
    reason = disabled
    if reason is None and shadowed_by is not None:
        reason = f"class redefined at line {shadowed_by.lineno}"
    if reason is None and _assigned_false(node.body, "__test__"):
        reason = "__test__ = False"
    if reason is None and not name_ok:
        # a mixin or helper (`BaseCacheTest` by its name): its tests run through the classes that inherit or call it
        if not has_tests or node.name in _base_names(local_classes) or node.name in ctx.used_in_tests or _a_base(node):
            return
        reason = f"class name outside python_classes ({', '.join(ctx.settings.python_classes)})"
    if reason is None and not unittest_class and any(m.name == "__init__" for m in methods):
        reason = "class has an __init__ constructor"
    markers, parametrize, fixtures = _decorator_info([*node.decorator_list, *pytestmark_items(node.body)])
    inner = ([*outer[0], *markers], [*outer[1], *parametrize], [*outer[2], *fixtures])
    chain = (*classes, node)
    _scope(ctx, node.body, chain, inner, reason, unittest_class=unittest_class, local_classes=local_classes)
    if reason is None:
        _inherited(ctx, node, chain, inner, local_classes, unittest_class)


def _a_base(node: ast.ClassDef) -> bool:
    return bool({"base", "mixin", "abstract"} & set(words(node.name)))


def _base_names(local_classes: dict[str, ast.ClassDef]) -> set[str]:
    return {dotted(base) for cls in local_classes.values() for base in cls.bases}


def _inherited(ctx, node, chain, inner, local_classes, unittest_class) -> None:  # type: ignore[no-untyped-def]
    """Test methods a collected class inherits from classes in the same module also run, under its name."""
    own = {s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    pending = [dotted(base) for base in node.bases]
    seen: set[str] = set()
    while pending:
        base = local_classes.get(pending.pop(0))
        if base is None or base.name in seen:
            continue
        seen.add(base.name)
        pending.extend(dotted(b) for b in base.bases)
        for method in base.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) or method.name in own:
                continue
            own.add(method.name)
            if ctx.settings.function_matches(method.name) and not _is_fixture(method):
                base_is_test = ctx.settings.class_matches(base.name) or _is_unittest_class(base, local_classes)
                _add_test(ctx, method, chain, inner, unittest_class=unittest_class, primary=not base_is_test)


def _adopt_imported(ctx: _Context, imported_by: dict[str, str]) -> None:
    """Tests of a non-test file that a test module imports run there, under that module's node id."""
    # A test function imported inside another test is that test's helper, not a test of its own; an
    # imported class runs through the test classes that inherit from it.
    ctx.nodes = [
        n
        for n in ctx.nodes
        if (imported_by.get(n.case.name) != "" or n.case.cls)
        and (not n.case.cls or n.case.cls.split("::")[0] not in imported_by)
    ]
    for index, node in enumerate(ctx.nodes):
        importer = imported_by.get(node.case.name)
        if importer and not node.case.cls:
            case = dataclasses.replace(
                node.case, id=f"{importer}::{node.case.name}", collectable=True, not_collectable_reason=None
            )
            ctx.nodes[index] = dataclasses.replace(node, case=case)


def module_tests(
    module: SourceModule, config: AuditConfig, settings: PytestSettings, imported_by: dict[str, str] | None = None
) -> tuple[list[TestNode], list[Finding]]:
    """The tests defined in ``module`` (none for a conftest), with findings for those pytest never collects."""
    if not module.is_test:
        return [], _file_notes(module, config, [], [])
    ctx = _Context(module=module, config=config, settings=settings)
    tree = module.tree
    disabled = None
    if module.unimportable:
        disabled = f"pytest cannot import the file: {module.unimportable}"
    elif module.outside_python_files:
        disabled = f"file name outside python_files ({', '.join(settings.python_files)})"
    elif _assigned_false(tree.body, "__test__"):
        disabled = "module sets __test__ = False"
    markers, parametrize, fixtures = _decorator_info(pytestmark_items(tree.body))
    local_classes = {s.name: s for s in tree.body if isinstance(s, ast.ClassDef)}
    _scope(ctx, tree.body, (), (markers, parametrize, fixtures), disabled, local_classes=local_classes)
    if module.outside_python_files:
        _adopt_imported(ctx, imported_by or {})
        # One finding for the file, not one per test: the fix is one rename.
        tests = [node for node in ctx.nodes if node.primary and not node.case.collectable]
        ctx.findings = [f for f in ctx.findings if f.rule not in ("AUD124",)]
        if tests:
            ctx.findings.append(
                finding("AUD124", f"{len(tests)} test(s) in this file never run: {disabled}", path=module.path,
                        line=tests[0].case.line, test_id=None, config=config)
            )
    return ctx.nodes, _file_notes(module, config, ctx.nodes, ctx.findings)


def _file_notes(module: SourceModule, config: AuditConfig, nodes: list[TestNode], findings: list[Finding]) -> list[Finding]:
    """One finding for a file pytest cannot import (instead of one per test), and the note on a huge file."""
    count = len(nodes)
    if module.unimportable:
        findings = [f for f in findings if f.rule != "AUD124"]
        lost = f"none of its {count} test(s) can run" if module.is_test else "no test in its folder can run"
        message = f"pytest cannot import this file: {module.unimportable}; {lost}"
        findings.append(finding("AUD902", message, path=module.path, line=1, test_id=None, config=config))
    if module.huge_bytes and module.is_test:
        message = f"file is {module.huge_bytes:,} bytes: its {count:,} test(s) are counted, but the rules did not analyse it"
        findings.append(finding("AUD903", message, path=module.path, line=1, test_id=None, config=config))
    return findings


def _has_checks(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the test's own body holds anything that fails it on purpose (helpers are judged by their names)."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Assert, ast.Raise)):
            return True
        if isinstance(sub, ast.Call) and is_check_call(sub, None):
            return True
    return False
