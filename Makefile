# Retail Workbench: `make demo` runs the main job, `make test` the whole suite.
# Both create and use the virtual environment at .venv (Python 3.11).

PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: demo test setup system-deps clean-data

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[spark,test]"
	touch $(STAMP)

setup: $(STAMP)

# Debian programs the tests drive for real (Java for Spark).
system-deps:
	@./.ci/system-deps

demo: $(STAMP)
	$(VENV)/bin/wb demo
	$(VENV)/bin/wb serve

test: $(STAMP) system-deps
	$(VENV)/bin/python -m pytest

clean-data:
	rm -rf data/warehouse.duckdb data/spark data/audit
