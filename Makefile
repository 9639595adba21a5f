# One install, one test command. Everything goes into .venv, from the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The versions the demo's figures and the test suite were last checked with (Linux, CPython
# 3.11; on another Python the newest versions setup.cfg allows). `make install CONSTRAINTS=`
# takes the newest versions there too; `make constraints` rewrites the file from .venv.
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
CONSTRAINTS ?= $(if $(filter 3.11,$(PYTHON_VERSION)),constraints.txt)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install constraints lint test test-python test-jax test-android-core demo clean

# --no-compile: Python compiles a module's bytecode when it is first imported; compiling
# every file of TensorFlow, JAX and the rest at install time took ~30 s more than that
# (BENCHMARKS.md, "`make demo`'s time").
$(STAMP): setup.cfg pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) \
		-e '.[dev,export,jax]'
	touch $@

install: $(STAMP)

constraints: install
	{ echo '# Tested versions for `make install` (pip constraints; regenerate with `make constraints`).'; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# TensorFlow backend: every test. JAX backend: the layer, loss and model tests again.
test-python: install
	KERAS_BACKEND=tensorflow $(BIN)/pytest -q -p no:cacheprovider
test-jax: install
	KERAS_BACKEND=jax $(BIN)/pytest -q -p no:cacheprovider -m multibackend \
		tests/layers tests/losses tests/models

# The Android demo's plain-Java core, on the JVM, against golden files written by hckeras.
test-android-core: install
	android_demo/core/run_tests.sh

test: lint test-python test-jax test-android-core

# The quick start's first command: synthetic data, two models, evaluation, report.
demo: install
	$(BIN)/hckeras ablate --suite demo --out runs/demo --export fp32,qat
	@echo "report: runs/demo/report.md"

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info android_demo/core/build
