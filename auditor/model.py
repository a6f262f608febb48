"""The audit's data model: frozen dataclasses shared by every pipeline stage.

Data flows one way: collect -> run -> observe -> analyse -> score -> render -> gate.
Each stage reads these types and returns new ones; no stage passes raw dicts to the next.
The JSON form of :class:`Audit` is the one documented schema (see ``docs/schema.md``); it is
produced and read only by :mod:`auditor.serialize`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Bump on any incompatible change to the JSON form, with a line saying what changed.
# 1: first published schema.
FORMAT_VERSION = 1

#: Canonical categories, in the order reports show them.
CATEGORIES = ("smoke", "e2e", "stress", "benchmarks", "unit", "other")

SEVERITIES = ("high", "medium", "low")

#: Outcome statuses. ``not_run`` carries its reason in :attr:`Outcome.reason`.
#: ``crashed``: the pytest process died while the test ran; ``hung``: the test outran ``test_timeout`` and was
#: killed; ``interrupted``: the audit was stopped (SIGTERM/SIGINT, or its suite's timeout) while the test ran.
STATUSES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "crashed", "hung", "interrupted", "not_run")

#: Why a defined test did not run.
NOT_RUN_REASONS = (
    "uncollectable",  # pytest will never collect it (see TestCase.not_collectable_reason)
    "deselected",  # collected, then deselected by -m/-k/config
    "timed_out",  # its suite hit the timeout before reaching it
    "crashed",  # its suite's interpreter died before reaching it
    "not_in_suite",  # no configured suite covers it
    "suite_not_run",  # its suite exists but was not run (e.g. results imported without it)
    "collection_error",  # its module failed to import
    "interrupted",  # the audit was stopped (SIGTERM/SIGINT) before reaching it
    "not_reached",  # collected, but its pytest session ended first (-x, --maxfail, pytest.exit, a collection error)
    "not_collected",  # its suite ran to the end, and pytest neither collected nor deselected it
)

#: Why a test was skipped (:attr:`Outcome.skip_kind`): only ``platform`` skips (a condition on another
#: operating system or interpreter) are the user's choice by default; ``dependency`` (``importorskip``, a
#: missing optional package) fails the gate unless allowed; ``unconditional`` and ``conditional`` fail it.
SKIP_KINDS = ("unconditional", "platform", "dependency", "conditional")

#: When several outcomes exist for one node id (suites that overlap, merged shards), the first status in this
#: order wins: a failure anywhere is the most informative, and any run beats "interrupted" and "not run".
STATUS_PRECEDENCE = ("crashed", "hung", "error", "failed", "xpassed", "passed", "xfailed", "skipped", "interrupted",
                     "not_run")

#: Suite statuses.
SUITE_STATUSES = ("completed", "failed", "timed_out", "crashed", "error", "no_tests", "interrupted", "not_run")


@dataclass(frozen=True)
class Marker:
    """A pytest mark on a test, as far as it can be read without importing the code."""

    name: str
    reason: str | None = None
    #: Source text of a static condition (``skipif``/``xfail``), ``None`` when there is none.
    condition: str | None = None
    #: True when the mark applies whatever the environment (``skip``, ``skipif(True)``).
    unconditional: bool = False
    #: ``xfail(strict=...)`` when given, else ``None``.
    strict: bool | None = None


@dataclass(frozen=True)
class TestCase:
    """One test definition found in the source (one ``def``, however many parameters)."""

    __test__ = False  # keep pytest from collecting this class

    #: pytest-style node id without parameters: ``path::Class::function``.
    id: str
    path: str
    name: str
    line: int
    category: str
    cls: str | None = None
    markers: tuple[Marker, ...] = ()
    #: Number of parametrized instances, ``None`` when it cannot be read statically.
    params: int | None = 1
    fixtures: tuple[str, ...] = ()
    collectable: bool = True
    not_collectable_reason: str | None = None
    is_async: bool = False
    #: What the test claims, from its name and docstring (one or more of CLAIM_KINDS in auditor/collect/claims.py).
    claims: tuple[str, ...] = ()
    #: The body holds a check (assert, raise, a checking call): a run that reached none of them proves nothing.
    #: False for a test whose only check is that nothing raises (a smoke test): it can fail, by raising.
    has_checks: bool = True


@dataclass(frozen=True)
class Finding:
    """A weakness found in a test, statically, at run time, or by a sabotage probe."""

    rule: str  # e.g. "AUD101"
    slug: str  # e.g. "error-status-accepted"
    severity: str  # one of SEVERITIES
    message: str
    path: str
    line: int
    test_id: str | None = None
    origin: str = "static"  # static | runtime | probe | scan
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request a test made, and what came back."""

    method: str
    host_class: str  # loopback | private | external | in-process
    host: str
    path: str
    status: int | None  # None when no response arrived
    duration: float
    bytes: int
    client: str = "httpx"  # httpx | httpx2 | requests
    #: The reply was a server-sent-event stream (``auditor probe`` cuts streams only in tests that had one).
    stream: bool = False
    #: What the test (or code it called) read of the reply: ``status``, ``headers``, ``body``, ``stream-end``,
    #: ``request`` (the request as sent) and JSON paths such as ``$.content[0].text`` (see docs/probes.md).
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarningRecord:
    """A warning raised while a test ran."""

    category: str
    message: str
    path: str
    line: int


