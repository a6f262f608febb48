# Two commands matter on a fresh machine: `make audit` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv browser blas test audit model bench-model bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# setuptools 77+ reads the SPDX `license` string; the wheel check and the packaging tests build without isolation
	$(PY) -m pip install --quiet --upgrade pip 'setuptools>=77'
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The HTML report is tested in real Chromium (Debian's package); install it when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is not installed; the browser test will report it"; fi; }

# MLX's Linux CPU wheel multiplies on a reference BLAS; the server preloads the system's OpenBLAS when it is
# installed (server/blas.py), 5-10x faster on models larger than the fixture. Install it when we can.
blas:
	@[ "$$(uname -s)" != Linux ] || [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libopenblas.so.0 ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null; } \
	      || echo "note: OpenBLAS could not be installed; the server runs MLX on its reference BLAS"; \
	  else echo "note: OpenBLAS is not installed; the server runs MLX on its reference BLAS (slower, still correct)"; fi; }

test: venv browser blas
	$(PY) -m pytest tests suites -q

audit: venv blas
	$(VENV)/bin/auditor audit

model: venv
	$(PY) -m server.fixture.train

# The benchmark-size random-weight model (.cache/bench-model); its size was picked by
# `$(PY) bench/make_bench_model.py --measure` (README, "Benchmarks").
bench-model: venv
	$(PY) bench/make_bench_model.py

# Our server against stock mlx_lm.server, same model and prompts, 64 and 128 clients (about 5 minutes).
bench: bench-model blas
	$(PY) bench/compare.py

clean:
	rm -rf $(VENV) reports/*.json reports/*.html reports/*.md reports/*.sarif reports/*.jsonl
