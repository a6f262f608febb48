"""``auditor scan`` with the per-file cache: only changed files, and the files whose results they can
change, are parsed and analysed again; everything else is answered from ``.auditor_cache``.

What a file's result depends on besides its own text, and how each dependency is keyed:

* configuration, pytest settings, scanned paths, auditor code: the store's global key (all or nothing);
* project helpers and fixtures a test's rules followed (by name, across files, through helpers of helpers):
  each entry lists the names it looked up (``consulted``); a changed, added or removed file, or helper
  module, dirties the names whose definitions it changes, and every entry that consulted one of them is
  analysed again;
* helper modules named in ``from x import helper``: their path, size, mtime and hash;
* a module outside ``python_files`` whose tests run where a test module imports them: the importers
  (recomputed from every module's recorded imports and compared);
* walk-level facts (which files exist, symlink loops, ignored folders, huge or unreadable files): the
  walk itself runs on every scan.

A hit therefore equals what a fresh scan would say; ``tests/test_scan_cache.py`` checks it edit by edit.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.collect import cache as scan_cache
from auditor.collect.analyse import (
    HELPER_BYTES,
    finish,
    helper_imports,
    helper_loads,
    prepare,
    rule_enabled,
    run_rules,
)
from auditor.collect.cache import FileEntry, HelperEntry, Store
from auditor.collect.imports import (
    dotted_name,
    import_stems,
    merge_imports,
    module_imports,
)
from auditor.collect.inventory import (
    FileState,
    Inventory,
    SourceModule,
    TestNode,
    Walk,
    content_digest,
    module_inventory,
    paused_gc,
    scan_targets,
    walk_tree,
)
from auditor.collect.pytest_settings import read_pytest_settings
from auditor.collect.rules.index import ProjectIndex, def_digests, import_module_path
from auditor.collect.suppress import apply
from auditor.config import AuditConfig
from auditor.model import Finding


@dataclass(eq=False)
class _Slot:
    """One scanned module: reused from the cache (``entry``) or parsed (``module``), or both when re-analysed."""

    path: str
    entry: FileEntry | None = None
    module: SourceModule | None = None
    nodes: list[TestNode] | None = None
    findings: list[Finding] = field(default_factory=list)
    suppressions: list[Any] = field(default_factory=list)


def _changed_keys(old: dict[str, str], new: dict[str, str]) -> set[str]:
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


@dataclass
class CacheStats:
    """What one cached scan did: files answered from the cache, files parsed, modules whose rules ran."""

    reused: list[str] = field(default_factory=list)
    parsed: list[str] = field(default_factory=list)
    analysed: list[str] = field(default_factory=list)
    saved: bool = False


class _Run:
    def __init__(self, config: AuditConfig, paths: Sequence[str]) -> None:
        self.config = config
        self.paths = paths
        self.settings = settings = read_pytest_settings(config.root)
        self.key = scan_cache.global_key(config, settings, scan_targets(config, settings, paths))
        self.old = scan_cache.load(config.root, self.key)
        self.reused: dict[str, FileEntry] = {}
        self.dirty: set[str] = set()
        #: Reused files whose stat changed (touched, same content): the store needs their new state.
        self.touched = False
        self.stats: tuple[list[str], list[str], list[str], bool] = ([], [], [], False)

    def reuse(self, rel: str, path: Path, stat: Any, is_test: bool, outside: bool) -> FileEntry | None:
        entry = self.old.files.get(rel)
        if entry is None or entry.is_test != is_test or entry.outside_python_files != outside:
            return None
        state = scan_cache.unchanged(entry.state, stat, self.old.saved_ns, path.read_bytes)
        if state is None:
            return None
        if state is not entry.state:
            self.touched, entry.raw = True, None
        entry.state, entry.location = state, path
        self.reused[rel] = entry
        return entry

    def materialize(self, slot: _Slot) -> SourceModule:
        """Parse a reused file whose tests must be looked at again (its content is what the cache recorded)."""
        if slot.module is None:
            entry = slot.entry
            assert entry is not None and entry.location is not None
            from auditor.collect.inventory import parse_module

            module = parse_module(
                entry.location, entry.path, is_test=entry.is_test, outside_python_files=entry.outside_python_files
            )
            if module is None:  # changed between the stat and now: the caller starts over without the cache
                raise _Restart
            slot.module = module
        return slot.module


class _Restart(Exception):
    """A reused file changed mid-scan: scan again from scratch."""


def scan_cached(
    config: AuditConfig, paths: Sequence[str], stats: CacheStats | None = None
) -> tuple[Inventory, tuple[Finding, ...]]:
    """The scan's inventory and findings, reusing per-file results from ``.auditor_cache`` where still valid.

    ``stats``, when given, is filled with what was reused, parsed and analysed (for tests and benchmarks).
    """
    with paused_gc():
        run = _Run(config, paths)
        try:
            result = _scan(run)
        except _Restart:
            run = _Run(config, paths)
            run.old = Store()
            result = _scan(run)
    if stats is not None:
        stats.reused, stats.parsed, stats.analysed, stats.saved = run.stats
    return result


def _scan(run: _Run) -> tuple[Inventory, tuple[Finding, ...]]:
    config = run.config
    walk = walk_tree(config, run.paths, run.reuse, run.settings)
    settings = walk.settings
    slots = [
        _Slot(path=item.path, entry=item) if isinstance(item, FileEntry) else _Slot(path=item.path, module=item)
        for item in walk.modules
    ]
    stems = import_stems([item for item in walk.modules if item.outside_python_files])
    if stems != run.old.stems:
        for slot in slots:  # recorded imports were filtered by the old stems: read every module again
            run.materialize(slot)
    # Definitions of changed, new and vanished files dirty their names.
    new_defs = {slot.path: def_digests(slot.module.tree, slot.module.lines) for slot in slots if slot.entry is None}
    for rel, entry in run.old.files.items():
        if rel not in run.reused:
            run.dirty |= _changed_keys(entry.defs, new_defs.get(rel, {}))
    for rel, defs in new_defs.items():
        if rel not in run.old.files:
            run.dirty |= set(defs)
    records = {slot.path: _records(slot, stems) for slot in slots}
    imports = merge_imports(r for slot in slots for r in records[slot.path]) if stems else {}
    for slot in slots:
        entry = slot.entry
        if entry is not None and entry.outside_python_files:
            if entry.imported_by != imports.get(dotted_name(slot.path), {}):
                run.materialize(slot)
    _inventory(run, slots, settings, imports)
    index = ProjectIndex(root=config.root, modules=())
    fresh = [slot for slot in slots if slot.entry is None or slot.nodes is not None]
    facts = prepare(config, settings, [n for slot in fresh for n in slot.nodes or ()], index)
    fresh_loads = helper_imports(facts)
    loads = {slot.path: fresh_loads.get(slot.path, []) if slot.entry is None or slot.nodes is not None
             else list(slot.entry.loads) for slot in slots}  # fmt: skip
    helpers = _helpers(run, index, helper_loads(loads), len(slots))
    analysed = {id(slot) for slot in fresh}
    stale = [s for s in slots if id(s) not in analysed and s.entry is not None and s.entry.consulted & run.dirty]
    if stale:
        for slot in stale:
            run.materialize(slot)
        _inventory(run, stale, settings, imports)
        fresh = [slot for slot in slots if slot.nodes is not None]
        facts = prepare(config, settings, [n for slot in fresh for n in slot.nodes or ()], index)
    for order, slot in enumerate(slots):
        if slot.module is not None:
            index.add_tree(slot.module.tree, order)
        elif slot.entry is not None and slot.entry.parsed:
            index.defer(slot.entry.defs, _lazy_tree(run, slot), order)
    results = run_rules(config, facts, index)
    return _assemble(run, walk, slots, results, loads, records, imports, helpers, stems)


def _records(slot: _Slot, stems: frozenset[str]) -> list[Any]:
    """A module's ``from x import name`` records: read from its tree, else from its cache entry."""
    if slot.module is not None:
        return module_imports(slot.module, stems)
    assert slot.entry is not None
    return list(slot.entry.imports)


