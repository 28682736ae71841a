# Two commands do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)/src
export HYDRA_FULL_ERROR ?= 1
# No hub on offline machines: never wait on the network for models or datasets.
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test test-all

install: $(STAMP)

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $(STAMP)

# The offline embedded pipeline on CPU: warm-start the tiny model, then for each selector and seed
# rollouts -> selection -> TRL GRPO -> lm-eval evaluation, then the summary table.
demo: install
	$(PY) -m rlselect.cli -m experiment=demo
	$(PY) -m rlselect.report study=demo

# Fast CPU tests (the `slow` and `gpu` markers are excluded; `make test-all` runs slow ones too).
test: install
	$(PY) -m pytest -q -m "not slow and not gpu" tests

test-all: install
	$(PY) -m pytest -q -m "not gpu" tests

# LearnAlign's GSM8K table on a GPU machine (Qwen2.5-1.5B-Instruct). DRY_RUN=1 prints the plan.
.PHONY: reproduce-gsm8k
reproduce-gsm8k: install
ifeq ($(DRY_RUN),1)
	$(PY) -m rlselect.plan experiment=reproduce_gsm8k
	$(PY) -m rlselect.plan experiment=reproduce_gsm8k selector=full hydra.sweeper.params.selector=full hydra.sweeper.params.budget=7473
else
	$(PY) -m rlselect.plan --check-gpu experiment=reproduce_gsm8k
	$(PY) -m rlselect.cli experiment=reproduce_gsm8k
	$(PY) -m rlselect.cli experiment=reproduce_gsm8k hydra.sweeper.params.selector=full hydra.sweeper.params.budget=7473
	$(PY) -m rlselect.report study=reproduce_gsm8k
endif

# Hydra multirun over the baselines x budgets x seeds (SELECTORS, BUDGETS, SEEDS, ARGS to change;
# ARGS=hydra/launcher=submitit_slurm sends each run to Slurm).
SELECTORS ?= random,accuracy_band,pass_filter,acc_greedy,token_length,ppl_top,ifd,grad_norm,learnalign
BUDGETS ?= 32,64
SEEDS ?= 0,1,2
ARGS ?=
.PHONY: sweep-baselines
sweep-baselines: install
	$(PY) -m rlselect.cli -m study=sweep_baselines selector=$(SELECTORS) budget=$(BUDGETS) seed=$(SEEDS) $(ARGS)
	$(PY) -m rlselect.report study=sweep_baselines

# Paper-layout tables (Markdown + LaTeX) and figures for every study under results/.
.PHONY: tables
tables: install
	$(PY) -m rlselect.report all

# Benchmarks (a few minutes on CPU): per-prompt gradient features vs the per-prompt loop and the
# floor of one plain forward+backward, rollout throughput, selection overhead vs GRPO training,
# peak memory -> results/bench/*.json and results/bench/README.md. BENCH_ARGS=--quick for seconds.
BENCH_ARGS ?=
.PHONY: bench
bench: install
	$(PY) -m rlselect.bench $(BENCH_ARGS)
