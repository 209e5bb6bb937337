# Two front doors: `make run` (the app) and `make test` (the whole suite). Each sets itself up.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501
# Telemetry off, always (Chroma reads ANONYMIZED_TELEMETRY; Streamlit the flag below).
export ANONYMIZED_TELEMETRY := False
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false
export HF_HUB_OFFLINE := 1

.PHONY: run test venv deps dev-deps bench-deps system-deps index lint clean

$(BIN)/python:
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "需要 Python 3.11 或更新版本（当前：$(PY)）"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deps: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev-deps: requirements-dev.txt $(VENV)/.deps
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

$(VENV)/.bench-deps: requirements-bench.txt $(VENV)/.deps
	$(BIN)/pip install -q -r requirements-bench.txt
	@touch $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps
# The LangChain baseline of bench/retrieval.py; the app itself never needs it.
bench-deps: $(VENV)/.bench-deps

# The browser test needs Chromium and CJK fonts; install them when we are root and they are missing.
system-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium, chromium-driver, fonts-noto-cjk"; \
	  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; } \
	    || echo "注意：Chromium 安装失败，浏览器测试将跳过"; \
	else echo "注意：未找到 /usr/bin/chromium，浏览器测试将跳过"; fi

index: deps
	$(BIN)/shuzhi index

run: deps
	@$(BIN)/shuzhi index --if-missing
	$(BIN)/streamlit run app.py --server.address=$(HOST) --server.port=$(PORT) \
	  --server.headless=true --browser.gatherUsageStats=false

lint: dev-deps
	$(BIN)/ruff check src ui tests app.py bench
	$(BIN)/mypy src ui app.py
	$(BIN)/mypy --strict src/shuzhi/api.py src/shuzhi/workspace.py

test: dev-deps system-deps lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