def _lazy_tree(run: _Run, slot: _Slot) -> Any:
    def load() -> ast.Module:
        return run.materialize(slot).tree

    return load


def _inventory(run: _Run, slots: list[_Slot], settings: Any, imports: dict[str, dict[str, str]]) -> None:
    for slot in slots:
        if slot.module is not None:
            slot.nodes, slot.findings, slot.suppressions = module_inventory(slot.module, run.config, settings, imports)


def _helpers(run: _Run, index: ProjectIndex, pairs: list[tuple[str, str]], first: int) -> dict[str, HelperEntry]:
    """Index the helper modules tests import from; a changed, new or vanished one dirties its names."""
    found: dict[str, HelperEntry] = {}
    trees: dict[str, ast.Module | None] = {}
    for order, (near, name) in enumerate(pairs, start=first):
        path = import_module_path(run.config.root, name, near)
        if path is None:
            continue
        rel = path.relative_to(run.config.root).as_posix()
        if rel in index.scanned_paths:
            continue  # a scanned module (a test module with a base class): its defs are indexed already
        if rel not in found:
            helper = _helper_entry(run, path, rel, trees)
            if helper is None:
                continue
            found[rel] = helper
        if rel in trees:
            tree = trees[rel]
            if tree is not None:
                index.add_tree(tree, order)
        else:
            index.defer(found[rel].defs, _helper_tree(path, rel, trees), order)
        index.loaded_paths.append(rel)
    for rel, helper in run.old.helpers.items():
        if rel not in found:
            run.dirty |= set(helper.defs)
    return found


