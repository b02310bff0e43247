# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make run    set up, quantize a bundled sample photo, write out/, print what it did
#   make test   set up and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,cli,plot]"
	touch $(STAMP)

run: $(STAMP)
	mkdir -p out
	$(BIN)/skquant sample:china.jpg -k 16 -o out/china_k16.png --overwrite --stats

test: $(STAMP)
	$(BIN)/ruff check skquant tests benchmarks examples
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[benchmark]"
	$(BIN)/python benchmarks/bench_speed.py

docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs,dask]"
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) out build *.egg-info docs/_build docs/auto_examples docs/generated docs/sg_execution_times.rst
