"""The inference engine: the only code that touches MLX, bridged from one worker thread to asyncio.

Fault switches (read when an ``Engine`` is built, unless passed explicitly to the constructor):

* ``SERVER_FAULT_NO_CACHE_PERSIST=1``: never write or read prompt-cache files (memory cache only).
* ``SERVER_FAULT_NO_CACHE=1``: never reuse any cache (every prompt is computed from scratch).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.batching import BatchWorker
from server.cache import PromptCacheStore
from server.cache_format import model_identity
from server.jobs import Job, JobResult, WorkerError

DEFAULT_CONTEXT_LENGTH = 4096


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: an already chat-templated prompt and its sampling settings."""

    prompt_tokens: tuple[int, ...]
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    stop_sequences: tuple[str, ...] = ()
    agent_id: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """New text since the previous delta (never splits a UTF-8 character)."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The end of a generation and its token accounting.

    ``queue_seconds`` (waiting for a batch slot) and ``prefill_seconds`` (admission to first token)
    are additions to the shared contract, for the ``server-timing`` header; they default to 0.
    """

    reason: str
    stop_sequence: str | None
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    queue_seconds: float = 0.0
    prefill_seconds: float = 0.0


class EngineOverloaded(Exception):
    """The admission queue is full (or the engine is shutting down); retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"engine overloaded; retry after {retry_after:g}s")
        self.retry_after = retry_after


class PromptTooLong(Exception):
    """The prompt plus ``max_tokens`` does not fit the model's context window."""

    def __init__(
        self, prompt_tokens: int, max_tokens: int, context_length: int
    ) -> None:
        super().__init__(
            f"prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) exceeds "
            f"the context length of {context_length} tokens"
        )
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.context_length = context_length


