"""Run MLX's CPU matrix products on an optimised BLAS when the machine has one.

MLX's Linux CPU wheel links a bundled reference (netlib) BLAS: on this project's 2-core test machine it
multiplies float32 matrices at about 6 GFLOPS, where OpenBLAS reaches 50-275 GFLOPS on the same shapes,
and a model larger than the fixture spends nearly all its time there. ``libmlx.so`` resolves
``cblas_sgemm`` and the LAPACK routines by ordinary dynamic linking, so a library preloaded into the
process wins that lookup. The dynamic loader reads ``LD_PRELOAD`` only when a process starts, hence the
server re-executes itself once, before anything imports MLX, with the library preloaded (same PID, so a
supervisor sees no difference). Only LP64 builds qualify: MLX passes 32-bit ints.

``--blas auto`` (default) uses the system's OpenBLAS if present, ``--blas reference`` keeps MLX's own,
``--blas PATH`` names a library. On macOS MLX uses Accelerate and Metal, and this module does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Debian/Ubuntu (libopenblas0-pthread, libopenblas0-openmp) and Fedora/RHEL (openblas) install paths.
CANDIDATES: tuple[str, ...] = (
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)
# What libmlx.so needs from the library it is given: products and the LAPACK routines of mx.linalg.
REQUIRED_SYMBOLS: tuple[str, ...] = ("cblas_sgemm", "cblas_dgemm", "cblas_cgemm", "sgetrf_", "sgesdd_", "ssyevd_")
# Where `--blas` takes its default from.
REQUEST_ENV = "SERVER_BLAS"
# Set in the re-executed process so it never tries again, and read by /health to report the choice.
ACTIVE_ENV = "SERVER_BLAS_ACTIVE"


class BlasError(ValueError):
    """The requested BLAS library cannot be used; the message says why."""


@dataclass(frozen=True)
class BlasChoice:
    name: str  # "openblas", "reference", or the file name of a library given by path
    path: str | None  # the preloaded library; None for MLX's bundled reference BLAS


REFERENCE = BlasChoice("reference", None)


def _missing_symbols(path: str) -> list[str]:
    try:
        library = ctypes.CDLL(path)
    except OSError as error:
        raise BlasError(f"cannot load {path}: {error}") from None
    return [symbol for symbol in REQUIRED_SYMBOLS if not hasattr(library, symbol)]


def _usable(path: str) -> bool:
    try:
        return Path(path).is_file() and not _missing_symbols(path)
    except BlasError:
        return False


def default_request() -> str:
    """What ``--blas`` means when not given: ``SERVER_BLAS``, else ``auto``."""
    return os.environ.get(REQUEST_ENV, "auto")


def choose(request: str) -> BlasChoice:
    """The library ``--blas`` asks for; raises BlasError for a path that cannot serve MLX."""
    if request == "reference" or sys.platform != "linux":
        return REFERENCE
    if request == "auto":
        found = next((path for path in CANDIDATES if _usable(path)), None)
        return BlasChoice("openblas", found) if found else REFERENCE
    path = str(Path(request).expanduser().resolve())
    if not Path(path).is_file():
        raise BlasError(f"no such library: {request}")
    missing = _missing_symbols(path)
    if missing:
        raise BlasError(f"{request} lacks {', '.join(missing)}: MLX needs a CBLAS with LAPACK (e.g. OpenBLAS)")
    return BlasChoice(Path(path).name, path)


def active() -> BlasChoice:
    """What this process runs on, as recorded by :func:`reexec_with`."""
    recorded = os.environ.get(ACTIVE_ENV, "")
    name, _, path = recorded.partition(":")
    return BlasChoice(name, path) if name and path else REFERENCE


def reexec_with(choice: BlasChoice, argv: list[str]) -> None:
    """Restart this interpreter with ``choice`` preloaded; returns only when nothing needs to change."""
    if choice.path is None or active() == choice:
        return
    environ = dict(os.environ)
    preload = [entry for entry in environ.get("LD_PRELOAD", "").split(":") if entry]
    environ["LD_PRELOAD"] = ":".join([choice.path, *preload])
    environ[ACTIVE_ENV] = f"{choice.name}:{choice.path}"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "server", *argv], environ)


def loaded_libraries(pid: int | str = "self") -> set[str]:
    """Shared objects mapped into a process (Linux), to prove which BLAS really serves it."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text(encoding="utf-8")
    except OSError:
        return set()
    return {fields[-1] for fields in map(str.split, maps.splitlines()) if len(fields) >= 6 and ".so" in fields[-1]}
