"""Configuration: defaults, then ``[tool.auditor]`` in pyproject.toml, then command-line overrides.

Every setting has a default that works with no configuration at all. Unknown keys are a
:class:`~auditor.exceptions.ConfigError` naming the key, so a typo never silently does nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from auditor.exceptions import ConfigError
from auditor.model import CATEGORIES, SEVERITIES
from auditor.values import count, module_names, number_in, positive, str_dict, str_tuple, text

#: Folder names (and marker names) that imply a category when nothing is configured.
DEFAULT_CATEGORY_NAMES: dict[str, str] = {
    "smoke": "smoke",
    "e2e": "e2e",
    "end_to_end": "e2e",
    "integration": "e2e",
    "stress": "stress",
    "load": "stress",
    "soak": "stress",
    "benchmarks": "benchmarks",
    "benchmark": "benchmarks",
    "bench": "benchmarks",
    "perf": "benchmarks",
    "performance": "benchmarks",
    "unit": "unit",
}

#: Built-in sabotage modes, in the order ``auditor probe`` runs them.
DEFAULT_PROBE_MODES = ("not-implemented", "server-error", "empty", "echo", "garbage", "truncated-stream",
                       "unfinished-stream", "slow",
                       "late", "down", "reset", "status-flip")

#: The sprint review's own five dimensions, equally weighted, as it weighed them: its numbers (90, 16, 14, 0
#: and 60%) average 36%, the "~40% complete" it concluded. A team that values validation more says so here.
DEFAULT_STATUS_WEIGHTS: dict[str, float] = {
    "infrastructure": 0.2,
    "execution": 0.2,
    "validation": 0.2,
    "performance": 0.2,
    "deliverables": 0.2,
}


@dataclass(frozen=True)
class SuiteConfig:
    """One suite: a pytest subprocess over ``paths``, optionally filtered by a marker expression."""

    name: str
    paths: tuple[str, ...]
    category: str
    markers: str | None = None
    timeout: float = 1800.0
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    test_timeout: float = 300.0  # see AuditConfig
    reruns: int = 2


@dataclass(frozen=True)
class ProbeModeConfig:
    """A user-defined probe mode: a built-in sabotage mode and/or environment for the suite."""

    name: str
    base: str | None = None  # a built-in mode to apply as well, or None for env-only modes
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""
    #: Only probe tests whose node id contains one of these (empty = every HTTP test).
    select: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliverableConfig:
    """A sprint deliverable, done only when all its proofs ran, passed and are sound."""

    name: str
    proof: tuple[str, ...] = ()


@dataclass(frozen=True)
class SprintConfig:
    """What the team planned and claims, compared by ``auditor status`` with the evidence."""

    planned_days: float | None = None
    days_spent: float | None = None
    claimed_completion: float | None = None
    deliverables: tuple[DeliverableConfig, ...] = ()


@dataclass(frozen=True)
class GateConfig:
    """What makes ``auditor gate`` fail. Each check can be switched off."""

    fail_on_not_run: bool = True
    #: Categories whose never-run tests fail the gate (empty = all categories).
    not_run_categories: tuple[str, ...] = ()
    #: Skip reasons (substrings) that count as legitimate, e.g. a platform skip.
    allowed_skip_reasons: tuple[str, ...] = ()
    #: Tests deselected by the user's own -m/-k, suite markers or config fail ``fail_on_not_run`` too.
    fail_on_deselected: bool = False
    #: Tests skipped by a condition on another platform (``skipif(sys.platform ...)``) fail it too.
    fail_on_platform_skips: bool = False
    #: Modules whose absence (``importorskip``) does not fail it; ``"*"`` allows any missing module.
    allowed_missing_dependencies: tuple[str, ...] = ()
    fail_on_rules: tuple[str, ...] = ()
    fail_on_severity: str | None = "high"
    fail_on_5xx_pass: bool = True
    fail_on_vacuous: bool = True
    #: Tests that ran and failed or errored (the audited suite's exit code is only data).
    fail_on_failed: bool = True
    fail_on_flaky: bool = True  # tests that failed, then passed on a re-run
    min_completion: float | None = None
    min_quality: float | None = None
    baseline: str | None = None


@dataclass(frozen=True)
class AuditConfig:
    """Every setting of one audit, with defaults that need no configuration."""

    root: Path
    #: Shown in reports: ``[tool.auditor] project``, else ``[project] name`` of pyproject.toml, else the folder's name.
    project: str = ""
    #: Where tests live; empty means pytest's ``testpaths``, else the project root.
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = (".venv", "venv", ".git", "node_modules", "build", "dist")
    #: Glob (relative path) or marker name -> category; checked before folder names.
    categories: dict[str, str] = field(default_factory=dict)
    #: Categories whose tests must touch a live process or socket, and must not mock it.
    real_infrastructure: tuple[str, ...] = ("e2e", "stress")
    select: tuple[str, ...] = ()  # rule ids or slugs to enable (empty = all)
    ignore: tuple[str, ...] = ()  # rule ids or slugs to disable
    severity: dict[str, str] = field(default_factory=dict)  # rule id/slug -> severity override
    suites: tuple[SuiteConfig, ...] = ()
    probe_modes: tuple[str, ...] = DEFAULT_PROBE_MODES
    probes: tuple[ProbeModeConfig, ...] = ()
    #: Packages that are the code under test beside those found at the root or under src/: when a test's HTTP
    #: client is one of them (a client library's own suite), response sabotage does not apply to it.
    own_packages: tuple[str, ...] = ()
    status_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_STATUS_WEIGHTS))
    sprint: SprintConfig | None = None
    gate: GateConfig = field(default_factory=GateConfig)
    report_dir: str = "reports"
    suite_timeout: float = 1800.0
    #: Seconds one test may run before it is recorded as ``hung`` and its process is killed (the suite resumes).
    test_timeout: float = 300.0
    #: Times each failed test is re-run after its suite (0: never); one that passes on a re-run is flaky.
    reruns: int = 2


_TOP_KEYS = {f.name for f in dataclasses.fields(AuditConfig)} - {"root", "suites", "probes", "sprint", "gate"}
_TOP_KEYS |= {"suites", "probes", "status", "sprint", "gate"}


def read_config(root: Path | str = ".", *, pyproject: Path | None = None, **overrides: Any) -> AuditConfig:
    """Build the configuration for the project at ``root``.

    Layers, later wins: defaults, ``[tool.auditor]`` of ``pyproject`` (default
    ``root/pyproject.toml``, silently absent), then ``overrides`` (non-``None`` keyword values
    named like :class:`AuditConfig` fields). A ``sprint.toml`` at the root supplies
    ``[tool.auditor.sprint]`` when pyproject has none.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigError(f"{root}: not a directory")
    explicit = pyproject is not None
    path = Path(pyproject) if explicit else root / "pyproject.toml"
    table = _read_tool_table(path, explicit=explicit)
    sprint_file = root / "sprint.toml"
    if "sprint" not in table and sprint_file.is_file():
        sprint_table = _load_toml(sprint_file)
        table["sprint"] = sprint_table.get("sprint", sprint_table)
    project = table.pop("project", None)
    if project is not None and not isinstance(project, str):
        raise ConfigError(f"[tool.auditor] project: expected a string, got {project!r}")
    config = _from_table(root, table)
    config = dataclasses.replace(config, project=project or _project_name(path) or root.name)
    changes = {key: value for key, value in overrides.items() if value is not None}
    unknown = set(changes) - {f.name for f in dataclasses.fields(AuditConfig)}
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(config, **changes)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def _project_name(path: Path) -> str:
    if not path.is_file():
        return ""
    name = _load_toml(path).get("project", {}).get("name", "")
    return name if isinstance(name, str) else ""


