"""Start-up checks: a configuration that names nothing, and a project with no tests, are refused before anything runs.

:mod:`auditor.config` checks the shape of ``[tool.auditor]`` (keys, types, ranges); it sits below this stage
and cannot know the rule catalogue or what the inventory finds. This module checks the names against them:
rule ids and slugs (``select``, ``ignore``, ``[tool.auditor.severity]``, ``gate.fail_on_rules``) and the
paths (``paths``, each suite's ``paths``, the gate's ``baseline``). :func:`require_tests` refuses an empty
inventory. Each raises one :class:`~auditor.exceptions.AuditorError` naming the key, the value and what was
expected, which the CLI prints as one line with exit code 2: a typo never silently switches a check off,
and a CI job pointed at the wrong folder never goes green on nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auditor.collect.inventory import Inventory, scan_targets
from auditor.collect.rules.catalogue import is_known
from auditor.config import AuditConfig
from auditor.exceptions import CollectError, ConfigError

#: Rule findings of the walk that mean a test file exists but could not be read or parsed.
_UNREADABLE = ("AUD901", "AUD902", "AUD907")


def check_config(config: AuditConfig, *, paths: bool = True, baseline: bool = False) -> None:
    """Refuse unknown rule ids and slugs, and (with ``paths``) configured paths that do not exist.

    ``baseline``: the gate's baseline file must exist too (``auditor audit`` reads it only at the end).
    """
    check_rule_names(config)
    if paths:
        check_paths(config)
    if baseline and config.gate.baseline and not (config.root / config.gate.baseline).is_file():
        raise ConfigError(f"[tool.auditor.gate] baseline: {config.gate.baseline!r} does not exist under {config.root} "
                          "(expected a file written by `auditor gate --write-baseline`)")


def check_rule_names(config: AuditConfig) -> None:
    """Every rule a setting names is in the catalogue (``auditor rules`` lists them)."""
    named = (
        ("[tool.auditor] select", config.select),
        ("[tool.auditor] ignore", config.ignore),
        ("[tool.auditor.severity]", tuple(config.severity)),
        ("[tool.auditor.gate] fail_on_rules", config.gate.fail_on_rules),
    )
    for where, values in named:
        unknown = [value for value in values if not is_known(value)]
        if unknown:
            shown = ", ".join(repr(value) for value in unknown)
            raise ConfigError(f"{where}: unknown rule {shown} (expected rule ids such as 'AUD101' or slugs such as "
                              "'error-status-accepted'; `auditor rules` lists them)")


def check_paths(config: AuditConfig) -> None:
    """``paths`` and every suite's ``paths`` name files or folders that exist under the project root."""
    named = [("[tool.auditor] paths", path) for path in config.paths]
    named += [(f"[tool.auditor.suites.{suite.name}] paths", path) for suite in config.suites for path in suite.paths]
    for where, path in named:
        # A suite path may be a node id (``tests/test_x.py::test_y``): the file part must exist.
        target = Path(path.split("::", 1)[0])
        if not (target if target.is_absolute() else config.root / target).exists():
            raise ConfigError(f"{where}: {path!r} does not exist under {config.root} "
                              "(expected folders or files that hold tests)")


def require_tests(config: AuditConfig, inventory: Inventory, paths: Sequence[str] = ()) -> None:
    """Refuse an inventory without a single test: there is nothing to audit, and an empty audit must never pass."""
    if inventory.cases:
        return
    targets = scan_targets(config, inventory.settings, paths)
    where = ", ".join(_shown(config, target) for target in targets) or "no test path that exists"
    message = f"no tests found in {where} (test files: {', '.join(inventory.settings.python_files)}); nothing was run"
    unreadable = [f for f in inventory.findings if f.rule in _UNREADABLE]
    if unreadable:
        first = unreadable[0]
        message += f"; {len(unreadable)} file(s) could not be read, first {first.path}: {first.message}"
    raise CollectError(message)


def _shown(config: AuditConfig, target: Path) -> str:
    try:
        relative = target.relative_to(config.root).as_posix()
    except ValueError:
        return str(target)
    return "the project root" if relative == "." else relative + ("/" if target.is_dir() else "")
