# Two entry points: `make run` and `make test`. Both create/refresh the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLES ?= samples

.PHONY: run test lint typecheck imports bench clean sysdeps reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamps re-install only when the package definition changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,train,cluster]'
	touch $@ $(VENV)/.runtime

# The main job on the embedded defaults (SQLite store and evidence under ./data, shipped model, default site):
# scan the bundled patrol photos into cases, then serve the API and the operator UI.
run: $(VENV)/.runtime
	$(BIN)/gridwatch scan $(SAMPLES)
	$(BIN)/gridwatch serve

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# System packages the tests need: ffmpeg, GStreamer's RTSP server (test camera streams), Chromium (UI tests),
# a CJK font (synthetic flyposting). Installed with apt-get when missing and possible, otherwise named.
SYSDEPS := ffmpeg chromium chromium-driver fonts-noto-cjk fonts-wqy-microhei python3-gi \
	gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
RTSP_CHECK := /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')"
sysdeps:
	@if command -v ffmpeg >/dev/null && command -v chromium >/dev/null && fc-list :lang=zh | grep -q . \
		&& $(RTSP_CHECK) 2>/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q $(SYSDEPS) >/dev/null || (apt-get update -q && apt-get install -y -q $(SYSDEPS)); \
	else echo "install these system packages first: $(SYSDEPS)"; exit 1; fi

# The import contracts of .importlinter: the domain core, vision and the offline code stay apart (docs/architecture.md).
imports: $(VENV)/.dev
	$(BIN)/lint-imports

test: sysdeps lint typecheck imports
	$(BIN)/python -m pytest

# Fuzzing with more examples and the load benchmark (CI runs this after `make test`, which already ran the fault,
# bad-input and security tests once).
FUZZ_EXAMPLES ?= 60
reliability: sysdeps $(VENV)/.dev
	GRIDWATCH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz_api.py
	$(BIN)/python -m bench.load_bench --seconds 60

bench: $(VENV)/.dev
	$(BIN)/python -m bench.detect_bench --images ../shared/data/facades_spb/images/train --limit 150

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
