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
DEFAULT_PROBE_MODES = ("not-implemented", "server-error", "empty", "echo", "garbage", "truncated-stream", "slow")

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
class Proof:
    """Part of a deliverable's proof: test ids, markers or globs that must all hold."""

    pattern: str


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
    status_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_STATUS_WEIGHTS))
    sprint: SprintConfig | None = None
    gate: GateConfig = field(default_factory=GateConfig)
    report_dir: str = "reports"
    suite_timeout: float = 1800.0


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
    for key in ("paths", "exclude", "real_infrastructure", "select", "ignore", "probe_modes"):
        if key in table:
            kwargs[key] = _str_tuple(table[key], f"[tool.auditor] {key}")
    for key in ("categories", "severity"):
        if key in table:
            kwargs[key] = _str_dict(table[key], f"[tool.auditor] {key}")
    for category in (*kwargs.get("categories", {}).values(), *kwargs.get("real_infrastructure", ())):
        if category not in CATEGORIES:
            raise ConfigError(f"[tool.auditor]: unknown category {category!r} (known: {', '.join(CATEGORIES)})")
    for rule, level in kwargs.get("severity", {}).items():
        if level not in SEVERITIES:
            raise ConfigError(f"[tool.auditor.severity] {rule}: {level!r} is not one of {', '.join(SEVERITIES)}")
    if "report_dir" in table:
        kwargs["report_dir"] = str(table["report_dir"])
    if "suite_timeout" in table:
        kwargs["suite_timeout"] = _positive(table["suite_timeout"], "[tool.auditor] suite_timeout")
    if "suites" in table:
        kwargs["suites"] = _suites(table["suites"], kwargs.get("suite_timeout", 1800.0))
    if "probes" in table:
        kwargs["probes"] = _probes(table["probes"])
    if "status" in table:
        kwargs["status_weights"] = _weights(table["status"])
    if "sprint" in table:
        kwargs["sprint"] = _sprint(table["sprint"])
    if "gate" in table:
        kwargs["gate"] = _gate(table["gate"])
    return AuditConfig(**kwargs)


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def _str_dict(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: expected a table of strings")
    return {str(k): v for k, v in value.items()}


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: expected a positive number, got {value!r}")
    return float(value)


def _suites(value: Any, default_timeout: float) -> tuple[SuiteConfig, ...]:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.suites]: expected a table of suite tables")
    suites = []
    for name, spec in value.items():
        where = f"[tool.auditor.suites.{name}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(spec) - {"paths", "markers", "category", "timeout", "env", "args"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        category = spec.get("category", DEFAULT_CATEGORY_NAMES.get(name, "other"))
        if category not in CATEGORIES:
            raise ConfigError(f"{where}: unknown category {category!r}")
        paths = _str_tuple(spec.get("paths", []), f"{where} paths")
        markers = spec.get("markers")
        if not paths and not markers:
            raise ConfigError(f"{where}: give paths, markers, or both")
        suites.append(
            SuiteConfig(
                name=name,
                paths=paths,
                category=category,
                markers=markers,
                timeout=_positive(spec.get("timeout", default_timeout), f"{where} timeout"),
                env=_str_dict(spec.get("env", {}), f"{where} env"),
                args=_str_tuple(spec.get("args", []), f"{where} args"),
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
        env = _str_dict(spec.get("env", {}), f"{where} env")
        if base is None and not env:
            raise ConfigError(f"{where}: give a base mode, env, or both")
        modes.append(
            ProbeModeConfig(
                name=name,
                base=base,
                env=env,
                description=str(spec.get("description", "")),
                select=_str_tuple(spec.get("select", []), f"{where} select"),
            )
        )
    return tuple(modes)


def _weights(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError("[tool.auditor.status]: expected a table")
    weights = dict(DEFAULT_STATUS_WEIGHTS)
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
    for index, item in enumerate(value.get("deliverables", [])):
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"[tool.auditor.sprint] deliverables[{index}]: needs a name")
        deliverables.append(
            DeliverableConfig(
                name=str(item["name"]), proof=_str_tuple(item.get("proof", []), f"deliverable {item['name']!r} proof")
            )
        )
    numbers = {}
    for key in ("planned_days", "days_spent", "claimed_completion"):
        if key in value:
            numbers[key] = _positive(value[key], f"[tool.auditor.sprint] {key}")
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
            kwargs[key] = _str_tuple(item, f"[tool.auditor.gate] {key}")
        elif key == "allowed_missing_dependencies":
            kwargs[key] = _module_names(item, f"[tool.auditor.gate] {key}")
        elif key in ("fail_on_not_run", "fail_on_5xx_pass", "fail_on_vacuous", "fail_on_failed", "fail_on_deselected",
                     "fail_on_platform_skips"):
            if not isinstance(item, bool):
                raise ConfigError(f"[tool.auditor.gate] {key} = {item!r}: expected true or false")
            kwargs[key] = item
        elif key in ("min_completion", "min_quality"):
            kwargs[key] = _positive(item, f"[tool.auditor.gate] {key}")
        elif key == "fail_on_severity":
            if item not in (*SEVERITIES, "none"):
                raise ConfigError(f"[tool.auditor.gate] fail_on_severity: {item!r} is not one of high, medium, low, none")
            kwargs[key] = None if item == "none" else item
        else:
            kwargs[key] = str(item)
    return GateConfig(**kwargs)


def _module_names(value: Any, where: str) -> tuple[str, ...]:
    """Importable module names (``trio``, ``yaml``, ``google.protobuf``) or ``"*"``."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} = {value!r}: expected a list of module names, e.g. [\"trio\"] (or [\"*\"])")
    for item in value:
        if item != "*" and not all(part.isidentifier() for part in item.split(".")):
            raise ConfigError(f"{where}: {item!r} is not a module name (expected e.g. \"trio\", \"google.protobuf\" or \"*\")")
    return tuple(value)
