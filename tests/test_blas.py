"""server/blas.py: which BLAS the server preloads for MLX, and the clear error for one it cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import blas

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_reference_keeps_mlx_own_blas() -> None:
    assert blas.choose("reference") == blas.REFERENCE


def test_auto_picks_the_first_usable_system_openblas_or_the_reference() -> None:
    installed = [path for path in blas.CANDIDATES if Path(path).is_file()]
    choice = blas.choose("auto")
    if installed:
        assert choice == blas.BlasChoice("openblas", installed[0])
    else:
        assert choice == blas.REFERENCE


def test_a_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(blas.BlasError, match=r"no such library: .*nothing\.so"):
        blas.choose(str(tmp_path / "nothing.so"))


def test_a_file_that_is_no_library_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "libfake.so"
    fake.write_text("not an ELF file", encoding="utf-8")
    with pytest.raises(blas.BlasError, match=r"cannot load .*libfake\.so"):
        blas.choose(str(fake))


def test_a_library_without_cblas_names_what_it_lacks() -> None:
    import psutil._psutil_linux as some_shared_object  # a real ELF library that has no BLAS in it

    with pytest.raises(blas.BlasError, match=r"lacks cblas_sgemm, cblas_dgemm, cblas_cgemm, sgetrf_"):
        blas.choose(some_shared_object.__file__)


def test_active_reads_what_the_reexec_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(blas.ACTIVE_ENV, "openblas:/usr/lib/libopenblas.so.0")
    assert blas.active() == blas.BlasChoice("openblas", "/usr/lib/libopenblas.so.0")
    monkeypatch.delenv(blas.ACTIVE_ENV)
    assert blas.active() == blas.REFERENCE


def test_reexec_is_skipped_when_nothing_would_change(monkeypatch: pytest.MonkeyPatch) -> None:
    # Returning (instead of replacing this test process) is the observable result.
    blas.reexec_with(blas.REFERENCE, ["--port", "0"])
    monkeypatch.setenv(blas.ACTIVE_ENV, "openblas:/x/libopenblas.so.0")
    blas.reexec_with(blas.BlasChoice("openblas", "/x/libopenblas.so.0"), ["--port", "0"])
    assert blas.active().path == "/x/libopenblas.so.0"


def test_server_cli_rejects_an_unusable_blas_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "--blas", str(tmp_path / "missing.so")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"python -m server: error: --blas: no such library: {tmp_path / 'missing.so'}"]


def test_loaded_libraries_lists_what_this_process_maps() -> None:
    mapped = blas.loaded_libraries(os.getpid())
    assert any(Path(library).name.startswith("libc.so") for library in mapped)
    assert blas.loaded_libraries(2**22 + 12345) == set()  # no such pid: nothing, not an error


def test_default_request_comes_from_server_blas_else_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(blas.REQUEST_ENV, raising=False)
    assert blas.default_request() == "auto"
    monkeypatch.setenv(blas.REQUEST_ENV, "reference")
    assert blas.default_request() == "reference"
