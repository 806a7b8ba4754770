# The two set-up commands are `make demo` and `make test`; both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test dev lint bench

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

demo: install
	$(BIN)/ml-connector demo

test: install
	$(BIN)/pytest -n 3 --dist loadfile

dev: install
	$(BIN)/dagster dev

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/sandbox_throughput.py
