"""The AST inventory: what pytest would collect, what it would not and why, read without importing code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.collect.inventory import collect
from auditor.config import read_config
from auditor.exceptions import ConfigError
from auditor.collect.pytest_settings import read_pytest_settings


def write(root: Path, files: dict[str, str]) -> Path:
    """Write a small project: {relative path: source}."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def inventory(root: Path, *paths: str):  # type: ignore[no-untyped-def]
    return collect(read_config(root), [str(root / p) for p in paths] or [str(root)])


def by_name(inv) -> dict:  # type: ignore[no-untyped-def]
    return {case.id.split("::", 1)[1]: case for case in inv.cases}


def test_settings_precedence_follows_pytest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "setup.cfg": "[tool:pytest]\npython_files = cfg_*.py\n",
            "tox.ini": "[pytest]\npython_files = tox_*.py\n",
            "pyproject.toml": "[tool.pytest.ini_options]\npython_files = ['legacy_*.py']\n",
        },
    )
    assert read_pytest_settings(tmp_path).python_files == ("legacy_*.py",)
    (tmp_path / "pyproject.toml").write_text("[tool.pytest]\npython_files = ['native_*.py']\n")
    assert read_pytest_settings(tmp_path).python_files == ("native_*.py",)
    (tmp_path / "pytest.ini").write_text("[pytest]\npython_functions = check_ test_\n")
    settings = read_pytest_settings(tmp_path)
    assert settings.python_functions == ("check_", "test_")
    assert settings.python_files == ("test_*.py", "*_test.py")  # pytest.ini wins even when silent on it
    assert settings.source == str(tmp_path / "pytest.ini")


def test_settings_fall_back_to_tox_then_setup_cfg(tmp_path: Path) -> None:
    write(tmp_path, {"setup.cfg": "[tool:pytest]\ntestpaths = a b\nxfail_strict = true\n"})
    settings = read_pytest_settings(tmp_path)
    assert settings.testpaths == ("a", "b")
    assert settings.xfail_strict is True
    write(tmp_path, {"tox.ini": "[pytest]\nnorecursedirs = data\n"})
    assert read_pytest_settings(tmp_path).norecursedirs == ("data",)


