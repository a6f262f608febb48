"""Per-agent KV prompt cache: an in-memory LRU by bytes, persisted one safetensors file per agent."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlx.core as mx

from server.cache_format import (
    CACHE_SUFFIX,
    FORMAT_VERSION,
    TEMP_PREFIX,
    agent_file_name,
    can_snapshot,
    digest_arrays,
    read_cache_file,
    snapshot,
    write_cache_file,
)
from server.kv_prefix import common_prefix_length, layers_nbytes, prefix_view

log = logging.getLogger("server.cache")

# The anonymous shared pool gets this fraction of the memory budget and at most this many entries.
SHARED_FRACTION = 8
SHARED_MAX_ENTRIES = 16

__all__ = [
    "CACHE_SUFFIX",
    "CacheHit",
    "PromptCacheStore",
    "agent_file_name",
]


@dataclass(frozen=True)
class CacheHit:
    """A reusable KV cache for the first ``cached_tokens`` tokens of a prompt."""

    layers: list[Any]
    cached_tokens: int


@dataclass
class _Entry:
    tokens: tuple[int, ...]
    layers: list[Any]
    nbytes: int


class PromptCacheStore:
    """Agent-keyed KV caches. Only the engine's worker thread calls it (MLX work); disk syncs run on a writer thread."""

    def __init__(
        self,
        *,
        model_id: str,
        cache_dir: Path | None,
        max_bytes: int,
        disk_max_bytes: int,
        enabled: bool = True,
    ) -> None:
        self.model_id = model_id
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes
        self.disk_max_bytes = disk_max_bytes
        self.enabled = enabled
        self._memory: OrderedDict[str, _Entry] = OrderedDict()
        self._memory_bytes = 0
        # Anonymous requests (no agent id) share a small pool, searched by longest common prefix, so a
        # long common system prompt is computed once. Agent caches never enter it.
        self._shared: OrderedDict[int, _Entry] = OrderedDict()
        self._shared_bytes = 0
        self._shared_serial = 0
        self.shared_max_bytes = max_bytes // SHARED_FRACTION
        # Disk index: file name -> size, least recently used first. Shared with the writer thread.
        self._disk: OrderedDict[str, int] = OrderedDict()
        self._disk_lock = threading.Lock()
        self._writes: queue.Queue[tuple[str, list, dict[str, str]] | None] = (
            queue.Queue()
        )
        self._writer: threading.Thread | None = None
        self.counters = {
            "hits": 0,
            "misses": 0,
            "shared_hits": 0,
            "disk_loads": 0,
            "discarded_files": 0,
            "files_written": 0,
        }
        if self.cache_dir is not None and self.enabled:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._scan_disk()
            self._writer = threading.Thread(
                target=self._write_loop, name="prompt-cache-writer", daemon=True
            )
            self._writer.start()

    # ----------------------------------------------------------------------------------------- lookups

    @property
    def memory_bytes(self) -> int:
        """Bytes of KV held in memory (agent caches plus the anonymous pool)."""
        return self._memory_bytes + self._shared_bytes

    @property
    def disk_bytes(self) -> int:
        """Bytes of cache files on disk (as indexed)."""
        with self._disk_lock:
            return sum(self._disk.values())

    def lookup(self, agent_id: str, prompt: tuple[int, ...]) -> CacheHit | None:
        """The agent's cache trimmed to its longest common prefix with ``prompt`` (at least one token left)."""
        if not self.enabled:
            return None
        entry = self._memory.get(agent_id)
        if entry is None:
            entry = self._load_from_disk(agent_id)
        else:
            self._memory.move_to_end(agent_id)
        if entry is None:
            self.counters["misses"] += 1
            return None
        # The generator needs at least one prompt token to compute the first logits.
        usable = min(common_prefix_length(entry.tokens, prompt), len(prompt) - 1)
        view = prefix_view(entry.layers, usable) if usable > 0 else None
        if view is None:
            self.counters["misses"] += 1
            return None
        self.counters["hits"] += 1
        self._touch_disk(agent_id)
        return CacheHit(layers=view, cached_tokens=usable)

    def store(self, agent_id: str, tokens: list[int], layers: list[Any]) -> bool:
        """Keep ``layers`` (the KV of ``tokens``) as the agent's cache; returns whether it was kept anywhere."""
        if not self.enabled or not tokens:
            return False
        mx.eval([layer.state for layer in layers])
        entry = _Entry(
            tokens=tuple(tokens), layers=layers, nbytes=layers_nbytes(layers)
        )
        kept = self._remember(agent_id, entry)
        if self._writer is not None and entry.nbytes <= self.disk_max_bytes:
            kept = self._persist(agent_id, entry) or kept
        return kept

    def lookup_shared(self, prompt: tuple[int, ...]) -> CacheHit | None:
        """The anonymous pool's entry sharing the longest prefix with ``prompt`` (at least one token left)."""
        if not self.enabled or not self._shared:
            return None
        best_key, best_length = None, 0
        for key, entry in self._shared.items():
            length = common_prefix_length(entry.tokens, prompt)
            if length > best_length:
                best_key, best_length = key, length
        usable = min(best_length, len(prompt) - 1)
        if best_key is None or usable <= 0:
            return None
        view = prefix_view(self._shared[best_key].layers, usable)
        if view is None:
            return None
        self._shared.move_to_end(best_key)
        self.counters["shared_hits"] += 1
        return CacheHit(layers=view, cached_tokens=usable)

    def store_shared(self, tokens: list[int], layers: list[Any]) -> bool:
        """Offer an anonymous request's KV to the shared pool (memory only); True if it was kept."""
        if not self.enabled or not tokens:
            return False
        mx.eval([layer.state for layer in layers])
        entry = _Entry(
            tokens=tuple(tokens), layers=layers, nbytes=layers_nbytes(layers)
        )
        if entry.nbytes > self.shared_max_bytes:
            return False
        # An entry that is a prefix of the new one is subsumed by it.
        for key in [
            k
            for k, e in self._shared.items()
            if entry.tokens[: len(e.tokens)] == e.tokens
        ]:
            self._shared_bytes -= self._shared.pop(key).nbytes
        self._shared_serial += 1
        self._shared[self._shared_serial] = entry
        self._shared_bytes += entry.nbytes
        while (
            self._shared_bytes > self.shared_max_bytes
            or len(self._shared) > SHARED_MAX_ENTRIES
        ):
            _, evicted = self._shared.popitem(last=False)
            self._shared_bytes -= evicted.nbytes
        self._evict_memory()
        return True

    def memory_agents(self) -> list[str]:
        """Agent ids held in memory, least recently used first (for tests and diagnostics)."""
        return list(self._memory)

    def disk_files(self) -> list[str]:
        """Cache file names on disk, least recently used first (for tests and diagnostics)."""
        with self._disk_lock:
            return list(self._disk)

    # ---------------------------------------------------------------------------------------- memory

    def _remember(self, agent_id: str, entry: _Entry) -> bool:
        old = self._memory.pop(agent_id, None)
        if old is not None:
            self._memory_bytes -= old.nbytes
        if entry.nbytes + self._shared_bytes > self.max_bytes:
            return False
        self._memory[agent_id] = entry
        self._memory_bytes += entry.nbytes
        self._evict_memory()
        return True

    def _evict_memory(self) -> None:
        # One budget for everything in memory; the anonymous pool is capped at a fraction of it.
        while self._memory and self._memory_bytes + self._shared_bytes > self.max_bytes:
            _, evicted = self._memory.popitem(last=False)
            self._memory_bytes -= evicted.nbytes

    # ------------------------------------------------------------------------------------------ disk

    def _scan_disk(self) -> None:
        assert self.cache_dir is not None
        found = []
        for path in self.cache_dir.iterdir():
            if path.name.startswith(TEMP_PREFIX):
                # Left by a crash mid-write: never complete, never served.
                path.unlink(missing_ok=True)
            elif path.name.endswith(CACHE_SUFFIX) and path.is_file():
                stat = path.stat()
                found.append((stat.st_mtime, path.name, stat.st_size))
        with self._disk_lock:
            for _, name, size in sorted(found):
                self._disk[name] = size
        self._evict_disk()

    def _path(self, agent_id: str) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / agent_file_name(agent_id)

    def _touch_disk(self, agent_id: str) -> None:
        if self._writer is None:
            return
        name = agent_file_name(agent_id)
        with self._disk_lock:
            if name in self._disk:
                self._disk.move_to_end(name)
                # The mtime carries the LRU order across restarts (see _scan_disk).
                try:
                    os.utime(self.cache_dir / name)
                except OSError:
                    pass

    def _discard(self, path: Path, reason: str) -> None:
        log.warning("discarding prompt cache file %s: %s", path.name, reason)
        self.counters["discarded_files"] += 1
        with self._disk_lock:
            self._disk.pop(path.name, None)
            path.unlink(missing_ok=True)

    def _load_from_disk(self, agent_id: str) -> _Entry | None:
        if self._writer is None:
            return None
        path = self._path(agent_id)
        with self._disk_lock:
            if path.name not in self._disk:
                return None
        try:
            tokens, layers = read_cache_file(
                path, model_id=self.model_id, agent_id=agent_id
            )
        except Exception as error:  # noqa: BLE001 - any unreadable file is discarded, never fatal
            self._discard(path, f"{type(error).__name__}: {error}"[:300])
            return None
        self.counters["disk_loads"] += 1
        entry = _Entry(tokens=tokens, layers=layers, nbytes=layers_nbytes(layers))
        self._remember(agent_id, entry)
        return entry

    def _persist(self, agent_id: str, entry: _Entry) -> bool:
        if not can_snapshot(entry.layers):
            return False
        # Only a host memcpy happens on the MLX thread; hashing, writing and fsync run on the writer.
        metadata = {
            "format": FORMAT_VERSION,
            "model": self.model_id,
            "agent_id": agent_id,
            "tokens": json.dumps(list(entry.tokens)),
        }
        self._writes.put((agent_file_name(agent_id), snapshot(entry.layers), metadata))
        return True

    def _write_loop(self) -> None:
        while True:
            item = self._writes.get()
            try:
                if item is None:
                    return
                self._commit(*item)
            except Exception:  # a failed write must never stop later writes
                log.exception("prompt cache writer failed")
            finally:
                self._writes.task_done()

    def _commit(self, name: str, snapshot: list, metadata: dict[str, str]) -> None:
        assert self.cache_dir is not None
        metadata = dict(metadata)
        metadata["digest"] = digest_arrays(
            [a for keys, values, _, _ in snapshot for a in (keys, values)]
        )
        temp = self.cache_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}{CACHE_SUFFIX}"
        try:
            # Never a partial file under the final name: write + fsync a temp file, rename, fsync the dir.
            write_cache_file(temp, snapshot, metadata)
            size = temp.stat().st_size
            with self._disk_lock:
                os.replace(temp, self.cache_dir / name)
                self._disk.pop(name, None)
                self._disk[name] = size
            dir_fd = os.open(self.cache_dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self.counters["files_written"] += 1
        except OSError as error:
            log.warning("could not persist prompt cache file %s: %s", name, error)
            temp.unlink(missing_ok=True)
            return
        self._evict_disk()

    def _evict_disk(self) -> None:
        assert self.cache_dir is not None
        with self._disk_lock:
            total = sum(self._disk.values())
            while total > self.disk_max_bytes and self._disk:
                name, size = self._disk.popitem(last=False)
                (self.cache_dir / name).unlink(missing_ok=True)
                total -= size

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued write is durable on disk; returns False on timeout."""
        if self._writer is None:
            return True
        done = self._writes.all_tasks_done
        with done:
            return done.wait_for(lambda: self._writes.unfinished_tasks == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Flush pending writes, stop the writer thread and drop the in-memory caches."""
        if self._writer is not None:
            self.flush(timeout)
            self._writes.put(None)
            self._writer.join(timeout)
            self._writer = None
        self._memory.clear()
        self._memory_bytes = 0
        self._shared.clear()
        self._shared_bytes = 0
