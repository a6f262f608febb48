"""What ``python -m server`` can be told: the :class:`Settings` an app is built from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    """Everything ``python -m server`` can be told."""

    model: str
    host: str = "127.0.0.1"
    port: int = 8000
    cache_dir: str | None = None
    cache_max_bytes: int = 2 << 30
    cache_disk_max_bytes: int = 8 << 30
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_tokens_limit: int = 4096
    max_queue: int = 256
    log_level: str = "info"
    started: float = field(default_factory=time.time)
