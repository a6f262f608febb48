"""The engine's worker thread: owns the model and drives mlx-lm's continuous-batching BatchGenerator."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import mlx.core as mx
from mlx_lm.generate import BatchGenerator
from mlx_lm.sample_utils import make_sampler

from server.cache import PromptCacheStore
from server.jobs import Job, JobResult, WorkerError
from server.prefix_sharing import PrefixSharing
from server.stop_text import StopTextFilter

log = logging.getLogger("server.engine")

# Events are delivered as (job, event) pairs; the engine turns them into TextDelta / Finished.
Deliver = Callable[[list[tuple[Job, object]]], None]


class BatchWorker:
    """Runs every MLX call on one thread; requests join and leave the running batch between decode steps."""

    def __init__(
        self,
        *,
        load: Callable[[], tuple[Any, Any]],
        make_store: Callable[[], PromptCacheStore],
        deliver: Deliver,
        max_queue: int,
        max_batch: int,
    ) -> None:
        self._load = load
        self._make_store = make_store
        self._deliver = deliver
        self.max_queue = max_queue
        self.max_batch = max_batch
        self._lock = threading.Condition()
        self._inbox: deque[Job] = deque()
        self._cancelled: list[Job] = []
        self._pending: deque[Job] = deque()
        self._running: dict[int, Job] = {}
        self._sharing = PrefixSharing()
        self._stopping = False
        self._drain_deadline: float | None = None
        self.loaded = threading.Event()
        self.load_error: BaseException | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        self.store: PromptCacheStore | None = None
        self.queued = 0
        self.active = 0
        self.stats = {
            "max_decode_batch": 0,
            "decode_steps": 0,
            "jobs_finished": 0,
            "jobs_cancelled": 0,
        }
        self._avg_job_seconds = 1.0
        self._thread = threading.Thread(
            target=self._main, name="mlx-engine", daemon=True
        )

    # ----------------------------------------------------------------------------- called from other threads

    def start(self) -> None:
        """Start the thread and block until the model is loaded (re-raising a load failure)."""
        self._thread.start()
        self.loaded.wait()
        if self.load_error is not None:
            raise self.load_error

    def retry_after(self) -> float:
        """Seconds a rejected client should wait: roughly the time for one queue's worth of jobs to drain."""
        waves = 1 + self.queued / max(1, self.max_batch)
        return round(max(1.0, self._avg_job_seconds * waves), 1)

    @property
    def serving(self) -> bool:
        """True while the model is loaded and the worker accepts jobs (not stopping, not crashed)."""
        return self.loaded.is_set() and self.load_error is None and not self._stopping

    def submit(self, job: Job) -> str:
        """Queue a job: returns "queued", "full" (admission queue full) or "stopped" (not serving)."""
        with self._lock:
            if (
                self._stopping
                or not self.loaded.is_set()
                or self.load_error is not None
            ):
                return "stopped"
            if self.queued >= self.max_queue:
                return "full"
            self.queued += 1
            self._inbox.append(job)
            self._lock.notify()
        return "queued"

    def cancel(self, job: Job) -> None:
        """Ask the worker to drop a job (the client went away); its batch slot frees on the next step."""
        with self._lock:
            job.cancelled = True
            self._cancelled.append(job)
            self._lock.notify()

    def stop(self, timeout: float) -> None:
        """Finish in-flight jobs (for at most ``timeout`` seconds), fail the rest, flush caches, join."""
        with self._lock:
            self._stopping = True
            self._drain_deadline = time.monotonic() + timeout
            self._lock.notify()
        self._thread.join(timeout + 30.0)

    # ------------------------------------------------------------------------------------- worker thread

    def _main(self) -> None:
        try:
            self.model, self.tokenizer = self._load()
            self.store = self._make_store()
            # Thread-local stream: all generation work stays on this thread's own stream.
            stream = mx.default_stream(mx.default_device())
            self._generator = BatchGenerator(
                self.model,
                stop_tokens=[[t] for t in sorted(self.tokenizer.eos_token_ids)],
                completion_batch_size=self.max_batch,
                prefill_batch_size=min(8, self.max_batch),
                stream=stream,
            )
        except BaseException as error:  # noqa: BLE001 - reported to start()'s caller
            self.load_error = error
            self.loaded.set()
            return
        self.loaded.set()
        try:
            self._loop()
        except BaseException as error:  # every waiting client must hear about it
            log.exception("engine worker crashed")
            self._fail_all(WorkerError(f"engine worker crashed: {error}"))
        finally:
            self._generator.close()
            if self.store is not None:
                self.store.close()
            self._release_mlx_thread_state()

    def _release_mlx_thread_state(self) -> None:
        # MLX keeps per-thread streams; dropping every MLX object and clearing them on this thread
        # before it exits avoids an abort ("terminate called without an active exception") at exit.
        self._generator = None
        self.model = None
        gc.collect()
        mx.synchronize()
        mx.clear_streams()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not (
                    self._inbox
                    or self._cancelled
                    or self._pending
                    or self._running
                    or self._stopping
                ):
                    self._lock.wait()
                self._pending.extend(self._inbox)
                self._inbox.clear()
                cancelled, self._cancelled = self._cancelled, []
                stopping, deadline = self._stopping, self._drain_deadline
            self._drop_cancelled(cancelled)
            if stopping and (
                not (self._pending or self._running)
                or time.monotonic() > (deadline or 0.0)
            ):
                self._fail_all(
                    WorkerError("the engine shut down before this request finished")
                )
                return
            self._admit()
            if self._running:
                self._step()

    def _drop_cancelled(self, cancelled: list[Job]) -> None:
        if not cancelled:
            return
        for job in cancelled:
            if job in self._pending or self._sharing.drop(job):
                if job in self._pending:
                    self._pending.remove(job)
                with self._lock:
                    self.queued -= 1
        uids = [
            job.uid
            for job in cancelled
            if job.uid is not None and job.uid in self._running
        ]
        if uids:
            caches = self._generator.remove(uids, return_prompt_caches=True)
            for uid in uids:
                job = self._running.pop(uid)
                self._release(job)
                self._unpark(self._sharing.release(uid))
                self.stats["jobs_cancelled"] += 1
                layers, tokens = caches.get(uid, (None, None))
                self._keep_cache(job, layers, tokens)

    def _admit(self) -> None:
        while self._pending and len(self._running) < self.max_batch:
            job = self._pending.popleft()
            hit = None
            if self.store is not None:
                if job.agent_id is not None:
                    hit = self.store.lookup(job.agent_id, job.prompt)
                else:
                    hit = self.store.lookup_shared(job.prompt)
            segments = [list(job.prompt)]
            shared = 0
            # A short hit (say, just the chat header) must not stop a long prefix from being shared.
            small_hit = hit is None or hit.cached_tokens < self._sharing.min_tokens
            if (
                job.agent_id is None
                and small_hit
                and job.may_share
                and self._can_share()
            ):
                if self._sharing.park(job):
                    continue
                shared = self._sharing.shared_length(job, self._pending)
                if shared:
                    # Prefill the shared prefix as its own segment so it can be cached for the others.
                    hit = None
                    segments = [segments[0][:shared], segments[0][shared:]]
            with self._lock:
                self.queued -= 1
                self.active += 1
            job.started_at = time.monotonic()
            job.cached_tokens = hit.cached_tokens if hit else 0
            if hit:
                segments = [segments[0][job.cached_tokens :]]
            job.detokenizer = self.tokenizer.detokenizer
            job.stop_filter = StopTextFilter(job.stop_sequences)
            sampler = None
            if job.temperature > 0:
                sampler = make_sampler(
                    job.temperature, top_p=job.top_p, top_k=job.top_k
                )
            (job.uid,) = self._generator.insert_segments(
                [segments],
                max_tokens=[job.max_tokens],
                caches=[hit.layers] if hit else None,
                all_tokens=[list(job.prompt[: job.cached_tokens])],
                samplers=[sampler],
            )
            self._running[job.uid] = job
            if shared:
                self._sharing.lead(job.uid, job, shared)

    def _can_share(self) -> bool:
        # Without a cache to publish into, parked followers would only be serialised behind leaders.
        return (
            self.store is not None
            and self.store.enabled
            and self.store.shared_max_bytes > 0
        )

    def _publish_prefixes(self, prompt_responses: list[Any]) -> None:
        """Cache each leader's finished prefix segment and let its parked followers in."""
        for response in prompt_responses:
            if not (response.end_of_segment and self._sharing.is_leader(response.uid)):
                continue
            cached = self._generator.extract_cache([response.uid])
            kept = False
            if response.uid in cached and self.store is not None:
                layers, tokens = cached[response.uid]
                kept = self.store.store_shared(list(tokens), layers)
            followers = self._sharing.release(response.uid)
            if not kept:
                # Too big for the pool: let them prefill together rather than lead one at a time.
                for job in followers:
                    job.may_share = False
            self._unpark(followers)

    def _unpark(self, followers: list[Job]) -> None:
        # Back to the front of the line: they were admitted before anything queued after them.
        self._pending.extendleft(reversed(followers))

    def _step(self) -> None:
        prompt_responses, responses = self._generator.next()
        if prompt_responses:
            self._publish_prefixes(prompt_responses)
        if not responses:
            return
        self.stats["decode_steps"] += 1
        self.stats["max_decode_batch"] = max(
            self.stats["max_decode_batch"], len(responses)
        )
        events: list[tuple[Job, object]] = []
        ended: list[tuple[Job, str, str | None, Any, Any]] = []
        stopped_early: list[tuple[Job, str]] = []
        now = time.monotonic()
        for response in responses:
            job = self._running.get(response.uid)
            if job is None:
                continue
            job.completion_tokens += 1
            if job.first_token_at is None:
                job.first_token_at = now
            detok = job.detokenizer
            # EOS ends the text without being part of it.
            if response.finish_reason != "stop":
                detok.add_token(response.token)
            if response.finish_reason is not None:
                detok.finalize()
            text, matched = job.stop_filter.feed(detok.last_segment)
            if matched is None and response.finish_reason is not None:
                text += job.stop_filter.flush()
            if text:
                events.append((job, text))
            if matched is not None and response.finish_reason is None:
                stopped_early.append((job, matched))
            elif matched is not None or response.finish_reason is not None:
                del self._running[response.uid]
                self._release(job)
                self._unpark(self._sharing.release(response.uid))
                reason = (
                    "stop_sequence"
                    if matched
                    else ("stop" if response.finish_reason == "stop" else "length")
                )
                ended.append(
                    (job, reason, matched, response.prompt_cache, response.all_tokens)
                )
        if stopped_early:
            caches = self._generator.remove(
                [job.uid for job, _ in stopped_early], return_prompt_caches=True
            )
            for job, matched in stopped_early:
                del self._running[job.uid]
                self._release(job)
                self._unpark(self._sharing.release(job.uid))
                layers, tokens = caches.get(job.uid, (None, None))
                ended.append((job, "stop_sequence", matched, layers, tokens))
        for job, reason, stop, layers, tokens in ended:
            kept = self._keep_cache(job, layers, tokens)
            result = JobResult(
                reason=reason,
                stop_sequence=stop,
                prompt_tokens=len(job.prompt),
                cached_tokens=job.cached_tokens,
                cache_write_tokens=len(job.prompt) - job.cached_tokens if kept else 0,
                completion_tokens=job.completion_tokens,
                queue_seconds=(job.started_at or job.submitted_at) - job.submitted_at,
                prefill_seconds=(job.first_token_at or now) - (job.started_at or now),
            )
            events.append((job, result))
        if events:
            self._deliver(events)

    def _release(self, job: Job) -> None:
        with self._lock:
            self.active -= 1
        self.stats["jobs_finished"] += 1
        if job.started_at is not None:
            elapsed = time.monotonic() - job.started_at
            self._avg_job_seconds = 0.9 * self._avg_job_seconds + 0.1 * elapsed

    def _keep_cache(self, job: Job, layers: Any, tokens: Any) -> bool:
        """Store the job's KV under its agent (True if kept), or offer it to the anonymous pool (False)."""
        if (
            self.store is None
            or layers is None
            or tokens is None
            or len(tokens) <= job.cached_tokens
        ):
            return False
        if job.agent_id is None:
            # Not an agent cache: the contract reports cache_write_tokens only for agents.
            self.store.store_shared(list(tokens), layers)
            return False
        return self.store.store(job.agent_id, list(tokens), layers)

    def _fail_all(self, error: Exception) -> None:
        with self._lock:
            self._stopping = True
            leftover = (
                list(self._inbox)
                + list(self._pending)
                + self._sharing.take_all()
                + list(self._running.values())
            )
            self._inbox.clear()
            self._pending.clear()
            self.queued = 0
            self.active = 0
        self._running.clear()
        if leftover:
            self._deliver([(job, error) for job in leftover])
