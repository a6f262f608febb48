# Two commands matter on a fresh machine: `make audit` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv browser test audit model bench-model bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The HTML report is tested in real Chromium (Debian's package); install it when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is not installed; the browser test will report it"; fi; }

test: venv browser
	$(PY) -m pytest tests suites -q

audit: venv
	$(VENV)/bin/auditor audit

model: venv
	$(PY) -m server.fixture.train

# The benchmark-size random-weight model (.cache/bench-model); its size was picked by
# `$(PY) bench/make_bench_model.py --measure` (README, "Benchmarks").
bench-model: venv
	$(PY) bench/make_bench_model.py

# Our server against stock mlx_lm.server, same model and prompts, 64 and 128 clients (about 5 minutes).
bench: bench-model
	$(PY) bench/compare.py

clean:
	rm -rf $(VENV) reports/*.json reports/*.html reports/*.md reports/*.sarif reports/*.jsonl
