"""Prefill a long prompt prefix once when several anonymous requests arrive together sharing it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.kv_prefix import common_prefix_length

# Below this many shared tokens, holding requests back to share a prefill costs more than it saves.
MIN_SHARED_PREFIX = 64
# How many other waiting requests to compare a prompt with when looking for a shared prefix.
SCAN_LIMIT = 64


@dataclass(eq=False)
class _Leader:
    prompt: tuple[int, ...]
    length: int
    followers: list[Any] = field(default_factory=list)


class PrefixSharing:
    """Tracks leader requests prefilling a shared prefix and the followers parked until it is cached.

    Only anonymous requests take part: an agent's prompt is never computed for, or served to, another.
    """

    def __init__(self, min_tokens: int = MIN_SHARED_PREFIX) -> None:
        self.min_tokens = min_tokens
        self._leaders: dict[int, _Leader] = {}

    def __len__(self) -> int:
        return sum(len(leader.followers) for leader in self._leaders.values())

    def park(self, job: Any) -> bool:
        """Park ``job`` behind a leader whose prefix it shares; False if there is none."""
        for leader in self._leaders.values():
            shared = common_prefix_length(leader.prompt[: leader.length], job.prompt)
            if shared >= self.min_tokens:
                leader.followers.append(job)
                return True
        return False

    def shared_length(self, job: Any, waiting: Iterable[Any]) -> int:
        """The longest prefix ``job`` shares with another waiting anonymous request (0 if too short)."""
        best = 0
        for count, other in enumerate(waiting):
            if count >= SCAN_LIMIT:
                break
            if other.agent_id is None and other is not job:
                best = max(best, common_prefix_length(job.prompt, other.prompt))
        # The prefix must leave at least one prompt token of the leader's own to process.
        best = min(best, len(job.prompt) - 1)
        return best if best >= self.min_tokens else 0

    def lead(self, uid: int, job: Any, length: int) -> None:
        """Record that ``uid`` is prefilling ``job.prompt[:length]`` as its first segment."""
        self._leaders[uid] = _Leader(prompt=job.prompt, length=length)

    def is_leader(self, uid: int) -> bool:
        """Whether ``uid`` is still prefilling a prefix others wait for."""
        return uid in self._leaders

    def release(self, uid: int) -> list[Any]:
        """The followers of leader ``uid`` (its prefix is cached, or it went away)."""
        leader = self._leaders.pop(uid, None)
        return leader.followers if leader is not None else []

    def drop(self, job: Any) -> bool:
        """Forget a parked follower (cancelled); True if it was parked."""
        for leader in self._leaders.values():
            if job in leader.followers:
                leader.followers.remove(job)
                return True
        return False

    def take_all(self) -> list[Any]:
        """Every parked follower (the engine is failing or stopping)."""
        followers = [
            job for leader in self._leaders.values() for job in leader.followers
        ]
        self._leaders.clear()
        return followers