def _helper_entry(run: _Run, path: Path, rel: str, trees: dict[str, ast.Module | None]) -> HelperEntry | None:
    try:
        stat = path.stat()
        if stat.st_size >= HELPER_BYTES:
            return None
        old = run.old.helpers.get(rel)
        if old is not None:
            state = scan_cache.unchanged(old.state, stat, run.old.saved_ns, path.read_bytes)
            if state is not None:
                return HelperEntry(state=state, defs=old.defs)
        data = path.read_bytes()
        text = data.decode("utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    trees[rel] = tree
    defs = def_digests(tree, text.splitlines())
    run.dirty |= _changed_keys(old.defs if old is not None else {}, defs)
    state = FileState(size=stat.st_size, mtime_ns=stat.st_mtime_ns, digest=content_digest(data))
    return HelperEntry(state=state, defs=defs)


def _helper_tree(path: Path, rel: str, trees: dict[str, ast.Module | None]) -> Any:
    def load() -> ast.Module | None:
        if rel not in trees:
            try:
                trees[rel] = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                trees[rel] = None
        return trees[rel]

    return load


def _assemble(
    run: _Run,
    walk: Walk,
    slots: list[_Slot],
    results: dict[str, Any],
    loads: dict[str, list[str]],
    records: dict[str, list[Any]],
    imports: dict[str, dict[str, str]],
    helpers: dict[str, HelperEntry],
    stems: frozenset[str],
) -> tuple[Inventory, tuple[Finding, ...]]:
    """The scan's answer, in the order a fresh scan builds it, and the store for the next scan."""

    config = run.config
    store = Store(helpers=helpers, stems=stems)
    collected: list[Finding] = list(walk.findings)
    suppressions: list[Any] = []
    cases: list[Any] = []
    raw: list[Finding] = []
    for slot in slots:
        entry, module = slot.entry, slot.module
        if slot.nodes is None:  # answered from the cache: its stored line is written back as is
            assert entry is not None
            cases.extend(entry.cases)
            collected.extend(entry.findings)
            suppressions.extend(entry.suppressions)
            raw.extend(entry.rules)
            store.files[slot.path] = entry
            continue
        assert module is not None
        result = results.get(slot.path)
        new = scan_cache.FileEntry(
            path=slot.path,
            state=entry.state if entry is not None else walk.fresh[slot.path][0],
            is_test=module.is_test,
            outside_python_files=module.outside_python_files,
            parsed=True,
            cases=tuple(node.case for node in slot.nodes),
            findings=tuple(slot.findings),
            suppressions=tuple(slot.suppressions),
            rules=result.raw if result is not None else (),
            defs=entry.defs if entry is not None else def_digests(module.tree, module.lines),
            consulted=result.consulted if result is not None else frozenset(),
            loads=tuple(loads[slot.path]),
            imports=tuple(records[slot.path]),
            imported_by=imports.get(dotted_name(slot.path), {}) if module.outside_python_files else None,
        )
        cases.extend(new.cases)
        collected.extend(new.findings)
        suppressions.extend(new.suppressions)
        raw.extend(new.rules)
        store.files[slot.path] = new
    parsed = {slot.path for slot in slots}
    for rel, (state, load_findings, is_test, outside) in walk.fresh.items():
        if rel not in parsed:
            store.files[rel] = scan_cache.FileEntry(
                path=rel, state=state, is_test=is_test, outside_python_files=outside, parsed=False,
                load_findings=tuple(load_findings),
            )  # fmt: skip
    for rel, entry in run.reused.items():
        if not entry.parsed:
            store.files[rel] = entry
    kept, used = apply(collected, suppressions)
    inventory = Inventory(
        cases=tuple(cases),
        findings=tuple(kept),
        settings=walk.settings,
        suppressions=tuple(suppressions),
        used_suppressions=frozenset(used),
    )
    findings = [f for f in kept if rule_enabled(f.rule, config)]
    findings.extend(finish(config, raw, suppressions, used))
    same = (
        not run.touched
        and not walk.fresh
        and all(slot.nodes is None for slot in slots)
        and store.files.keys() == run.old.files.keys()
        and helpers == run.old.helpers
    )
    if not same:  # an unchanged tree is answered without rewriting the store
        scan_cache.save(config.root, run.key, store)
    run.stats = (
        [slot.path for slot in slots if slot.entry is not None and slot.module is None],
        [slot.path for slot in slots if slot.module is not None],
        list(results),
        not same,
    )
    return inventory, tuple(sorted(findings, key=lambda f: (f.path, f.line, f.rule)))
