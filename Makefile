# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make run    set up, quantize a bundled sample photo, write out/, print what it did
#   make test   set up, lint and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINTED := skquant tests benchmarks examples

.PHONY: run test lint bench docs clean clean-cache

# reinstalled when the dependencies or the version change (the installed
# metadata carries the version)
$(STAMP): pyproject.toml skquant/_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,cli,plot]"
	touch $(STAMP)

run: $(STAMP)
	mkdir -p out
	$(BIN)/skquant sample:china.jpg -k 16 -o out/china_k16.png --overwrite --stats

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

# the suite on up to 4 worker processes (pytest-xdist): most of its time is
# the first compile of each kernel, one core each
test: lint
	$(BIN)/python -m pytest -n auto --maxprocesses 4

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[benchmark]"
	$(BIN)/python benchmarks/bench_speed.py

docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs,dask]"
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# numba's on-disk cache (*.nbi index, *.nbc code) can keep stale compiled
# code when a kernel's dependency in another file changes: remove it
clean-cache:
	find skquant -name '*.nbi' -delete
	find skquant -name '*.nbc' -delete
	find skquant -name __pycache__ -type d -prune -exec rm -rf {} +

clean: clean-cache
	rm -rf $(VENV) out build *.egg-info docs/_build docs/auto_examples docs/generated docs/sg_execution_times.rst
