"""Rules about how a test is set up to run: skips, xfail, empty bodies, sleeps, broad raises, retries."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from auditor.collect.markers import argvalues, dotted, is_test_metadata, mark_name
from auditor.collect.rules.base import Hit, rule
from auditor.collect.rules.calls import call_name, is_client_call
from auditor.collect.rules.facts import TestFacts, walk

_TIMERS = {
    "perf_counter",
    "perf_counter_ns",
    "monotonic",
    "monotonic_ns",
    "time",
    "time_ns",
    "process_time",
    "default_timer",
    "timeit",
    "repeat",
}
_RECORDS = {
    "write",
    "write_text",
    "write_bytes",
    "dump",
    "dumps",
    "record_property",
    "record_testsuite_property",
    "save",
    "to_csv",
    "to_json",
    "savefig",
    "log_metric",
    "emit",
    "append_result",
    "record",
    "benchmark",
    "pedantic",
    "add_row",
}
_SLEEPERS = ("time", "asyncio", "anyio", "trio", "gevent", "")


def records_measurement(facts: TestFacts) -> bool:
    """A benchmark that times something and records the number (record_property, a file, pytest-benchmark)."""
    names = {call_name(call) for call in facts.calls}
    return bool(names & _TIMERS and names & _RECORDS) or "benchmark" in facts.test.case.fixtures


def top_level_skip(facts: TestFacts) -> ast.AST | None:
    """A ``pytest.skip()``/``self.skipTest()``/``raise SkipTest`` at the top of the body (runs always)."""
    for statement in facts.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            if call_name(statement.value) in ("skip", "skipTest") and dotted(statement.value.func) != "skip_if":
                return statement
        if isinstance(statement, ast.Raise) and statement.exc is not None and "SkipTest" in dotted(statement.exc):
            return statement
    return None


def unconditionally_skipped(facts: TestFacts) -> bool:
    """True when the test never runs its body (a skip mark, skipif(True), or a top-level skip call)."""
    return any(m.name in ("skip", "skipif") and m.unconditional for m in facts.test.case.markers) or (
        top_level_skip(facts) is not None
    )


@rule(
    "AUD113",
    "unconditional-skip",
    "high",
    "The test is always skipped: whatever it checks is never checked.",
    bad="@pytest.mark.skip(reason='flaky on CI')\ndef test_upload(client):\n    assert client.post('/up').json() == {'ok': True}\n",
    good="@pytest.mark.skipif(sys.platform == 'win32', reason='uses fork')\ndef test_fork():\n    assert spawn().wait() == 0\n",
    on_skipped=True,
)
def unconditional_skip(facts: TestFacts) -> Iterator[Hit]:
    for marker in facts.test.case.markers:
        if marker.name in ("skip", "skipif") and marker.unconditional:
            yield facts.node, f"always skipped ({marker.name}: {marker.reason or 'no reason'})"
            return
    statement = top_level_skip(facts)
    if statement is not None:
        yield statement, f"skips itself unconditionally: `{ast.unparse(statement)[:80]}`"


@rule(
    "AUD133",
    "skip-without-reason",
    "low",
    "A skip without a reason hides why the test does not run, so nobody knows when to re-enable it.",
    bad="@pytest.mark.skip\ndef test_export():\n    assert export() == b''\n",
    good="@pytest.mark.skipif(not HAS_LZMA, reason='needs lzma')\ndef test_export():\n    assert export() == b''\n",
    on_skipped=True,
)
def skip_without_reason(facts: TestFacts) -> Iterator[Hit]:
    for marker in facts.test.case.markers:
        if marker.name in ("skip", "skipif") and not marker.reason:
            yield facts.node, f"{marker.name} without a reason"


@rule(
    "AUD123",
    "non-strict-xfail",
    "medium",
    "A non-strict xfail that starts passing is reported as XPASS and stays green, hiding a fix or a no-op test.",
    bad="@pytest.mark.xfail(reason='bug 12')\ndef test_round():\n    assert round_half(2.5) == 3\n",
    good="@pytest.mark.xfail(reason='bug 12', strict=True)\ndef test_round():\n    assert round_half(2.5) == 3\n",
    on_skipped=True,
)
def non_strict_xfail(facts: TestFacts) -> Iterator[Hit]:
    for marker in facts.test.case.markers:
        # xfail(sys.platform == "win32") expects failure only there; everywhere else the test checks as usual.
        only_somewhere = marker.condition is not None and not marker.unconditional
        if marker.name == "xfail" and not only_somewhere and (
            marker.strict is False or (marker.strict is None and not facts.settings.xfail_strict)
        ):
            yield facts.node, "xfail without strict=True (and xfail_strict is off)"


@rule(
    "AUD134",
    "empty-parametrize",
    "medium",
    "parametrize with an empty list generates no test at all (pytest reports a skip).",
    bad="@pytest.mark.parametrize('case', [])\ndef test_case(case):\n    assert run(case) == 0\n",
    good="@pytest.mark.parametrize('case', ['a', 'b'])\ndef test_case(case):\n    assert run(case) == 0\n",
    on_skipped=True,
)
def empty_parametrize(facts: TestFacts) -> Iterator[Hit]:
    for decorator in facts.node.decorator_list:
        if mark_name(decorator) == "parametrize" and isinstance(decorator, ast.Call):
            values = argvalues(decorator)
            if isinstance(values, (ast.List, ast.Tuple)) and not values.elts:
                yield decorator, "parametrize over an empty list: no test is generated"


@rule(
    "AUD135",
    "retry-masks-failure",
    "low",
    "Retrying until a pass (flaky/reruns) turns real intermittent failures green.",
    bad="@pytest.mark.flaky(reruns=5)\ndef test_stream(client):\n    assert read_stream(client) == ['a', 'b']\n",
    good="def test_stream(client):\n    assert read_stream(client) == ['a', 'b']\n",
    on_skipped=True,
)
def retry_masks_failure(facts: TestFacts) -> Iterator[Hit]:
    for decorator in facts.node.decorator_list:
        name = mark_name(decorator) or dotted(decorator).split(".")[-1]
        if name in ("flaky", "retry", "repeat_until_pass"):
            yield decorator, f"retried until it passes: `@{ast.unparse(decorator)}`"


@rule(
    "AUD114",
    "empty-body",
    "high",
    "The test body is empty (pass, ..., a docstring): it passes without running anything.",
    bad="def test_upload_large_file():\n    pass\n",
    good="def test_upload_large_file(client):\n    r = client.post('/up', content=b'x' * 10_000_000)\n"
    "    assert r.json() == {'size': 10_000_000}\n",
)
def empty_body(facts: TestFacts) -> Iterator[Hit]:
    if ">>> " in (ast.get_docstring(facts.node) or ""):
        return  # the docstring is a doctest: its examples are the checks (doctest.testmod, --doctest-modules)
    if not all(is_test_metadata(decorator) for decorator in facts.node.decorator_list):
        return  # `@vcr.use_cassette(...)` on an empty test: the decorator, which runs, is what is tested
    for statement in facts.body:
        if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Return) and statement.value is None):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        return
    yield facts.node, f"{facts.node.name} has an empty body"


@rule(
    "AUD115",
    "print-only-benchmark",
    "medium",
    "The benchmark measures time but only prints it: nothing is recorded or compared, so no regression is caught.",
    bad="def test_speed(client):\n    start = time.perf_counter()\n    for _ in range(100):\n        client.get('/x')\n"
    "    print('took', time.perf_counter() - start)\n",
    good="def test_speed(client, record_property):\n    start = time.perf_counter()\n    for _ in range(100):\n"
    "        client.get('/x')\n    record_property('seconds', time.perf_counter() - start)\n",
)
def print_only_benchmark(facts: TestFacts) -> Iterator[Hit]:
    names = {call_name(call) for call in facts.calls}
    if not names & _TIMERS or facts.checks or names & _RECORDS or "benchmark" in facts.test.case.fixtures:
        return
    if facts.checked_by_plugin or not _measures_time(facts):
        return  # `payload["nbf"] = time.time() + 10`: a clock read as input, not a duration
    if any("extra_info" in ast.unparse(n) for n in facts.of(ast.Assign)):
        return
    yield facts.node, "measures time but only prints or discards it"


def _measures_time(facts: TestFacts) -> bool:
    """A duration is taken: ``timeit(...)``, or one clock reading subtracted from another (``end - start``)."""
    # `timeit.repeat(...)`, not pydash's `repeat("a", 3)`
    if any(call_name(c) == "timeit" or (call_name(c) == "repeat" and "timeit" in dotted(c.func)) for c in facts.calls):
        return True
    readings = {
        target.id
        for node in facts.of(ast.Assign)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and call_name(node.value) in _TIMERS
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in facts.of(ast.BinOp):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            sides = (node.left, node.right)
            if all(  # `time.time() - 1` is a moment, not a duration
                (isinstance(side, ast.Call) and call_name(side) in _TIMERS)
                or (isinstance(side, ast.Name) and side.id in readings)
                for side in sides
            ):
                return True
    return False


@rule(
    "AUD116",
    "sleep-wait",
    "low",
    "A fixed sleep waits too long on fast machines and not long enough on slow ones; poll with a deadline.",
    bad="def test_worker(client):\n    client.post('/jobs', json={'n': 1})\n    time.sleep(2)\n"
    "    assert client.get('/jobs/1').json()['state'] == 'done'\n",
    good="def test_worker(client):\n    client.post('/jobs', json={'n': 1})\n"
    "    assert wait_for(lambda: client.get('/jobs/1').json()['state'] == 'done', timeout=10)\n",
)
def sleep_wait(facts: TestFacts) -> Iterator[Hit]:
    for call in facts.calls:
        if call_name(call) != "sleep" or dotted(call.func).rsplit(".", 1)[0] not in (*_SLEEPERS, "sleep"):
            continue
        if call.args and isinstance(call.args[0], ast.Constant) and not call.args[0].value:
            continue  # sleep(0) yields to other tasks; it does not wait
        if any(isinstance(p, (ast.While, ast.For, ast.AsyncFor)) for p in facts.ancestors(call)):
            continue  # inside a loop: polling or pacing, not a fixed wait
        if any(isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) for p in facts.ancestors(call)):
            continue  # inside an endpoint or callback the test defines: simulated work, not the test waiting
        yield call, f"fixed wait: `{ast.unparse(call)}`"


# LOW: 2 of the 12 labelled strangers' tests it reported were weak (a skip because the machine or the provider lacks
# something is usually the environment's); still reported, with its count (docs/rules.md, "A sixth sample")
@rule(
    "AUD112",
    "failure-to-skip",
    "low",
    "An exception from the code under test (server down, bad response) is turned into a skip instead of a failure.",
    bad="def test_live(client):\n    try:\n        r = client.get('/health')\n    except httpx.ConnectError:\n"
    "        pytest.skip('server not running')\n    assert r.json() == {'ok': True}\n",
    good="def test_live(client):\n    r = client.get('/health')\n    assert r.json() == {'ok': True}\n",
)
def failure_to_skip(facts: TestFacts) -> Iterator[Hit]:
    for node in facts.of(ast.Try):
        if not isinstance(node, ast.Try):
            continue
        for handler in node.handlers:
            caught = ast.unparse(handler.type) if handler.type is not None else "everything"
            if "ImportError" in caught or "ModuleNotFoundError" in caught or "FileNotFoundError" in caught:
                continue  # an optional dependency or a build artefact (compiled catalogs): the environment's
            skips = [
                c
                for s in handler.body
                for c in walk(s)
                if isinstance(c, ast.Call) and call_name(c) in ("skip", "skipTest", "xfail")
            ]
            if any(isinstance(c, ast.Raise) for s in handler.body for c in walk(s)):
                continue  # skips one known case (`if "_NoValueType" in str(e)`) and re-raises every other failure
            if skips and not any(_machine_lacks(ast.unparse(c)) for c in skips):
                yield skips[0], f"`except {caught}` turns a failure into `{ast.unparse(skips[0])[:60]}`"


#: A skip whose reason says the machine lacks something ("symlink unavailable", "not supported on this platform",
#: "pycountry not installed"): the environment's capability, not the code under test, decides the skip.
_MISSING_CAPABILITY = re.compile(
    r"unavailable|not available|not supported|unsupported|not installed|not permitted|no permission|not found in"
    r"|missing from"
    r"|(can ?not|can't|unable to) (create|bind|open|use)|requires? (root|admin|privileges)",
    re.IGNORECASE,
)
#: ...unless what is missing is the system under test ("server unavailable" is the failure the rule is about).
_SYSTEM_UNDER_TEST = re.compile(
    r"server|service|backend|endpoint|\bapi\b|connect|network|remote|\bmodel\b|\bhost\b|\bport\b|\burl\b",
    re.IGNORECASE,
)


def _machine_lacks(skip: str) -> bool:
    return bool(_MISSING_CAPABILITY.search(skip)) and not _SYSTEM_UNDER_TEST.search(skip)


@rule(
    "AUD122",
    "broad-raises",
    # low: a smell more than a weak test; 0 of 8 tests it flagged in a blind sample of strangers' tests were weak
    # (docs/rules.md, "Severity from strangers' tests")
    "low",
    "pytest.raises(Exception) passes on any error, including a typo or a crash in the test itself.",
    bad="def test_rejects_negative():\n    with pytest.raises(Exception):\n        withdraw(-5)\n",
    good="def test_rejects_negative():\n    with pytest.raises(ValueError, match='positive'):\n        withdraw(-5)\n",
)
def broad_raises(facts: TestFacts) -> Iterator[Hit]:
    for call in facts.calls:
        if call_name(call) not in ("raises", "assertRaises") or not call.args:
            continue
        kinds = call.args[0].elts if isinstance(call.args[0], ast.Tuple) else [call.args[0]]
        broad = [k for k in kinds if dotted(k).split(".")[-1] in ("Exception", "BaseException")]
        if broad and not any(k.arg in ("match", "check") for k in call.keywords) and not _pinned_elsewhere(facts, call):
            yield call, f"`{ast.unparse(call)}` accepts any exception (no match=)"


def _pinned_elsewhere(facts: TestFacts, raises: ast.Call) -> bool:
    """The caught exception is inspected (``as excinfo`` used later), or other asserts pin what the test claims."""
    for item in facts.of(ast.withitem):
        if item.context_expr is raises and isinstance(item.optional_vars, ast.Name):
            if len(facts.name_uses(item.optional_vars.id)) > 0:
                return True
    return any(assertion for assertion in facts.asserts)


def makes_http_calls(facts: TestFacts) -> bool:
    """True when the test body calls an HTTP client."""
    return any(is_client_call(call) for call in facts.calls)


#: Oldest supported minor version of Python 3 per project root and state of its metadata files (read once
#: per state: every skipif test of a scan asks, and a long-lived process must see an edited pyproject).
_OLDEST: dict[tuple[str, ...], int | None] = {}
_METADATA = ("pyproject.toml", "setup.cfg", "setup.py")
#: When a project states no requires-python, only Python 3 itself is certain (``sys.version_info >= (3,)``).
_ANY_PYTHON_3 = 0
_REQUIRES = re.compile(r"(>=|~=|>|==)\s*3\.(\d+)")


def oldest_supported_python(root: Path) -> int | None:
    """The minor of the oldest Python 3 the project supports (``requires-python = ">=3.10"`` -> 10), else ``None``."""
    key = (str(root), *(_stamp(root / name) for name in _METADATA))
    if key not in _OLDEST:
        _OLDEST[key] = _read_requires_python(root)
    return _OLDEST[key]


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return ""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _read_requires_python(root: Path) -> int | None:
    spec = None
    try:
        pyproject = root / "pyproject.toml"
        if pyproject.is_file():
            spec = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("requires-python")
        for name, pattern in (("setup.cfg", r"python_requires\s*=\s*(.+)"), ("setup.py", r"python_requires\s*=\s*['\"]([^'\"]+)")):
            if spec is None and (root / name).is_file():
                found = re.search(pattern, (root / name).read_text(encoding="utf-8", errors="replace"))
                spec = found.group(1) if found else None
    except (OSError, ValueError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(spec, str):
        return None
    minors = [int(minor) + (op == ">") for op, minor in _REQUIRES.findall(spec)]
    return max(minors) if minors else None


def _always_on_supported(condition: str, oldest: int) -> bool:
    """``sys.version_info >= (3, 10)`` when every supported Python is 3.10 or newer."""
    try:
        test = ast.parse(condition, mode="eval").body
    except SyntaxError:
        return False
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.GtE, ast.Gt))):
        return False
    subject = test.left.value if isinstance(test.left, ast.Subscript) else test.left
    bound = test.comparators[0]
    if dotted(subject) not in ("sys.version_info", "version_info") or not isinstance(bound, ast.Tuple):
        return False
    numbers = [e.value for e in bound.elts if isinstance(e, ast.Constant) and isinstance(e.value, int)]
    if len(numbers) != len(bound.elts) or not numbers or numbers[0] > 3:
        return False
    wanted = (3, oldest)
    given = (numbers[0], numbers[1] if len(numbers) > 1 else 0)
    return wanted >= given if isinstance(test.ops[0], ast.GtE) else wanted > given


@rule(
    "AUD147",
    "skipped-on-supported-pythons",
    "medium",
    "skipif(sys.version_info >= X) where the project requires X or newer: the test never runs anywhere supported.",
    bad="@pytest.mark.skipif(sys.version_info > (2, 7), reason='leaks on Python 3')\ndef test_no_leak():\n"
    "    assert leaked_bytes(build) == 0\n",
    good="@pytest.mark.skipif(sys.version_info >= (3, 99), reason='not yet on 3.99')\ndef test_no_leak():\n"
    "    assert leaked_bytes(build) == 0\n",
    on_skipped=True,
)
def skipped_on_supported_pythons(facts: TestFacts) -> Iterator[Hit]:
    conditions = [m.condition for m in facts.test.case.markers if m.name == "skipif" and m.condition and not m.unconditional]
    if not conditions:
        return
    oldest = oldest_supported_python(facts.config.root)
    oldest = _ANY_PYTHON_3 if oldest is None else oldest
    for condition in conditions:
        if _always_on_supported(condition, oldest):
            yield facts.node, f"skipif({condition}) holds on every supported Python (3.{oldest} or newer)"
            return
