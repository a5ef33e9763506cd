# membot: `make run` sets everything up and starts the bot; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run chat test lint bench clean

$(STAMP): pyproject.toml scripts/setup.sh
	PYTHON=$(PYTHON) VENV=$(VENV) ./scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

# Starts every platform whose token is set (Discord, Slack); with none, the terminal chat.
run: $(STAMP)
	$(BIN)/membot run

chat: $(STAMP)
	$(BIN)/membot chat

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check agent_core adapters bot tests
	$(BIN)/mypy agent_core

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
