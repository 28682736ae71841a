"""Every config composes: each option of each group, every experiment preset, the Slurm launchers."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rlselect.cli import CONF_DIR

GROUPS = ["model", "data", "selector", "schedule", "rollouts", "features", "trainer", "eval", "logger"]
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((Path(CONF_DIR) / g).glob("*.yaml"))]
EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


def _compose(*overrides: str, hydra_cfg: bool = False):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra_cfg)


@pytest.mark.parametrize("group, option", OPTIONS)
def test_every_group_option_composes(group, option):
    cfg = _compose(f"{group}={option}")
    assert cfg[group] is not None


@functools.cache
def _preset_runs(name: str):
    """A preset's composition (with its hydra node) and every run of its sweep with the config that
    run gets, through rlselect.plan.run_configs (tested against Hydra's own composition of each run
    in test_plan_runs.py); composed once for this file's tests, and read-only so none can change
    what another sees."""
    from rlselect.plan import run_configs

    root = _compose(f"experiment={name}", hydra_cfg=True)
    runs = list(run_configs(root, [f"experiment={name}"]))
    for cfg in (root, *(cfg for _, cfg in runs)):
        OmegaConf.set_readonly(cfg, True)
    return root, runs


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_run_of_every_preset_composes_and_passes_the_early_config_checks(name, monkeypatch, hub_online):
    """pipeline.validate runs check_config before any stage: no run of any preset may trip it (its
    counts, enumerated keys, trainer.args field names and eval group are what the stages accept). The
    GPU presets' CUDA settings are refused on this CPU machine (test_gpu_settings_are_refused_without_cuda)."""
    from rlselect import config_checks
    from rlselect.config_checks import check_config
    from rlselect.selectors import get_selector

    monkeypatch.setattr(config_checks, "check_accelerator", lambda cfg: None)  # tested below

    root, runs = _preset_runs(name)
    assert root.study == name
    assert runs and all("selector" in run for run, _ in runs)
    for run, cfg in runs:
        assert cfg.seed == int(run.get("seed", cfg.seed)) and cfg.study == name
        check_config(cfg)
        get_selector(cfg.selector.name).check_params(dict(cfg.selector.get("params") or {}))


def test_gpu_settings_are_refused_without_cuda_before_any_stage(monkeypatch):
    """A paper preset on a machine without CUDA (a laptop, a login node) failed in the stage that read
    each setting: the trainer's bf16 after the rollouts, the evaluation's device after training."""
    import torch

    from rlselect.config_checks import check_accelerator, cuda_settings

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"eval.device=cuda, rollouts.backend=vllm, trainer.args.bf16=true, .*no"):
        check_accelerator(_compose("experiment=reproduce_gsm8k"))
    with pytest.raises(ValueError, match=r"^eval.device=cuda: these settings need a CUDA device"):
        check_accelerator(_compose("experiment=demo", "eval=gsm8k_greedy"))
    for cpu_run in (("experiment=demo",), ("experiment=demo", "eval=gsm8k_greedy", "selection_only=true")):
        check_accelerator(_compose(*cpu_run))  # nothing to refuse (a selection study never evaluates)
    bf16_on_cpu = _compose("experiment=demo", "trainer.args.bf16=true", "trainer.args.use_cpu=true")
    assert cuda_settings(bf16_on_cpu) == []  # TrainingArguments' own CPU bf16
    if importlib.util.find_spec("vllm") is None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        with pytest.raises(
            ValueError, match=r"rollouts.backend=vllm, trainer.args.use_vllm=true: vLLM is not installed"
        ):
            check_accelerator(_compose("experiment=reproduce_gsm8k"))