def _read_tool_table(path: Path, *, explicit: bool) -> dict[str, Any]:
    if not path.is_file():
        if explicit:
            raise ConfigError(f"{path}: no such configuration file")
        return {}
    table = _load_toml(path).get("tool", {}).get("auditor", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.auditor] must be a table")
    return dict(table)


def _from_table(root: Path, table: dict[str, Any]) -> AuditConfig:
    unknown = set(table) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"[tool.auditor]: unknown key(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {"root": root}
    for key in ("paths", "exclude", "real_infrastructure", "select", "ignore", "probe_modes", "own_packages"):
        if key in table:
            kwargs[key] = str_tuple(table[key], f"[tool.auditor] {key}")
    for key in ("categories", "severity"):
        if key in table:
            kwargs[key] = str_dict(table[key], f"[tool.auditor] {key}")
    for category in (*kwargs.get("categories", {}).values(), *kwargs.get("real_infrastructure", ())):
        if category not in CATEGORIES:
            raise ConfigError(f"[tool.auditor]: unknown category {category!r} (known: {', '.join(CATEGORIES)})")
    for rule, level in kwargs.get("severity", {}).items():
        if level not in SEVERITIES:
            raise ConfigError(f"[tool.auditor.severity] {rule}: {level!r} is not one of {', '.join(SEVERITIES)}")
    if "report_dir" in table:
        kwargs["report_dir"] = text(table["report_dir"], "[tool.auditor] report_dir", "a folder name (a string)")
    if "suite_timeout" in table:
        kwargs["suite_timeout"] = positive(table["suite_timeout"], "[tool.auditor] suite_timeout")
    if "test_timeout" in table:
        kwargs["test_timeout"] = positive(table["test_timeout"], "[tool.auditor] test_timeout")
    if "reruns" in table:
        kwargs["reruns"] = count(table["reruns"], "[tool.auditor] reruns")
    if "suites" in table:
        kwargs["suites"] = _suites(table["suites"], kwargs.get("suite_timeout", 1800.0),
                                   test_timeout=kwargs.get("test_timeout", 300.0), reruns=kwargs.get("reruns", 2))
    if "probes" in table:
        kwargs["probes"] = _probes(table["probes"])
    if "status" in table:
        kwargs["status_weights"] = _weights(table["status"])
    if "sprint" in table:
        kwargs["sprint"] = _sprint(table["sprint"])
    if "gate" in table:
        kwargs["gate"] = _gate(table["gate"])
    return AuditConfig(**kwargs)


