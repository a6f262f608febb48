"""Import results the auditor did not run itself: pytest-json-report JSON and JUnit XML files.

Several files are merged and a test found in more than one is counted once (a run result beats a
skip). Such outcomes carry ``observation=None``: "not observed", never "nothing happened".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from auditor.exceptions import DataError
from auditor.model import Outcome, SuiteResult, TestCase
from auditor.run.observe import RAN, case_id_of, collection_errors, outcomes_from_report
from auditor.run.skips import skip_kind

__all__ = ["load_results", "read_json_report", "read_junit"]


def load_results(paths: Sequence[str | Path], cases: Mapping[str, TestCase] | Sequence[TestCase] = ()) -> tuple[SuiteResult, ...]:
    """One SuiteResult per file (``source="results"``); a node id already seen in an earlier file is dropped
    there when the later file ran it and the earlier one did not."""
    by_id = cases if isinstance(cases, Mapping) else {case.id: case for case in cases}
    suites = [_load(Path(path), dict(by_id)) for path in paths]
    best: dict[str, tuple[int, Outcome]] = {}
    for index, suite in enumerate(suites):
        for outcome in suite.outcomes:
            held = best.get(outcome.node_id)
            if held is None or (outcome.status in RAN and held[1].status not in RAN):
                best[outcome.node_id] = (index, outcome)
    merged = []
    for index, suite in enumerate(suites):
        kept = tuple(o for o in suite.outcomes if best[o.node_id] == (index, o))
        merged.append(SuiteResult(name=suite.name, category=_category(kept, by_id), paths=suite.paths,
                                  status=suite.status, exit_code=suite.exit_code, duration=suite.duration,
                                  collected=len(kept), deselected=suite.deselected, outcomes=kept, source="results"))
    return tuple(merged)


def _load(path: Path, cases: dict[str, TestCase]) -> SuiteResult:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    if text.lstrip().startswith("<"):
        return read_junit(text, name=path.name, cases=cases)
    return read_json_report(text, name=path.name, cases=cases)


def read_json_report(text: str, *, name: str, cases: dict[str, TestCase]) -> SuiteResult:
    """A pytest-json-report file; our plugin's observations are kept when it was on."""
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise DataError(f"{name}: not JSON ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("tests"), list):
        raise DataError(f"{name}: not a pytest-json-report file (no 'tests' list)")
    outcomes = outcomes_from_report(report, name, cases)
    code = report.get("exitcode")
    summary = report.get("summary", {})
    return SuiteResult(name=name, category="other", paths=(), status=_status(code, outcomes),
                       exit_code=code if isinstance(code, int) else None, duration=float(report.get("duration", 0.0)),
                       collected=int(summary.get("collected", len(outcomes))),
                       deselected=int(summary.get("deselected", 0)), outcomes=outcomes, source="results",
                       collection_errors=collection_errors(report))


def read_junit(text: str, *, name: str, cases: dict[str, TestCase]) -> SuiteResult:
    """A JUnit XML file as pytest's ``--junitxml`` writes it."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise DataError(f"{name}: not valid XML ({exc})") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise DataError(f"{name}: not a JUnit XML file (root element <{root.tag}>)")
    modules = {str(PurePosixPath(case.path).with_suffix("")).replace("/", "."): case.path for case in cases.values()}
    outcomes = []
    duration = 0.0
    for element in root.iter("testcase"):
        node_id = _node_id(element, modules)
        status, reason = _junit_status(element)
        seconds = float(element.get("time") or 0.0)
        duration += seconds
        outcomes.append(Outcome(node_id=node_id, case_id=case_id_of(node_id), status=status, suite=name,
                                reason=reason, skip_kind=_skip_kind(status, node_id, reason, cases), duration=seconds))
    return SuiteResult(name=name, category="other", paths=(), status=_status(None, tuple(outcomes)), duration=duration,
                       collected=len(outcomes), outcomes=tuple(outcomes), source="results")


def _node_id(element: ElementTree.Element, modules: dict[str, str]) -> str:
    classname, test = element.get("classname", ""), element.get("name", "")
    parts = classname.split(".") if classname else []
    # The longest dotted prefix that is a known test module is the file; the rest are classes.
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module in modules:
            return "::".join([modules[module], *parts[cut:], test])
    file = element.get("file")
    if file:
        module = str(PurePosixPath(file).with_suffix("")).replace("/", ".").split(".")
        return "::".join([file, *parts[len(module):], test])
    path = "/".join(parts) + ".py" if parts else "?"
    return f"{path}::{test}"


def _junit_status(element: ElementTree.Element) -> tuple[str, str | None]:
    from auditor.run.excerpt import failure_reason

    for tag, status in (("failure", "failed"), ("error", "error")):
        found = element.find(tag)
        if found is not None:  # pytest writes the exception's first line as the message, the traceback as text
            return status, failure_reason(found.text, found.get("message"))
    skipped = element.find("skipped")
    if skipped is not None:
        message = skipped.get("message") or None
        if skipped.get("type") == "pytest.xfail":
            return "xfailed", message
        return "skipped", message.removeprefix("Skipped: ") if message else None
    return "passed", None


def _skip_kind(status: str, node_id: str, reason: str | None, cases: dict[str, TestCase]) -> str | None:
    return skip_kind(reason, cases.get(case_id_of(node_id))) if status == "skipped" else None


def _status(code: object, outcomes: Sequence[Outcome]) -> str:
    if code == 5 or not outcomes:
        return "no_tests"
    if code in (2, 3, 4):
        return "error"
    return "failed" if any(o.status in ("failed", "error") for o in outcomes) else "completed"


def _category(outcomes: Sequence[Outcome], cases: Mapping[str, TestCase]) -> str:
    counts = Counter(cases[o.case_id].category for o in outcomes if o.case_id in cases)
    return counts.most_common(1)[0][0] if counts else "other"