class EngineError(RuntimeError):
    """The engine could not complete a generation (worker crashed or shut down mid-request)."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _read_limits(model_path: Path) -> tuple[int, int]:
    """(context length, vocabulary size) from the model's config.json."""
    try:
        config = json.loads((model_path / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    context = DEFAULT_CONTEXT_LENGTH
    for key in (
        "max_position_embeddings",
        "max_sequence_length",
        "n_positions",
        "seq_length",
    ):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            context = value
            break
    vocab = config.get("vocab_size")
    # Without a vocab size, token ids are bounded only by what the embedding would accept.
    return context, vocab if isinstance(vocab, int) and vocab > 0 else 2**31 - 1


class _Sink:
    """Where one request's events go: an asyncio queue living on the caller's event loop."""

    __slots__ = ("loop", "queue")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[object] = asyncio.Queue()


def _put_all(items: list[tuple[asyncio.Queue[object], object]]) -> None:
    for target, event in items:
        target.put_nowait(event)


class Engine:
    """Continuous-batching generation over one MLX model, with a per-agent persistent prompt cache."""

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path | None,
        cache_max_bytes: int,
        cache_disk_max_bytes: int,
        max_queue: int = 256,
        max_batch: int = 64,
        no_cache: bool | None = None,
        no_cache_persist: bool | None = None,
    ) -> None:
        path = Path(model).expanduser()
        self.model_path = str(path.resolve())
        self.model_id = path.resolve().name
        self.context_length, self.vocab_size = _read_limits(path)
        self.no_cache = (
            _env_flag("SERVER_FAULT_NO_CACHE") if no_cache is None else no_cache
        )
        self.no_cache_persist = (
            _env_flag("SERVER_FAULT_NO_CACHE_PERSIST")
            if no_cache_persist is None
            else no_cache_persist
        )
        self.cache_dir = (
            None if (cache_dir is None or self.no_cache_persist) else Path(cache_dir)
        )
        self.cache_max_bytes = cache_max_bytes
        self.cache_disk_max_bytes = cache_disk_max_bytes
        self._tokenizer_lock = threading.Lock()
        self._worker = BatchWorker(
            load=self._load_model,
            make_store=self._make_store,
            deliver=self._deliver,
            max_queue=max_queue,
            max_batch=max_batch,
        )
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------------------------------ lifecycle

    def _load_model(self) -> tuple[Any, Any]:
        from mlx_lm import load

        return load(self.model_path)

    def _make_store(self) -> PromptCacheStore:
        return PromptCacheStore(
            model_id=model_identity(Path(self.model_path)),
            cache_dir=self.cache_dir,
            max_bytes=self.cache_max_bytes,
            disk_max_bytes=self.cache_disk_max_bytes,
            enabled=not self.no_cache,
        )

    def start(self) -> None:
        """Load the model on the worker thread; blocks until it is ready (raises if loading failed)."""
        if self._started:
            return
        self._started = True
        self._worker.start()

    def shutdown(self, timeout: float) -> None:
        """Finish in-flight work for at most ``timeout`` seconds, persist caches, stop the worker thread."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self._worker.stop(timeout)

    # ------------------------------------------------------------------------------------ properties

    @property
    def loaded(self) -> bool:
        """True once the model is loaded and while the worker is serving (false after a crash)."""
        return self._worker.serving

    @property
    def active(self) -> int:
        """Requests currently in the running batch."""
        return self._worker.active

    @property
    def queued(self) -> int:
        """Requests admitted but waiting for a batch slot."""
        return self._worker.queued

    @property
    def stats(self) -> dict[str, Any]:
        """Counters for diagnostics and tests (largest decode batch seen, cache hits, files written)."""
        result: dict[str, Any] = dict(self._worker.stats)
        store = self._worker.store
        if store is not None:
            result.update(store.counters)
            result["cache_memory_bytes"] = store.memory_bytes
            result["cache_disk_bytes"] = store.disk_bytes
        return result

    @property
    def cache_store(self) -> PromptCacheStore | None:
        """The prompt-cache store (read-only use: tests and diagnostics)."""
        return self._worker.store

    def flush_cache(self, timeout: float = 30.0) -> bool:
        """Wait until every cache write queued so far is durable on disk."""
        store = self._worker.store
        return True if store is None else store.flush(timeout)

    # ----------------------------------------------------------------------------------- tokenizing

    def _require_tokenizer(self) -> Any:
        if self._worker.tokenizer is None:
            raise EngineError("the engine is not started")
        return self._worker.tokenizer

    def encode_chat(self, messages: list[dict], system: str | None) -> tuple[int, ...]:
        """Chat-template ``messages`` (with an optional system message) and tokenize, ready to generate."""
        tokenizer = self._require_tokenizer()
        full = ([{"role": "system", "content": system}] if system else []) + list(
            messages
        )
        # Hugging Face fast tokenizers may raise "Already borrowed" when used from several threads at once.
        with self._tokenizer_lock:
            text = tokenizer.apply_chat_template(
                full, add_generation_prompt=True, tokenize=False
            )
            backend = self._backend_tokenizer(tokenizer)
            if backend is not None:
                return tuple(backend.encode(text, add_special_tokens=False).ids)
            ids = tokenizer.encode(text, add_special_tokens=False)
        return tuple(int(t) for t in ids)

    @staticmethod
    def _backend_tokenizer(tokenizer: Any) -> Any:
        # transformers' encode() of a fast tokenizer ends in the Rust tokenizer's encode() with the same
        # add_special_tokens; calling it directly skips half the per-request cost on the event loop.
        return getattr(getattr(tokenizer, "_tokenizer", None), "backend_tokenizer", None)

    def count_tokens(self, messages: list[dict], system: str | None) -> int:
        """Number of prompt tokens ``encode_chat`` produces for these messages."""
        return len(self.encode_chat(messages, system))

    # ----------------------------------------------------------------------------------- generation

    def _deliver(self, events: list[tuple[Job, object]]) -> None:
        # Called on the worker thread: one wake-up per event loop per decode step, not one per token.
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Queue[object], object]]
        ] = defaultdict(list)
        for job, event in events:
            if job.cancelled:
                continue
            sink: _Sink = job.sink
            by_loop[sink.loop].append((sink.queue, event))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_put_all, items)
            except RuntimeError:
                # The caller's loop is closed: nobody is listening any more.
                for job, _ in events:
                    if job.sink.loop is loop:
                        self._worker.cancel(job)

    def _check(self, request: GenerationRequest) -> None:
        if not self.loaded:
            raise EngineError("the engine is not running")
        if request.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if not request.prompt_tokens:
            raise ValueError("the prompt is empty")
        if (
            min(request.prompt_tokens) < 0
            or max(request.prompt_tokens) >= self.vocab_size
        ):
            raise ValueError(f"prompt token ids must be in [0, {self.vocab_size})")
        total = len(request.prompt_tokens) + request.max_tokens
        if total > self.context_length:
            raise PromptTooLong(
                len(request.prompt_tokens), request.max_tokens, self.context_length
            )

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncIterator[TextDelta | Finished]:
        """Stream a generation; raises EngineOverloaded / PromptTooLong before yielding anything.

        Closing the iterator early (the client went away) cancels the generation and frees its slot.
        """
        self._check(request)
        sink = _Sink(asyncio.get_running_loop())
        job = Job(
            prompt=tuple(request.prompt_tokens),
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            stop_sequences=tuple(request.stop_sequences),
            agent_id=request.agent_id,
            sink=sink,
        )
        admission = self._worker.submit(job)
        if admission == "full":
            raise EngineOverloaded(self._worker.retry_after())
        if admission != "queued":
            raise EngineError("the engine is not running")
        finished = False
        try:
            while True:
                event = await sink.queue.get()
                if isinstance(event, str):
                    yield TextDelta(event)
                elif isinstance(event, JobResult):
                    finished = True
                    yield Finished(
                        reason=event.reason,
                        stop_sequence=event.stop_sequence,
                        prompt_tokens=event.prompt_tokens,
                        cached_tokens=event.cached_tokens,
                        cache_write_tokens=event.cache_write_tokens,
                        completion_tokens=event.completion_tokens,
                        queue_seconds=event.queue_seconds,
                        prefill_seconds=event.prefill_seconds,
                    )
                    return
                elif isinstance(event, WorkerError):
                    finished = True
                    raise EngineError(str(event))
        finally:
            if not finished:
                self._worker.cancel(job)


__all__ = [
    "Engine",
    "EngineError",
    "EngineOverloaded",
    "Finished",
    "GenerationRequest",
    "PromptTooLong",
    "TextDelta",
]