def _suites(value: Any, default_timeout: float, *, test_timeout: float = 300.0, reruns: int = 2) -> tuple[SuiteConfig, ...]:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.suites]: expected a table of suite tables")
    suites = []
    for name, spec in value.items():
        where = f"[tool.auditor.suites.{name}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(spec) - {"paths", "markers", "category", "timeout", "test_timeout", "env", "args"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        category = spec.get("category", DEFAULT_CATEGORY_NAMES.get(name, "other"))
        if category not in CATEGORIES:
            raise ConfigError(f"{where}: unknown category {category!r}")
        paths = str_tuple(spec.get("paths", []), f"{where} paths")
        markers = text(spec["markers"], f"{where} markers", "a pytest -m expression (a string)") if "markers" in spec else None
        if not paths and not markers:
            raise ConfigError(f"{where}: give paths, markers, or both")
        suites.append(
            SuiteConfig(
                name=name,
                paths=paths,
                category=category,
                markers=markers,
                timeout=positive(spec.get("timeout", default_timeout), f"{where} timeout"),
                env=str_dict(spec.get("env", {}), f"{where} env"),
                args=str_tuple(spec.get("args", []), f"{where} args"),
                test_timeout=positive(spec.get("test_timeout", test_timeout), f"{where} test_timeout"),
                reruns=reruns,
            )
        )
    return tuple(suites)


def _probes(value: Any) -> tuple[ProbeModeConfig, ...]:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.probes]: expected a table of mode tables")
    modes = []
    for name, spec in value.items():
        where = f"[tool.auditor.probes.{name}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(spec) - {"base", "env", "description", "select"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        base = spec.get("base")
        if base is not None and base not in DEFAULT_PROBE_MODES:
            raise ConfigError(f"{where} base: {base!r} is not a built-in mode ({', '.join(DEFAULT_PROBE_MODES)})")
        env = str_dict(spec.get("env", {}), f"{where} env")
        if base is None and not env:
            raise ConfigError(f"{where}: give a base mode, env, or both")
        modes.append(
            ProbeModeConfig(
                name=name,
                base=base,
                env=env,
                description=text(spec["description"], f"{where} description") if "description" in spec else "",
                select=str_tuple(spec.get("select", []), f"{where} select"),
            )
        )
    return tuple(modes)