def test_cases_have_markers_params_fixtures_and_category(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/e2e/test_api.py": """
        import sys, pytest
        pytestmark = pytest.mark.usefixtures("server")

        @pytest.mark.skipif(sys.platform == "win32", reason="posix only")
        @pytest.mark.parametrize("a", [1, 2, 3])
        @pytest.mark.parametrize("b, c", [(1, 2), pytest.param(3, 4, id="x")])
        def test_grid(a, b, c, client):
            assert client.get(a).json() == b + c

        @pytest.mark.xfail(reason="bug", strict=True)
        @pytest.mark.parametrize("case", load_cases())
        async def test_dynamic(case):
            assert case
    """
        },
    )
    cases = by_name(inventory(tmp_path))
    grid = cases["test_grid"]
    assert grid.category == "e2e"
    assert grid.params == 6
    assert grid.fixtures == ("server", "client")
    skipif = next(m for m in grid.markers if m.name == "skipif")
    assert (skipif.condition, skipif.reason, skipif.unconditional) == ("sys.platform == 'win32'", "posix only", False)
    dynamic = cases["test_dynamic"]
    assert dynamic.params is None and dynamic.is_async is True
    xfail = next(m for m in dynamic.markers if m.name == "xfail")
    assert (xfail.strict, xfail.unconditional) == (True, True)


def test_category_order_config_then_folder_then_marker(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.auditor]\ncategories = { 'tests/special/*' = 'stress', slowpath = 'benchmarks' }\n",
            "tests/special/smoke/test_a.py": "def test_a():\n    assert f() == 1\n",
            "tests/smoke/test_b.py": "import pytest\n@pytest.mark.stress\ndef test_b():\n    assert f() == 1\n",
            "tests/test_c.py": "import pytest\n@pytest.mark.smoke\ndef test_c():\n    assert f() == 1\n"
            "@pytest.mark.slowpath\ndef test_d():\n    assert f() == 1\ndef test_e():\n    assert f() == 1\n",
        },
    )
    cases = {case.name: case.category for case in inventory(tmp_path).cases}
    assert cases == {"test_a": "stress", "test_b": "smoke", "test_c": "smoke", "test_d": "benchmarks", "test_e": "unit"}


def test_uncollectable_tests_are_listed_with_reasons(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/test_mod.py": """
            class TestInit:
                def __init__(self):
                    self.x = 1
                def test_in_init_class(self):
                    assert self.x == 1

            class TestOff:
                __test__ = False
                def test_disabled(self):
                    assert 1 == f()

            def tset_never_called():
                assert f() == 2

            def helper_called():
                assert f() == 3

            def standard_span_checks(span):
                assert span.ended

            def load_tests(loader, tests, ignore):
                return tests

            def test_uses_helper():
                helper_called()

            def test_twice():
                assert f() == 4

            def test_twice():
                assert f() == 5
        """,
            "tests/checks_api.py": "def test_outside_python_files():\n    assert f() == 6\n",
        },
    )
    inv = inventory(tmp_path, "tests")
    reasons = {c.id.split("::", 1)[1]: (c.collectable, c.not_collectable_reason) for c in inv.cases}
    assert reasons["TestInit::test_in_init_class"] == (False, "class has an __init__ constructor")
    assert reasons["TestOff::test_disabled"] == (False, "__test__ = False")
    assert reasons["tset_never_called"] == (False, "function name outside python_functions (test)")
    assert "standard_span_checks" not in reasons  # named like a checking helper: not a lost test
    assert "load_tests" not in reasons  # unittest's hook that adds doctests to the suite
    assert "helper_called" not in reasons  # called by a test: a helper, not a lost test
    assert reasons["test_outside_python_files"][0] is False
    twice = [c for c in inv.cases if c.name == "test_twice"]
    assert [(c.line, c.collectable) for c in twice] == [(28, False), (31, True)]
    rules = sorted((f.rule, f.line) for f in inv.findings)
    assert rules == [("AUD124", 1), ("AUD124", 5), ("AUD124", 13), ("AUD125", 28), ("AUD126", 10)]


def test_norecursedirs_folder_is_one_finding_but_scanned_when_named(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nnorecursedirs = examples\n",
            "tests/examples/test_weak.py": "def test_weak():\n    assert True\n",
            "tests/test_real.py": "def test_real():\n    assert f() == 1\n",
        },
    )
    inv = inventory(tmp_path, "tests")
    assert [c.name for c in inv.cases] == ["test_real"]
    assert [(f.rule, f.path) for f in inv.findings] == [("AUD126", "tests/examples")]
    named = inventory(tmp_path, "tests/examples")
    assert [(c.name, c.collectable) for c in named.cases] == [("test_weak", True)]


def test_scan_problems_are_findings_and_never_stop_the_scan(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/test_broken.py": "def test_x(:\n    pass\n",
            "tests/test_ok.py": "def test_ok():\n    assert f() == 1\n",
        },
    )
    (tmp_path / "tests" / "test_latin1.py").write_bytes(b"def test_l():\n    assert '\xe9' == f()\n")
    (tmp_path / "tests" / "loop").mkdir()
    os.symlink(tmp_path / "tests", tmp_path / "tests" / "loop" / "back")
    inv = inventory(tmp_path, "tests")
    # The latin-1 file parses, so its test is counted; pytest cannot import it, so it is uncollectable.
    assert [(c.name, c.collectable) for c in inv.cases] == [("test_l", False), ("test_ok", True)]
    found = sorted((f.rule, f.path, f.severity) for f in inv.findings)
    assert found == [
        ("AUD901", "tests/test_broken.py", "medium"),
        ("AUD902", "tests/test_latin1.py", "medium"),
        ("AUD904", "tests/loop/back", "medium"),
    ]


def test_unittest_classes_and_inherited_tests(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/test_inherit.py": """
        import unittest

        class Base(unittest.TestCase):
            def __init__(self, *args):
                super().__init__(*args)
            def test_shared(self):
                self.assertEqual(f(), 1)

        class ApiChecks:
            def test_mixin(self):
                assert f() == 2

        class TestApi(ApiChecks):
            def test_own(self):
                assert f() == 3
    """
        },
    )
    ids = sorted(c.id.split("::", 1)[1] for c in inventory(tmp_path).cases if c.collectable)
    assert ids == ["Base::test_shared", "TestApi::test_mixin", "TestApi::test_own"]


def test_inventory_matches_pytest_collect_only(tmp_path: Path) -> None:
    """The static inventory names exactly the node ids a real ``pytest --collect-only`` run reports."""
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\npython_functions = ['test_', 'check_']\nnorecursedirs = ['skipme']\n",
            "tests/test_one.py": """
            class TestA:
                def test_a(self):
                    assert 1 == 1
                def check_b(self):
                    assert 2 == 2
            class TestNo:
                def __init__(self):
                    pass
                def test_hidden(self):
                    pass
            def check_c():
                assert 3 == 3
            def test_d():
                assert 4 == 4
            def test_d():
                assert 5 == 5
            def helper():
                return 1
        """,
            "tests/sub/test_two.py": "__test__ = False\ndef test_off():\n    pass\n",
            "tests/sub/three_test.py": "class TestX:\n    def test_x(self):\n        pass\n",
            "tests/skipme/test_four.py": "def test_never():\n    pass\n",
            "tests/notatest.py": "def test_lost():\n    pass\n",
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-W", "ignore", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    collected = sorted(line for line in result.stdout.splitlines() if "::" in line)
    ours = sorted(c.id for c in inventory(tmp_path, "tests").cases if c.collectable)
    assert ours == collected
    assert len(collected) == 5


def test_project_name_comes_from_config_then_pyproject_then_folder(tmp_path: Path) -> None:
    (tmp_path / "bare").mkdir()
    assert read_config(tmp_path / "bare").project == "bare"
    named = tmp_path / "named"
    named.mkdir()
    (named / "pyproject.toml").write_text('[project]\nname = "shop-api"\n')
    assert read_config(named).project == "shop-api"
    (named / "pyproject.toml").write_text('[project]\nname = "shop-api"\n[tool.auditor]\nproject = "Shop API"\n')
    assert read_config(named).project == "Shop API"
    (named / "pyproject.toml").write_text('[tool.auditor]\nproject = 3\n')
    with pytest.raises(ConfigError, match=r"project: expected a string, got 3"):
        read_config(named)
