"""On-disk format of prompt-cache files: mlx-lm's ``save_prompt_cache`` layout, written off the MLX thread."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten
from mlx_lm.models.cache import KVCache, load_prompt_cache

CACHE_SUFFIX = ".safetensors"
# Temporary files start with a dot so a scan of final files can never pick up a half-written one.
TEMP_PREFIX = ".tmp-"
# Bumped whenever the meaning of the metadata changes, so old files are discarded instead of misread.
FORMAT_VERSION = "1"
_DTYPE_NAMES = {mx.float32: "F32", mx.float16: "F16", mx.bfloat16: "BF16"}

Snapshot = list[tuple[np.ndarray, np.ndarray, int, str]]


def agent_file_name(agent_id: str) -> str:
    """The file name for an agent: a hash, because agent ids are untrusted (paths, dots, NULs)."""
    return (
        hashlib.sha256(agent_id.encode("utf-8", "surrogatepass")).hexdigest()
        + CACHE_SUFFIX
    )


def model_identity(model_path: Path) -> str:
    """A short fingerprint of a model directory: its path, its config bytes and its weight sizes."""
    digest = hashlib.sha256()
    digest.update(str(model_path.resolve()).encode())
    config = model_path / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:32]


def can_snapshot(layers: list[Any]) -> bool:
    """Whether these cache layers can be written by :func:`write_cache_file`."""
    return bool(layers) and all(
        type(layer) is KVCache and layer.keys.dtype in _DTYPE_NAMES for layer in layers
    )


def _host_copy(array: Any) -> np.ndarray:
    # numpy has no bfloat16: carry its bits as uint16 and label the tensor BF16 in the file header.
    if array.dtype == mx.bfloat16:
        array = array.view(mx.uint16)
    return np.array(array, copy=True)


def snapshot(layers: list[Any]) -> Snapshot:
    """Host copies of each layer's used keys/values (worker thread; a memcpy, no hashing or I/O)."""
    taken = []
    for layer in layers:
        keys = layer.keys[..., : layer.offset, :]
        values = layer.values[..., : layer.offset, :]
        taken.append(
            (
                _host_copy(keys),
                _host_copy(values),
                int(layer.offset),
                _DTYPE_NAMES[keys.dtype],
            )
        )
    return taken


def digest_arrays(arrays: list[np.ndarray]) -> str:
    # A checksum of the KV data itself: a flipped bit inside the tensor bytes would otherwise load cleanly.
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def digest_layers(layers: list[Any]) -> str:
    """The checksum :func:`write_cache_file` stores, recomputed from loaded layers."""
    return digest_arrays(
        [array for keys, values, _, _ in snapshot(layers) for array in (keys, values)]
    )


def write_cache_file(path: Path, taken: Snapshot, metadata: dict[str, str]) -> None:
    """Write what ``mlx_lm``'s ``save_prompt_cache`` writes for KVCache layers, from host copies.

    Same tensor names ("<layer>.0" keys, "<layer>.1" values, "<layer>.2" offset scalar) and the same
    flattened metadata, so ``load_prompt_cache`` reads it; plain Python, so it can run off the MLX thread.
    """
    tensors: list[tuple[str, str, list[int], bytes]] = []
    scalars: list[Any] = [""]
    for index, (keys, values, offset, dtype) in enumerate(taken):
        tensors.append(
            (
                f"{index}.0",
                dtype,
                list(keys.shape),
                np.ascontiguousarray(keys).tobytes(),
            )
        )
        tensors.append(
            (
                f"{index}.1",
                dtype,
                list(values.shape),
                np.ascontiguousarray(values).tobytes(),
            )
        )
        tensors.append((f"{index}.2", "I32", [], np.int32(offset).tobytes()))
        scalars.append((f"{index}.2", "scalar"))
    flat_metadata = dict(tree_flatten([metadata, ["KVCache"] * len(taken), scalars]))
    header: dict[str, Any] = {"__metadata__": flat_metadata}
    position = 0
    for name, dtype, shape, data in tensors:
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [position, position + len(data)],
        }
        position += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for _, _, _, data in tensors:
            handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_cache_file(
    path: Path, *, model_id: str, agent_id: str
) -> tuple[tuple[int, ...], list[Any]]:
    """Load and fully validate one agent's file; raises (any exception) if it must not be served."""
    layers, metadata = load_prompt_cache(str(path), return_metadata=True)
    if metadata.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown format {metadata.get('format')!r}")
    if metadata.get("model") != model_id:
        raise ValueError("written by another model")
    if metadata.get("agent_id") != agent_id:
        raise ValueError("belongs to another agent")
    tokens = tuple(json.loads(metadata["tokens"]))
    if not all(isinstance(t, int) for t in tokens):
        raise ValueError("token list is not a list of integers")
    if not layers or any(type(layer) is not KVCache for layer in layers):
        raise ValueError("unexpected cache layer types")
    if any(layer.offset != len(tokens) for layer in layers):
        raise ValueError("cache length does not match its token list")
    # Loading is lazy: evaluate now so a truncated file fails here, not inside the decode loop.
    mx.eval([layer.state for layer in layers])
    if digest_layers(layers) != metadata.get("digest"):
        raise ValueError("checksum mismatch")
    return tokens, layers