@dataclass(frozen=True)
class Observation:
    """What the auditor's pytest plugin saw one test do."""

    http: tuple[HttpExchange, ...] = ()
    processes: tuple[str, ...] = ()
    sockets_loopback: int = 0
    sockets_other: int = 0
    files_written: int = 0
    mocks: tuple[str, ...] = ()
    assertions: int = 0
    raises_blocks: int = 0
    warnings: tuple[WarningRecord, ...] = ()
    setup_duration: float = 0.0
    call_duration: float = 0.0
    teardown_duration: float = 0.0
    #: True when ``http[].reads`` were recorded (an audit from before read tracking has none to judge).
    reads_tracked: bool = False


@dataclass(frozen=True)
class ProbeResult:
    """How one test fared when its HTTP responses were sabotaged in one mode."""

    mode: str
    #: killed | survived | error (the probe itself could not run) | n/a (it changed nothing the test read,
    #: or the client library is the code under test)
    result: str
    detail: str | None = None
    #: What the mode changed among the parts the test read: status, shape, content, streaming, connection, time.
    touched: tuple[str, ...] = ()
    #: Whether ``touched`` includes a subject the test claims: only such a kill proves the claim, only such a
    #: survival is a weakness (a survival that is not is a note: "checks shape, not content").
    claimed: bool = True
    #: What the test read of its (sabotaged) answers in this run, JSON paths included (see HttpExchange.reads).
    reads: tuple[str, ...] = ()

    @property
    def judged(self) -> bool:
        """A kill or survival that counts: the mode broke something the test claims (kill rates, weaknesses)."""
        return self.result in ("killed", "survived") and self.claimed

    @property
    def note(self) -> str | None:
        """For a survival of a mode that broke only what the test does not claim: what it does not check."""
        if self.result != "survived" or self.claimed:
            return None
        return f"does not check {', '.join(self.touched) or 'what ' + self.mode + ' changes'} (not what it claims)"


@dataclass(frozen=True)
class Outcome:
    """What happened to one test instance (one node id) in a run, or why it did not run."""

    node_id: str
    case_id: str
    status: str  # one of STATUSES
    suite: str | None = None
    #: Why: the skip/xfail reason; the not-run reason (one of NOT_RUN_REASONS); for failed/error the first line
    #: of the failing assertion or exception; for crashed/hung/interrupted what stopped it.
    reason: str | None = None
    #: For skips, one of SKIP_KINDS: "unconditional", "platform", "dependency" or "conditional".
    skip_kind: str | None = None
    duration: float = 0.0
    #: ``None`` means "not observed" (e.g. results imported without our plugin), never "nothing happened".
    observation: Observation | None = None
    probes: tuple[ProbeResult, ...] = ()
    #: A bounded excerpt (at most 20 lines, 2 KB): the traceback's end for failed/error, the last output lines
    #: for crashed, the stack dump for hung.
    details: str | None = None
    #: Statuses of the re-runs of a test whose first attempt failed, in order (empty when it was not re-run).
    reruns: tuple[str, ...] = ()
    #: The first attempt failed or errored and a re-run passed. ``status`` keeps the first attempt's.
    flaky: bool = False


