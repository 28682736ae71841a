# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HYDRA_FULL_ERROR ?= 1
export TOKENIZERS_PARALLELISM ?= false
# The embedded targets never wait on the network for models or datasets; the paper targets may
# use the hub (set HF_HUB_OFFLINE=1 yourself to forbid it).
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: install demo test test-unit test-all quality format

install: $(STAMP)

# The pinned lock, then the project itself in editable mode (the `rlselect` command; no PYTHONPATH).
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The offline embedded pipeline on CPU: warm-start the tiny model, then for each selector and seed
# rollouts -> selection -> TRL GRPO -> lm-eval evaluation, then the summary table.
demo: install
	$(OFFLINE) $(VENV)/bin/rlselect -m experiment=demo
	$(OFFLINE) $(PY) -m rlselect.report study=demo

# CPU tests: unit tests (tests/unit, seconds each) then integration tests (tests/integration:
# pipeline runs, subprocess kills). The `slow` and `gpu` markers are excluded; `make test-all`
# runs the slow ones too. The unit tests run in TEST_WORKERS pytest-xdist processes (0: in
# pytest's own); the integration tests one at a time, as their kills and timeouts were written for.
TEST_WORKERS ?= 2
test: install
	$(OFFLINE) $(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow and not gpu" tests/unit
	$(OFFLINE) $(PY) -m pytest -q -m "not slow and not gpu" tests/integration

test-unit: install
	$(OFFLINE) $(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow and not gpu" tests/unit

test-all: install
	$(OFFLINE) $(PY) -m pytest -q -m "not gpu" tests

# Lint, format check and types (CI runs this before the tests); `make format` fixes what it can.
quality: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy src/rlselect/selectors src/rlselect/grads src/rlselect/selection.py

format: install
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

# LearnAlign's GSM8K table on a GPU machine (Qwen2.5-1.5B-Instruct). DRY_RUN=1 prints the plan.
.PHONY: reproduce-gsm8k
reproduce-gsm8k: install
ifeq ($(DRY_RUN),1)
	$(PY) -m rlselect.plan experiment=reproduce_gsm8k $(ARGS)
	$(PY) -m rlselect.plan experiment=reproduce_gsm8k selector=full hydra.sweeper.params.selector=full hydra.sweeper.params.budget=7473 $(ARGS)
else
	$(PY) -m rlselect.plan --check-gpu experiment=reproduce_gsm8k $(ARGS)
	$(VENV)/bin/rlselect experiment=reproduce_gsm8k $(ARGS)
	$(VENV)/bin/rlselect experiment=reproduce_gsm8k hydra.sweeper.params.selector=full hydra.sweeper.params.budget=7473 $(ARGS)
	$(PY) -m rlselect.report study=reproduce_gsm8k
endif

# Hydra multirun over the baselines x budgets x seeds (SELECTORS, BUDGETS, SEEDS, ARGS to change;
# ARGS="hydra/launcher=slurm hydra.launcher.partition=gpu" sends each run to Slurm; conf/hydra/launcher/slurm.yaml).
SELECTORS ?= random,accuracy_band,pass_filter,acc_greedy,token_length,ppl_top,ifd,grad_norm,learnalign
BUDGETS ?= 32,64
SEEDS ?= 0,1,2
ARGS ?=
.PHONY: sweep-baselines
sweep-baselines: install
	$(VENV)/bin/rlselect -m study=sweep_baselines selector=$(SELECTORS) budget=$(BUDGETS) seed=$(SEEDS) $(ARGS)
	$(PY) -m rlselect.report study=sweep_baselines

# LearnAlign's budget study on the digits testbed, demo_budget's whole layout (5 seeds, 4 budgets; ~2.5 h on
# 2 CPU cores): the preset's sweep, then `full` once per seed and the ablations w/o V and w/o warm-up.
TESTBED_BUDGET := $(OFFLINE) $(VENV)/bin/rlselect -m experiment=testbed_budget logger=none
.PHONY: testbed-budget
testbed-budget: install
	$(TESTBED_BUDGET) $(ARGS)
	$(TESTBED_BUDGET) hydra.sweeper.params.selector=full hydra.sweeper.params.budget=256 $(ARGS)
	$(TESTBED_BUDGET) selector=learnalign selector.params.use_variance=false variant=no_v hydra.sweeper.params.selector=learnalign $(ARGS)
	$(TESTBED_BUDGET) selector=learnalign selector.warmup.enabled=false variant=no_warmup hydra.sweeper.params.selector=learnalign $(ARGS)
	$(OFFLINE) $(PY) -m rlselect.report study=testbed_budget

# Paper-layout tables (Markdown + LaTeX) and figures for every study under results/.
.PHONY: tables
tables: install
	$(OFFLINE) $(PY) -m rlselect.report all

# Benchmarks (a few minutes on CPU): per-prompt gradient features vs the per-prompt loop and the
# floor of one plain forward+backward, rollout throughput, selection overhead vs GRPO training,
# peak memory -> results/bench/*.json and results/bench/README.md. BENCH_ARGS=--quick for seconds.
BENCH_ARGS ?=
.PHONY: bench
bench: install
	$(OFFLINE) $(PY) -m rlselect.bench $(BENCH_ARGS)

# Premise diagnostics of a testbed (does gradient alignment mean anything there?): zero-variance
# shares, within/across-class gradient cosines, leave-one-out oracle AUC, validation coherence and
# top-10 energy at the preset's model -> results/testbed/<testbed>.{json,md}. ARGS replaces the
# default (the embedded noisy-reward testbed), e.g. ARGS="experiment=demo_noisy diagnose.testbed=arith diagnose.G=32".
DIAGNOSE_DEFAULT := experiment=demo_noisy diagnose.testbed=arith
.PHONY: diagnose
diagnose: install
	$(OFFLINE) $(PY) -m rlselect.diagnose $(or $(ARGS),$(DIAGNOSE_DEFAULT))

# Pure-Python wheels for a bare CUDA machine that has torch, transformers, accelerate and peft but no
# package index (trl, hydra, math-verify, lm-eval and what they import, this project) -> .wheels/,
# at most 64 MiB; `python -m rlselect.gpu_wheels --list` says what is in and what is left out, and why.
.PHONY: gpu-wheels
gpu-wheels: install
	$(PY) -m rlselect.gpu_wheels --download .wheels

# Every preset in conf/experiment/ end to end on CPU, shrunk (random tiny model, 16 prompts, 2 GRPO
# steps, 5-problem evaluation; see src/rlselect/smoke.py) -> results/smoke/presets.{json,md}.
# SMOKE_ARGS=--every-selector runs each preset's whole sweep.
SMOKE_ARGS ?=
.PHONY: smoke-presets
smoke-presets: install
	$(OFFLINE) $(PY) -m rlselect.smoke --out results/smoke $(SMOKE_ARGS)

# Every GPU stage once on one CUDA device, offline (random 1.5B-shaped model in bf16, 16 GSM8K prompts,
# rollouts, streaming + projected features, 3 GRPO steps, lm-eval on 10 problems) -> results/gpu/smoke.json.
# On a bare CUDA machine with torch + transformers: `make gpu-wheels` here, then see docs/gpu.md.
.PHONY: gpu-smoke
gpu-smoke: install
	$(OFFLINE) $(PY) -m rlselect.gpu_smoke --out results/gpu/smoke.json
