# The template's own tasks. Everything installs what it needs: uv comes from pip when missing.
SHELL := /bin/bash
PYTHON ?= python3
BACKEND ?= json
DEMO_DIR ?= build/demo
PORT ?= 8501
export UV_PYTHON_DOWNLOADS ?= never

# `uv` on PATH, else the one pip installs as a module.
UV := $(shell command -v uv >/dev/null 2>&1 && echo uv || echo "$(PYTHON) -m uv")

.PHONY: help bootstrap demo test bench lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

bootstrap:  ## install uv (when missing) and the template's dev tools
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --quiet

demo: bootstrap  ## render with default answers into build/demo and start it (BACKEND=json|sqlite|redis|postgres)
	@$(UV) run --no-sync python tools/demo.py --backend $(BACKEND) --dest $(DEMO_DIR)
	cd $(DEMO_DIR) && $(UV) sync --all-packages --quiet && \
		$(UV) run --no-sync streamlit run apps/main/app.py --server.port $(PORT)

test: bootstrap  ## render every combination of answers and run each project's checks
	$(UV) run --no-sync pytest -n auto --dist loadgroup tests

bench: bootstrap  ## render each backend and print its persistence benchmark
	$(UV) run --no-sync python tools/bench_all.py

lint: bootstrap  ## lint the template's own tooling (generated code is linted in `make test`)
	$(UV) run --no-sync ruff check tests tools
	$(UV) run --no-sync ruff format --check tests tools

clean:  ## remove renders and caches
	rm -rf build .pytest_cache