@dataclass(frozen=True)
class SuiteResult:
    """One suite: a pytest subprocess over some paths, or results imported from files."""

    name: str
    category: str
    paths: tuple[str, ...]
    status: str  # one of SUITE_STATUSES
    exit_code: int | None = None
    duration: float = 0.0
    collected: int = 0
    deselected: int = 0
    outcomes: tuple[Outcome, ...] = ()
    command: tuple[str, ...] = ()
    source: str = "run"  # run | results
    message: str | None = None
    #: Times pytest was started again on the tests not yet run, after a crash or a hang.
    restarts: int = 0
    #: Node ids pytest deselected (``-m``, ``-k``, configuration), or an option of the project dropped while collecting
    #: (``--lf``); a file's own node id when ``--lf`` skipped the whole file.
    deselected_ids: tuple[str, ...] = ()
    #: Files (collector node ids) pytest could not import: their tests never ran.
    collection_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tally:
    """Honest counts for one category (or ``total``). Raw counts only; rates are properties."""

    category: str
    #: Test instances: what pytest collected (selected or deselected) for every test it collected, the static
    #: count for the others. created >= collectable >= collected >= run >= passed.
    created: int = 0
    collectable: int = 0
    collected: int = 0  # collected and selected (deselected ones are not)
    deselected: int = 0  # deselected by the user's -m/-k, suite markers or config
    run: int = 0  # passed + failed + error + xfailed + xpassed + crashed + hung
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    skipped_unconditional: int = 0
    skipped_platform: int = 0  # skipped by a condition on another platform (the user's choice)
    skipped_dependency: int = 0  # skipped for a missing optional dependency (importorskip)
    xfailed: int = 0
    xpassed: int = 0
    not_run: int = 0
    crashed: int = 0  # the pytest process died while the test ran
    hung: int = 0  # outran test_timeout and was killed
    interrupted: int = 0  # in flight when the audit was stopped (not counted as run)
    flaky: int = 0  # of failed + errors: passed on a re-run
    #: The static scan's count (parametrize expanded where readable, 1 per test whose params it cannot read).
    static: int = 0
    #: Tests whose params the scan cannot read: ``static`` is a lower bound by (at least) their extra instances.
    static_unreadable: int = 0
    #: True when ``created`` includes tests pytest never collected whose params the scan cannot read.
    created_lower_bound: bool = False
    # Why static and collected differ: created = static + extra_params + extra_unreadable + not_in_scan, and
    # collected = created - uncollectable - import_errors - deselected - never_reached.
    extra_params: int = 0  # pytest's instances beyond readable parametrize: fixture params, backends (may be < 0)
    extra_unreadable: int = 0  # pytest's instances beyond 1 of tests whose params the scan cannot read
    not_in_scan: int = 0  # collected by pytest, not found by the scan (generated tests, doctests, ...)
    uncollectable: int = 0  # the scan knows pytest never collects them
    import_errors: int = 0  # in files pytest could not import
    never_reached: int = 0  # suite not run, timed out, crashed, stopped, not reached or not collected, or in no suite
    #: "yes" | "no" | "partial" | "not observed" | "n/a"
    real_infrastructure: str = "not observed"

    @property
    def run_rate(self) -> float | None:
        """Share of created tests that ran, or ``None`` when none were created."""
        return self.run / self.created if self.created else None

    @property
    def pass_rate(self) -> float | None:
        """Share of run tests that passed, or ``None`` when none ran."""
        return self.passed / self.run if self.run else None


@dataclass(frozen=True)
class Deduction:
    """One reason a quality score is below 10, with the points it cost."""

    reason: str
    points: float


@dataclass(frozen=True)
class Score:
    """The quality score of one category (or ``total``), with every deduction shown."""

    category: str
    value: float | None  # 0-10, None when nothing ran to judge
    deductions: tuple[Deduction, ...] = ()
    kill_rate: float | None = None  # sabotage kill rate, None when not probed
    #: Kill rate per sabotage mode (killed / judged in that mode); empty when not probed.
    kill_rates: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Dimension:
    """One dimension of realistic completion."""

    name: str
    value: float  # 0-1, from evidence
    weight: float
    low: float  # value if everything unobserved turned out bad
    high: float  # value if everything unobserved turned out good
    evidence: str


@dataclass(frozen=True)
class Deliverable:
    """A sprint deliverable and whether its proofs hold."""

    name: str
    done: bool
    proofs: tuple[str, ...]
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """Evidence-based completion beside what was claimed."""

    value: float  # 0-100
    low: float
    high: float
    claimed: float | None = None
    dimensions: tuple[Dimension, ...] = ()
    deliverables: tuple[Deliverable, ...] = ()
    red_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Audit:
    """Everything one audit found: the single input of every renderer and of the gate."""

    root: str
    created: str  # ISO 8601 UTC
    version: str  # auditor version
    format: int = FORMAT_VERSION
    project: str = ""
    cases: tuple[TestCase, ...] = ()
    findings: tuple[Finding, ...] = ()
    suites: tuple[SuiteResult, ...] = ()
    tallies: tuple[Tally, ...] = ()
    scores: tuple[Score, ...] = ()
    completion: Completion | None = None
    probe_modes: tuple[str, ...] = ()
    #: Free-form facts about how the audit was made (command, python, platform, durations).
    environment: dict[str, str] = field(default_factory=dict)
    #: What stopped the audit before it finished (e.g. ``"SIGTERM during run"``), ``None`` when it was not stopped.
    interrupted: str | None = None
    #: Runtime and probe findings an ``# auditor: ignore[...]`` comment silenced (static ones are dropped by the scan).
    suppressed: tuple[Finding, ...] = ()
    #: Client packages that are the project's own (found at its root, or configured as ``own_packages``): their
    #: transport is the code under test, not sabotaged. ``None`` in an audit written before it was recorded.
    own_clients: tuple[str, ...] | None = None