def test_an_offline_evaluation_from_the_hub_is_refused_before_any_stage(monkeypatch, tmp_path):
    """HF_HUB_OFFLINE and a benchmark without its folder under eval.data_dir: the run trained, then
    failed in the evaluation (the hub fallback); check_config refuses it, naming the folder."""
    from rlselect.config_checks import check_config

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    gsm8k = ("experiment=demo", "eval=gsm8k_greedy", "eval.device=cpu")
    with pytest.raises(ValueError, match=r"^eval: gsm8k: no data_dir is set and the dataset hub is offline"):
        check_config(_compose(*gsm8k))
    with pytest.raises(ValueError, match=rf"^eval: gsm8k: there is no folder {tmp_path}/gsm8k and the dataset hub"):
        check_config(_compose(*gsm8k, f"eval.data_dir={tmp_path}"))
    (tmp_path / "gsm8k").mkdir()
    check_config(_compose(*gsm8k, f"eval.data_dir={tmp_path}"))
    (tmp_path / "gsm8k" / "test.jsonl").touch()  # data.path takes this folder; eval.data_dir the one above
    with pytest.raises(ValueError, match=rf"\({tmp_path}/gsm8k holds test.jsonl itself: give the folder above it, "):
        check_config(_compose(*gsm8k, f"eval.data_dir={tmp_path}/gsm8k"))
    check_config(_compose("experiment=demo"))  # arith is generated in code
    check_config(_compose(*gsm8k, "selection_only=true"))  # a selection study never evaluates
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "true")
    with pytest.raises(ValueError, match="no data_dir is set"):
        check_config(_compose(*gsm8k))
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    check_config(_compose(*gsm8k))  # online: the hub


@pytest.mark.parametrize("option", sorted(p.stem for p in (Path(CONF_DIR) / "selector").glob("*.yaml")))
def test_every_selector_yaml_names_only_params_its_selector_takes(option):
    from rlselect.selectors import get_selector

    cfg = _compose(f"selector={option}")
    selector = get_selector(cfg.selector.name)
    selector.check_params(dict(cfg.selector.get("params") or {}))
    with pytest.raises(ValueError, match=rf"selector.params.no_such_key: selector {cfg.selector.name} takes"):
        selector.check_params({**(cfg.selector.get("params") or {}), "no_such_key": 1})