def _weights(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.status]: expected a table")
    weights = dict(DEFAULT_STATUS_WEIGHTS)
    if not isinstance(value.get("weights", value), dict):
        raise ConfigError(f"[tool.auditor.status] weights: expected a table of numbers, got {value['weights']!r}")
    for key, weight in value.get("weights", value).items():
        if key not in DEFAULT_STATUS_WEIGHTS:
            raise ConfigError(f"[tool.auditor.status] unknown dimension {key!r} ({', '.join(DEFAULT_STATUS_WEIGHTS)})")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ConfigError(f"[tool.auditor.status] {key}: expected a number >= 0")
        weights[key] = float(weight)
    if sum(weights.values()) <= 0:
        raise ConfigError("[tool.auditor.status]: the weights add up to zero")
    return weights


def _sprint(value: Any) -> SprintConfig:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.sprint]: expected a table")
    unknown = set(value) - {"planned_days", "days_spent", "claimed_completion", "deliverables"}
    if unknown:
        raise ConfigError(f"[tool.auditor.sprint]: unknown key(s): {', '.join(sorted(unknown))}")
    deliverables = []
    if not isinstance(value.get("deliverables", []), list):
        raise ConfigError(f"[tool.auditor.sprint] deliverables: expected an array of tables, got {value['deliverables']!r}")
    for index, item in enumerate(value.get("deliverables", [])):
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"[tool.auditor.sprint] deliverables[{index}]: needs a name")
        deliverables.append(
            DeliverableConfig(
                name=str(item["name"]), proof=str_tuple(item.get("proof", []), f"deliverable {item['name']!r} proof")
            )
        )
    numbers = {key: positive(value[key], f"[tool.auditor.sprint] {key}") for key in ("planned_days", "days_spent") if key in value}
    if "claimed_completion" in value:
        numbers["claimed_completion"] = number_in(value["claimed_completion"], "[tool.auditor.sprint] claimed_completion", 0, 100, "a percentage")
    return SprintConfig(deliverables=tuple(deliverables), **numbers)


def _gate(value: Any) -> GateConfig:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.gate]: expected a table")
    fields = {f.name: f for f in dataclasses.fields(GateConfig)}
    unknown = set(value) - set(fields)
    if unknown:
        raise ConfigError(f"[tool.auditor.gate]: unknown key(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("not_run_categories", "allowed_skip_reasons", "fail_on_rules"):
            kwargs[key] = str_tuple(item, f"[tool.auditor.gate] {key}")
            if key == "not_run_categories" and (bad := [c for c in kwargs[key] if c not in CATEGORIES]):
                raise ConfigError(f"[tool.auditor.gate] {key}: unknown category {bad[0]!r} (known: {', '.join(CATEGORIES)})")
        elif key == "allowed_missing_dependencies":
            kwargs[key] = module_names(item, f"[tool.auditor.gate] {key}")
        elif key in ("fail_on_not_run", "fail_on_5xx_pass", "fail_on_vacuous", "fail_on_failed", "fail_on_flaky",
                     "fail_on_deselected", "fail_on_platform_skips"):
            if not isinstance(item, bool):
                raise ConfigError(f"[tool.auditor.gate] {key}: expected true or false, got {item!r}")
            kwargs[key] = item
        elif key == "min_completion":
            kwargs[key] = number_in(item, f"[tool.auditor.gate] {key}", 0, 100, "completion is a percentage")
        elif key == "min_quality":
            kwargs[key] = number_in(item, f"[tool.auditor.gate] {key}", 0, 10, "quality is scored 0-10")
        elif key == "fail_on_severity":
            if item not in (*SEVERITIES, "none"):
                raise ConfigError(f"[tool.auditor.gate] fail_on_severity: {item!r} is not one of high, medium, low, none")
            kwargs[key] = None if item == "none" else item
        else:
            kwargs[key] = text(item, f"[tool.auditor.gate] {key}", "a file path (a string)")
    return GateConfig(**kwargs)
