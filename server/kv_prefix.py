"""Token prefixes and KV caches: the longest common prefix of two prompts, and a cache cut to a prefix.

Pure functions over token tuples and mlx-lm cache layers, shared by the prompt cache store
(:mod:`server.cache`) and prefix sharing (:mod:`server.prefix_sharing`).
"""

from __future__ import annotations

import copy
from typing import Any

from mlx_lm.models.cache import KVCache, can_trim_prompt_cache, trim_prompt_cache


def common_prefix_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    # Compare in chunks first: long shared histories are the common case and tuple slices compare in C.
    step = 256
    while i + step <= n and a[i : i + step] == b[i : i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


def layers_nbytes(layers: list[Any]) -> int:
    """Bytes held by the arrays of a prompt cache."""
    return sum(int(layer.nbytes) for layer in layers)


def prefix_view(layers: list[Any], length: int) -> list[Any] | None:
    """A cache holding the first ``length`` tokens of ``layers`` without mutating ``layers``."""
    if all(type(layer) is KVCache for layer in layers):
        view = []
        for layer in layers:
            part = KVCache()
            # Slicing makes new array objects, so later in-place updates can never reach the stored entry.
            part.keys = layer.keys[..., :length, :]
            part.values = layer.values[..., :length, :]
            part.offset = length
            view.append(part)
        return view
    if not can_trim_prompt_cache(layers):
        return None
    copied = copy.deepcopy(layers)
    trim_prompt_cache(copied, copied[0].size() - length)
    return copied
