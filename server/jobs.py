"""A request's state inside the engine worker, and what the worker reports back when it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from server.stop_text import StopTextFilter


@dataclass(eq=False)
class Job:
    """One request's life inside the worker (mutable, worker-thread state except ``cancelled``)."""

    prompt: tuple[int, ...]
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    stop_sequences: tuple[str, ...]
    agent_id: str | None
    sink: Any
    submitted_at: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    may_share: bool = True
    uid: int | None = None
    detokenizer: Any = None
    stop_filter: StopTextFilter | None = None
    cached_tokens: int = 0
    completion_tokens: int = 0
    started_at: float | None = None
    first_token_at: float | None = None


@dataclass(frozen=True)
class JobResult:
    """What the worker reports when a job ends (the engine maps it onto ``Finished``)."""

    reason: str
    stop_sequence: str | None
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    queue_seconds: float
    prefill_seconds: float


class WorkerError(RuntimeError):
    """The worker failed or stopped before the job could finish."""