@pytest.mark.parametrize("launcher", ["submitit_slurm", "slurm"])
def test_slurm_launcher_composes(launcher):
    cfg = _compose(f"hydra/launcher={launcher}", "experiment=reproduce_gsm8k", hydra_cfg=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")


def test_expected_presets_exist():
    for name in [
        "demo",
        "demo_noisy",
        "demo_budget",
        "reproduce_gsm8k",
        "reproduce_dapo",
        "gradalign_noisy",
        "gradalign_imbalance",
        "gradalign_low_utility",
        "demo_imbalance",
        "demo_low_utility",
    ]:
        assert name in EXPERIMENTS


def test_reproduce_plan_lists_every_run_and_the_paper_setting():
    from rlselect.plan import describe

    text = describe(["experiment=reproduce_gsm8k"])
    assert "60 runs" in text and "Qwen/Qwen2.5-1.5B-Instruct" in text
    for budget in (100, 500, 1000, 2000):
        assert f"budget={budget}" in text
    assert "lr 1e-06" in text and "beta 0.04" in text


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=demo", "selector=random"],  # a swept key set on the command line: not swept
        ["experiment=reproduce_gsm8k", "seed=0,1", "budget=100"],  # the command line's own sweep
        ["experiment=reproduce_gsm8k", "selector=full", "hydra.sweeper.params.budget=7473"],  # the Makefile's
    ],
)
def test_the_plan_lists_the_runs_hydras_sweeper_launches(overrides):
    """Checked against Hydra's BasicSweeper itself: the preset's sweep params, then the command line."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rlselect.plan import split_overrides, sweep_runs

    cfg = _compose(*split_overrides(overrides)[0].values(), hydra_cfg=True)
    params = [f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()]
    (batch,) = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(params + overrides), None)
    runs = sweep_runs(cfg, overrides)
    keys = set(runs[0])
    hydra_runs = sorted(sorted(tuple(o.split("=", 1)) for o in job if o.split("=", 1)[0] in keys) for job in batch)
    assert len(runs) == len(batch) and sorted(sorted(run.items()) for run in runs) == hydra_runs


def test_the_plan_follows_command_line_overrides():
    from rlselect.plan import describe

    text = describe(["experiment=demo", "selector=random"])
    assert "2 runs" in text and "selector=full" not in text
    text = describe(["experiment=demo", "seed=3,4", "budget=32"])  # the command line's own sweep
    assert "4 runs" in text and "seed=0" not in text and "seed=4" in text and "budget=32" in text


def test_the_plan_runs_the_early_config_checks_of_every_run(capsys):
    """A typo is reported by the dry run and stops `make reproduce-gsm8k` before its sweep starts (or
    is submitted to Slurm), not in each run on the GPU machine."""
    from rlselect.plan import describe, main

    assert describe(["experiment=demo", "selector=random"]).endswith(
        "config checks: 0 of 2 runs would stop before any stage"
    )
    text = describe(["experiment=demo", "selector=random,learnalign", "seed=0", "trainer.budget_mode=epochs"])
    assert "config checks: 2 of 2 runs would stop" in text
    assert "! selector=learnalign: trainer.budget_mode='epochs'; available: equal_steps" in text  # swept keys
    assert main(["--check-gpu", "experiment=demo", "selector=random", "rollouts.backend=vlm"]) == 4
    assert "! seed=1: rollouts.backend='vlm'; available: hf, vllm" in capsys.readouterr().err


def test_gpu_check_explains_and_fails_without_cuda(capsys, monkeypatch):
    import torch

    import rlselect.plan
    from rlselect.plan import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["--check-gpu", "experiment=reproduce_gsm8k", "seed=0,1"]) == 3  # a sweep on the command line too
    monkeypatch.setattr(rlselect.plan, "config_problems", lambda overrides: [])  # checked just above
    assert main(["--check-gpu", "experiment=reproduce_gsm8k"]) != 0
    err = capsys.readouterr().err
    assert "No CUDA GPU" in err and "make demo" in err


# --- fidelity of the paper presets (tables in experiments/gradalign_regimes.md,
# experiments/learnalign_gsm8k_budget.md, experiments/learnalign_dapo.md) ---

GRADALIGN_PRESETS = ["gradalign_noisy", "gradalign_imbalance", "gradalign_low_utility"]
GRADALIGN_SWEEP = {
    "plain_grpo",
    "random",
    "accuracy_band",
    "acc_greedy",
    "gradalign",
    "gradalign_dot",
    "gradalign_align",
}


def _prompts_per_step(args) -> float:
    return args.per_device_train_batch_size * args.gradient_accumulation_steps / args.num_generations


def _grpo_config(args):
    """trl.GRPOConfig built from trainer.args as train_grpo builds it (CPU, no vLLM)."""
    from trl import GRPOConfig

    kwargs = OmegaConf.to_container(args, resolve=True)
    kwargs.update(output_dir="unused", max_steps=1, bf16=False, use_cpu=True, use_vllm=False)
    return GRPOConfig(**kwargs)


@pytest.mark.parametrize("name", GRADALIGN_PRESETS)
def test_gradalign_presets_use_gradaligns_code_values(name):
    cfg = _compose(f"experiment={name}")
    s = cfg.schedule
    # README.md:134-141 of github.com/StigLidu/GradAlign
    assert (s.name, s.chunk_size, s.steps_per_round, s.rounds, s.k_r, s.k_v) == ("rounds", 5120, 10, 100, 128, 16)
    assert int(s.keep_fraction * s.chunk_size) == 5120 // 20
    # scoring sampler: dynamic_selection.py:182, inference_ray_batch.py:172, README.md:143
    r = cfg.rollouts
    assert (r.temperature, r.top_p, r.max_new_tokens, r.backend) == (0.7, 0.95, 3072, "vllm")
    assert cfg.model.name == "Qwen/Qwen2.5-Math-1.5B-Instruct"
    # full parameters, no LoRA, no projection, token mean (grpo_grad_analyze_parallel.py, grpo_loss.py)
    f = cfg.features
    assert (f.params, f.projection.dim, f.token_agg, f.mode) == ("all", None, "token_mean", "streaming")
    a = cfg.trainer.args
    assert (a.learning_rate, a.lr_scheduler_type, a.weight_decay, a.max_grad_norm) == (1e-6, "constant", 0.01, 1.0)
    assert (a.beta, a.epsilon, a.epsilon_high, a.delta) == (0.001, 0.2, 0.3, 3.0)
    assert (a.num_generations, a.temperature, a.top_p, a.max_completion_length) == (32, 1.0, 1.0, 3072)
    assert (a.loss_type, a.scale_rewards) == ("dapo", "group")
    assert _prompts_per_step(a) == 128
    assert a.vllm_importance_sampling_correction is False
    assert cfg.trainer.max_steps == s.steps_per_round * s.rounds  # the plain-GRPO run's length
    assert cfg.eval.max_gen_toks == a.max_completion_length


@pytest.mark.parametrize("name", GRADALIGN_PRESETS)
def test_gradalign_sweeps_hold_plain_grpo_dot_and_align_runs(name):
    from rlselect.plan import sweep_runs

    cfg = _compose(f"experiment={name}", hydra_cfg=True)
    selectors = {r["selector"] for r in sweep_runs(cfg)}
    assert selectors == GRADALIGN_SWEEP
    runs, dirs = {}, set()
    for sel in selectors:
        run = _compose(f"experiment={name}", f"selector={sel}", "seed=0", hydra_cfg=True)
        runs[sel] = (run.selector.name, dict(run.selector.params), run.schedule.name, run.variant)
        dirs.add(run.hydra.sweep.subdir)
    assert runs["plain_grpo"] == ("full", {}, "static", "")
    assert runs["random"][2:] == ("rounds", "")
    assert runs["gradalign"] == ("gradalign", {"mode": "cosine"}, "rounds", "")
    assert runs["gradalign_dot"] == ("gradalign", {"mode": "dot"}, "rounds", "dot")
    assert runs["gradalign_align"][0::2] == ("gradalign_align", "rounds")
    assert len(dirs) == len(selectors)  # no two sweep entries share a run folder


def _paper_model(preset: str) -> bool:
    """Whether the preset's defaults pick a real checkpoint (conf/model/qwen*), directly or through
    the preset it extends; read from the files, without composing."""
    for entry in OmegaConf.load(Path(CONF_DIR) / "experiment" / f"{preset}.yaml").get("defaults", []):
        if isinstance(entry, str) and entry in EXPERIMENTS and _paper_model(entry):
            return True
        if not isinstance(entry, str) and str(entry.get("override /model", "")).startswith("qwen"):
            return True
    return False


@pytest.mark.parametrize("name", [e for e in EXPERIMENTS if _paper_model(e)])
def test_paper_presets_never_store_exact_full_model_features(name):
    """Stored exact features are [n, P]: 6 GB per prompt at 1.5B. Every selector of a paper preset's
    sweep that reads gradients gets them streamed (a selector that streams) or projected."""
    from rlselect.selection import STREAMING_SELECTORS, feature_mode
    from rlselect.selectors import get_selector

    for run, cfg in _preset_runs(name)[1]:
        sel = run["selector"]
        if get_selector(cfg.selector.name).needs & {"features", "val_features"}:
            mode = feature_mode(dict(cfg.features))
            assert mode in ("streaming", "projected"), (name, sel, mode)
            assert mode == "projected" or cfg.selector.name in STREAMING_SELECTORS, (name, sel)


def test_gradalign_trainer_args_build_one_update_per_128_prompt_step():
    """The rounds schedule plans one optimizer step per generation batch (the named departure from
    GradAlign's 4 PPO mini-batches): the generation batch must be exactly one step of 128 prompts."""
    cfg = _compose("experiment=gradalign_noisy")
    grpo = _grpo_config(cfg.trainer.args)
    assert grpo.steps_per_generation == grpo.gradient_accumulation_steps
    assert grpo.generation_batch_size == 128 * grpo.num_generations
    assert grpo.vllm_importance_sampling_correction is False and grpo.weight_decay == 0.01


def test_reproduce_gsm8k_matches_learnalign_paper():
    cfg = _compose("experiment=reproduce_gsm8k", "selector=learnalign")
    assert cfg.model.name == "Qwen/Qwen2.5-1.5B-Instruct" and cfg.data.name == "gsm8k"
    a = cfg.trainer.args
    assert (a.learning_rate, a.beta, a.epsilon, a.num_generations, a.temperature) == (1e-6, 0.04, 0.2, 8, 1.0)
    assert "epsilon_high" not in a and "delta" not in a
    assert 48 <= _prompts_per_step(a) <= 64 and cfg.trainer.budget_mode == "equal_epochs"
    # not in the paper, our choices (experiments/learnalign_gsm8k_budget.md)
    assert (a.top_p, a.weight_decay, a.loss_type, a.max_completion_length, cfg.trainer.epochs) == (
        1.0,
        0.0,
        "grpo",
        1024,
        3.0,
    )
    assert a.vllm_importance_sampling_correction is False
    r = cfg.rollouts
    assert (r.G, r.temperature, r.top_p, r.max_new_tokens) == (8, 1.0, 1.0, 1024)
    w = cfg.selector.warmup
    assert (w.enabled, w.size, w.steps) == (True, 300, 20)
    assert cfg.selector.params.use_variance and cfg.selector.params.normalize
    f = cfg.features
    assert (f.params, f.projection.dim, f.rollouts_for_grad) == ("all", 8192, "all")
    grpo = _grpo_config(a)
    assert grpo.vllm_importance_sampling_correction is False
    assert grpo.generation_batch_size == 64 * 8 and grpo.steps_per_generation == grpo.gradient_accumulation_steps


def test_reproduce_dapo_lengths_and_memory_plan():
    cfg = _compose("experiment=reproduce_dapo", "selector=learnalign")
    assert cfg.model.name == "Qwen/Qwen2.5-7B" and cfg.budget == 1000
    a = cfg.trainer.args
    assert (a.learning_rate, a.beta, a.epsilon, a.num_generations, a.temperature) == (1e-6, 0.04, 0.2, 8, 1.0)
    assert _prompts_per_step(a) == 64 and a.per_device_train_batch_size == 8
    assert a.max_completion_length == cfg.rollouts.max_new_tokens == 4096
    assert (cfg.rollouts.G, cfg.rollouts.temperature) == (8, 1.0)
    assert a.model_init_kwargs.dtype == "bfloat16"  # the reference model only
    assert a.vllm_importance_sampling_correction is False
    assert (cfg.selector.warmup.size, cfg.features.rollouts_for_grad) == (1000, "one_correct")
    assert (cfg.features.params, cfg.features.projection.dim) == ("lora", 8192)
    assert _grpo_config(a).generation_batch_size == 64 * 8


def test_schedule_rounds_cites_gradaligns_k_values():
    text = (Path(CONF_DIR) / "schedule" / "rounds.yaml").read_text()
    assert "README.md:140-141" in text and "dynamic_selection.py:178-179" in text


def test_fidelity_pages_hold_the_settings_table():
    pages_dir = Path(__file__).resolve().parents[2] / "experiments"
    pages = [p for pattern in ("gradalign*.md", "*gsm8k*.md", "*dapo*.md") for p in sorted(pages_dir.glob(pattern))]
    assert pages
    for page in pages:
        assert "| setting | paper or code | preset | source |" in page.read_text(), page.name
