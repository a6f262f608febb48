"""The rule catalogue: every static rule fires on its bad example and stays quiet on its good one."""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path

import pytest

from auditor.collect.scan import scan
from auditor.config import read_config
from auditor.model import SEVERITIES
from auditor.collect.rules.catalogue import all_rules, get_rule
from auditor.collect.rules.registry import RuleInfo, finding, register
from auditor.collect.rules.astwalk import parent_map, walk, walk_grouped

STATIC = [rule for rule in all_rules() if rule.origin == "static"]
WITH_EXAMPLES = [rule for rule in all_rules() if rule.bad and rule.origin in ("static", "scan")]


#: Test files whose weak assertions are what the suppression tests silence; kept under fixtures/, never collected.
SUPPRESSION = Path(__file__).resolve().parent / "fixtures" / "suppression"


def scan_source(tmp_path: Path, source: str, *, name: str = "test_example.py", pyproject: str = "") -> list:
    """Findings of a scan of one test file written to ``tmp_path``."""
    if pyproject:
        (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (tmp_path / name).write_text(textwrap.dedent(source), encoding="utf-8")
    _inventory, findings = scan(read_config(tmp_path), [str(tmp_path / name)])
    return list(findings)


def rule_ids(findings: list) -> set[str]:
    return {f.rule for f in findings}


def test_catalogue_is_complete_and_consistent() -> None:
    assert len(STATIC) >= 25
    assert len({r.id for r in all_rules()}) == len({r.slug for r in all_rules()}) == len(all_rules())
    for rule in all_rules():
        assert rule.severity in SEVERITIES
        assert rule.rationale and "\n" not in rule.rationale
    for rule in STATIC:
        assert rule.id.startswith("AUD1") and rule.bad and rule.good


@pytest.mark.parametrize("rule", WITH_EXAMPLES, ids=lambda r: f"{r.id}-{r.slug}")
def test_rule_fires_on_its_bad_example(tmp_path: Path, rule: RuleInfo) -> None:
    assert rule.id in rule_ids(scan_source(tmp_path, rule.bad))


@pytest.mark.parametrize("rule", WITH_EXAMPLES, ids=lambda r: f"{r.id}-{r.slug}")
def test_rule_is_quiet_on_its_good_example(tmp_path: Path, rule: RuleInfo) -> None:
    assert scan_source(tmp_path, rule.good) == []


def test_register_refuses_a_clash_and_accepts_a_repeat() -> None:
    info = get_rule("AUD101")
    assert register(info) is info
    with pytest.raises(ValueError, match="registered twice"):
        register(dataclasses.replace(info, rationale="something else"))
    with pytest.raises(ValueError, match="used by both"):
        register(dataclasses.replace(info, id="AUD199"))


def test_finding_takes_slug_and_configured_severity(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.auditor.severity]\nerror-status-accepted = 'low'\n")
    config = read_config(tmp_path)
    built = finding("AUD101", "m", path="a.py", line=3, test_id="a.py::t", config=config)
    assert (built.slug, built.severity, built.origin) == ("error-status-accepted", "low", "static")


def test_select_and_ignore_switch_rules(tmp_path: Path) -> None:
    source = SUPPRESSION.joinpath("select_ignore.py").read_text(encoding="utf-8")
    assert rule_ids(scan_source(tmp_path, source)) == {"AUD101", "AUD105"}
    # with AUD105 off, the truthiness rule it supersedes reports `assert r` in its place
    assert rule_ids(scan_source(tmp_path, source, pyproject="[tool.auditor]\nignore = ['truthy-response']\n")) == {
        "AUD101", "AUD138"
    }
    assert rule_ids(scan_source(tmp_path, source, pyproject="[tool.auditor]\nselect = ['AUD105']\n")) == {"AUD105"}


def test_suppression_on_the_line_and_on_the_def(tmp_path: Path) -> None:
    source = SUPPRESSION.joinpath("suppressed.py").read_text(encoding="utf-8")
    assert scan_source(tmp_path, source) == []


def test_bad_and_unused_suppressions_are_reported(tmp_path: Path) -> None:
    source = SUPPRESSION.joinpath("bad_suppressions.py").read_text(encoding="utf-8")
    found = sorted((f.rule, f.line) for f in scan_source(tmp_path, source))
    assert found == [("AUD101", 4), ("AUD905", 6), ("AUD906", 4), ("AUD906", 9)]


def test_suppression_syntax_inside_a_string_is_not_a_suppression(tmp_path: Path) -> None:
    source = "def test_s():\n    text = '# auditor: ignore[AUD101] quoted'\n    assert parse(text) == []\n"
    assert scan_source(tmp_path, source) == []


@pytest.mark.parametrize(
    "source",
    [
        # requests' Response.__bool__ is .ok, so this checks the status
        "import requests\ndef test_r(url):\n    r = requests.get(url)\n    assert r\n    assert r.json() == {}\n",
        # a not-implemented route is supposed to answer 501
        "def test_stub(client):\n    assert client.post('/v1/fine-tunes').status_code == 501\n",
        # a routing test is about statuses
        "def test_routes_answer(client):\n    assert client.get('/a').status_code == 200\n",
        # `if bad: pytest.fail()` is an assertion spelt differently
        "import pytest\ndef test_f(x):\n    if x.broken():\n        pytest.fail('broken')\n",
        # a handler that keeps the error for a later check does not swallow it
        "def test_t(errors):\n    try:\n        assert f() == 1\n    except Exception as e:\n        errors.append(e)\n    assert not errors\n",
        # obj == obj among other checks tests a custom __eq__
        "def test_eq():\n    cfg = Config()\n    assert cfg == cfg\n    assert cfg.get('x', 2) == 2\n",
        # a comparison run for the error it raises
        "import pytest\ndef test_cmp(x, y):\n    with pytest.raises(TypeError):\n        x == y\n",
        # `assert True` marks the expected branch; the other one fails
        "def test_rejects():\n    try:\n        parse('(')\n    except ValueError:\n        assert True\n"
        "    else:\n        assert False\n",
        # an if that picks cases from the test's own data: the check runs on those cases
        "CASES = [1, 'a', 2.5]\ndef test_roundtrip():\n    for case in CASES:\n        if not isinstance(case, str):\n"
        "            assert load(dump(case)) == case\n",
        # a predicate's truthiness is its answer
        "def test_closes():\n    conn = open_conn()\n    conn.close()\n    assert conn.is_closed()\n    assert conn.closed\n",
        # int here, float there: the test contrasts types
        "def test_identity():\n    assert isinstance(add.identity(1), int)\n    assert isinstance(add.identity(1.0), float)\n",
        # the claim names the type
        "def test_formats_are_a_list_of_strings():\n    assert type(formats()) is list\n",
        # one accepted text contains the other: the `or` accepts exactly the shorter one
        "def test_literal(client):\n    body = client.get('/').text\n    assert 'a{{7}}.txt' in body or 'a{{7}}' in body\n",
        # a fixture's object is read through a builtin: the product's state is what is checked
        "def test_methods(d, ref):\n    mine = set(dir(d))\n    assert mine < set(dir(ref))\n",
        # the product runs in a subprocess
        "import subprocess, sys\ndef test_lazy():\n    p = subprocess.run([sys.executable, '-c', 'import app'])\n"
        "    code = p.returncode\n    assert code == 0\n",
        # the exit code is the claim
        "def test_unknown_flag_exits_cleanly(runner):\n    result = runner.invoke(cli, ['--x'])\n"
        "    assert result.exit_code == 0\n",
    ],
    ids=["requests-truthy", "501-route", "routing", "if-fail", "recorded-error", "custom-eq", "raises-compare",
         "branch-marker", "filtered-cases", "predicate-truthy",
         "contrasted-types", "claimed-type", "nested-alternatives", "fixture-inspected", "subprocess", "exit-claim"],
)
def test_strong_tests_that_look_weak_are_not_flagged(tmp_path: Path, source: str) -> None:
    assert scan_source(tmp_path, source) == []


def test_stop_iteration_in_a_helper_class_is_not_a_check(tmp_path: Path) -> None:
    source = (
        "def test_hint(runner):\n    class Hinted:\n        def __next__(self):\n            raise StopIteration\n"
        "    runner.invoke(cli, [Hinted()])\n"
    )
    assert rule_ids(scan_source(tmp_path, source)) == {"AUD153"}
    failing_fake = source.replace("raise StopIteration", "raise ValueError('next() must not be called')")
    assert scan_source(tmp_path, failing_fake) == []


@pytest.mark.parametrize(
    "source",
    [
        # an assertion helper under a namespace prefix
        "from lib._array_api import xp_assert_close\ndef test_shift(xp):\n    xp_assert_close(shift(xp.ones(3)), xp.ones(3))\n",
        # a checking method inherited from a base class defined elsewhere
        "from testbase import Base\nclass TestLayout(Base):\n    def test_scale(self):\n        self.same_layout(layout(G), expected)\n",
        # a local alias of a checking method
        "class TestLayout:\n    def test_scale(self):\n        sc = self.check_scale\n        sc(layout(G), scale=1)\n",
        # a warning check under a namespace prefix
        "def test_deprecated_set():\n    with warns_deprecated_sympy():\n        lambdify({1, 2}, 3)\n",
        # pytest-mpl compares the returned figure with a baseline image
        "import pytest\n@pytest.mark.mpl_image_compare\ndef test_draw():\n    fig = draw(graph())\n    return fig\n",
    ],
    ids=["prefixed-assert", "base-class-helper", "alias", "prefixed-warns", "mpl-figure"],
)
def test_checks_reached_through_helpers_count(tmp_path: Path, source: str) -> None:
    (tmp_path / "testbase.py").write_text("class Base:\n    def same_layout(self, a, b):\n        assert a == b\n")
    assert not {"AUD107", "AUD153"} & rule_ids(scan_source(tmp_path, source))


def test_a_skip_on_every_supported_python_follows_requires_python(tmp_path: Path) -> None:
    source = (
        "import sys, pytest\n@pytest.mark.skipif(sys.version_info >= (3, 10), reason='leaks')\n"
        "def test_no_leak():\n    assert leaked() == 0\n"
    )
    supported = "[project]\nname = 'p'\nrequires-python = '>=3.10'\n"
    (tmp_path / "declared").mkdir()
    assert rule_ids(scan_source(tmp_path / "declared", source, pyproject=supported)) == {"AUD147"}
    (tmp_path / "unstated").mkdir()  # 3.10 may still be unsupported by a project that says nothing
    assert scan_source(tmp_path / "unstated", source) == []


def test_real_infrastructure_rules_follow_the_configured_categories(tmp_path: Path) -> None:
    source = (
        "from fastapi.testclient import TestClient\ndef test_h():\n    assert TestClient(app).get('/h').json() == {}\n"
    )
    (tmp_path / "e2e").mkdir()
    assert rule_ids(scan_source(tmp_path, source, name="e2e/test_h.py")) == {"AUD121"}
    (tmp_path / "unit").mkdir()
    assert scan_source(tmp_path, source, name="unit/test_h.py") == []
    relaxed = "[tool.auditor]\nreal_infrastructure = ['stress']\n"
    assert scan_source(tmp_path, source, name="e2e/test_h.py", pyproject=relaxed) == []


def test_fixture_defined_in_conftest_is_followed(tmp_path: Path) -> None:
    (tmp_path / "e2e").mkdir()
    (tmp_path / "e2e" / "conftest.py").write_text(
        "import pytest\nfrom starlette.testclient import TestClient\n"
        "@pytest.fixture\ndef api():\n    with TestClient(app) as client:\n        yield client\n"
    )
    findings = scan_source(tmp_path, "def test_h(api):\n    assert api.get('/h').json() == {}\n", name="e2e/test_h.py")
    assert [(f.rule, f.message) for f in findings] == [
        ("AUD121", "e2e test: fixture 'api' builds an in-process client `TestClient(...)`")
    ]


def test_helper_in_another_project_module_counts_as_a_check(tmp_path: Path) -> None:
    (tmp_path / "testhelpers.py").write_text("def same_invoice(a, b):\n    assert a == b\n")
    source = "from testhelpers import same_invoice\ndef test_i():\n    same_invoice(make(), {'total': 1})\n"
    assert scan_source(tmp_path, source) == []
    (tmp_path / "testhelpers.py").write_text("def same_invoice(a, b):\n    return a == b\n")
    assert rule_ids(scan_source(tmp_path, source)) == {"AUD153"}


def test_a_failing_rule_is_a_finding_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.collect.rules import base

    def explode(facts):  # type: ignore[no-untyped-def]
        raise RecursionError("maximum recursion depth exceeded")

    broken = dataclasses.replace(base.STATIC_RULES[0], check=explode)
    monkeypatch.setattr(base, "STATIC_RULES", [broken, *base.STATIC_RULES[1:]])
    monkeypatch.setattr("auditor.collect.analyse.STATIC_RULES", base.STATIC_RULES)
    findings = scan_source(tmp_path, "def test_x(client):\n    r = client.get('/')\n    assert r\n")
    assert sorted(f.rule for f in findings) == ["AUD105", "AUD908"]
    assert "RecursionError" in next(f.message for f in findings if f.rule == "AUD908")


_EVERY_SHAPE = """
import os
from a import (b as c)
GLOBAL = {**os.environ, "k": [1, 2.5, -3, b"x", f"{os.sep!r:>4}"]}
@dec(1)
class K(Base, metaclass=Meta):
    x: int = 0
    def m(self, a, /, b=1, *args, c, d=2, **kw) -> None:
        global GLOBAL
        lam = lambda y=1: y
        with open(a) as f, ctx():
            async def inner():
                async for i in aiter():
                    await i
                async with ctx():
                    pass
        try:
            assert a < b <= c, "msg"
        except (ValueError, TypeError) as exc:
            raise RuntimeError() from exc
        else:
            del a
        finally:
            pass
        match kw:
            case {"k": [1, *rest]} | Point(x=0, y=_) if rest:
                return [v for v in rest if v] + list({v: v for v in rest})
            case None:
                yield (yield from g())
            case _:
                return a if b else (c := not d)
        x = {1, 2}; x[1:2:3] = y.z; x += 1; t: int
        while x: break
        for q in x: continue
"""


def test_walk_lists_every_node_in_source_order_with_its_parent() -> None:
    """The generated walkers see exactly what ast.walk sees (minus context/operator singletons)."""
    tree = ast.parse(_EVERY_SHAPE)
    leaves = (ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)
    expected = [node for node in ast.walk(tree) if not isinstance(node, leaves)]
    walked = walk(tree)
    assert sorted(map(id, walked)) == sorted(map(id, expected))
    positions = [(n.lineno, n.col_offset) for n in walked if isinstance(n, ast.stmt)]
    assert positions == sorted(positions)  # statements come in source order
    nodes, groups = walk_grouped(tree.body)
    assert nodes == walked[1:]
    assert groups[ast.Assert] == [n for n in walked if isinstance(n, ast.Assert)]
    parents = parent_map(tree.body, tree)
    for parent in [tree, *nodes]:
        for child in ast.iter_child_nodes(parent):
            if not isinstance(child, leaves):
                assert parents[id(child)] is parent
    assert len(parents) == len(nodes)


def test_walk_reads_hand_built_nodes_with_missing_fields() -> None:
    """Rules build nodes by hand (``ast.Compare(...)`` without positions); the walk must not trip on them."""
    node = ast.Compare(left=ast.Name("a"), ops=[ast.IsNot()], comparators=[ast.Constant(None)])
    assert [type(n).__name__ for n in walk(node)] == ["Compare", "Name", "Constant"]
    partial = ast.Dict(keys=[None, ast.Constant("k")])  # `values` never set
    assert [type(n).__name__ for n in walk(partial)] == ["Dict", "Constant"]
