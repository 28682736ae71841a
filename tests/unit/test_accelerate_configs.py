"""conf/accelerate/*.yaml go through accelerate's own loader and launcher (up to the plugin that
the training process builds from the launcher's environment), and the 8-GPU preset's trainer args
are trl.GRPOConfig fields that keep reproduce_dapo's step: 512 completions, the same step count."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from unittest import mock

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rlselect.cli import CONF_DIR

ACCEL = Path(CONF_DIR) / "accelerate"
CONFIGS = sorted(ACCEL.glob("*.yaml"))
PRESET = "reproduce_dapo_8x80gb"


def _args(experiment: str) -> tuple[dict, dict]:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={experiment}"])
    return OmegaConf.to_container(cfg.trainer, resolve=True), OmegaConf.to_container(cfg.trainer.args, resolve=True)


def _launch(config: Path):
    """What `accelerate launch --config_file <config> -m rlselect.cli` resolves, and the env it gives each process."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args = launch_command_parser().parse_args(["--config_file", str(config), "-m", "rlselect.cli", "experiment=x"])
    args, defaults, _ = _validate_launch_command(args)
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = list(defaults.deepspeed_config)  # as launch_command sets it
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    return args, env


def test_the_two_configs_exist():
    assert [p.stem for p in CONFIGS] == ["fsdp", "zero3"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_accelerate_loads_the_config(config):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    cluster = load_config_from_file(str(config))
    assert (cluster.mixed_precision, cluster.num_processes, cluster.num_machines) == ("bf16", 8, 1)
    assert not cluster.use_cpu
    # nested keys are copied onto the launcher's arguments unchecked: each must be a launcher option
    options = {a.dest for a in launch_command_parser()._actions}
    nested = {**cluster.deepspeed_config, **cluster.fsdp_config}
    assert nested and set(nested) <= options, set(nested) - options
    text = config.read_text()
    assert f"accelerate launch --config_file conf/accelerate/{config.name} -m rlselect.cli" in text
    assert f"experiment={PRESET}" in text


def test_zero3_reaches_deepspeed_plugin_with_stage_3():
    from accelerate.utils import DeepSpeedPlugin
    from transformers.integrations import is_deepspeed_zero3_enabled, unset_hf_deepspeed_config

    args, env = _launch(ACCEL / "zero3.yaml")
    assert args.use_deepspeed and not args.use_fsdp and args.num_processes == 8
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16" and env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == "3"
    try:
        with mock.patch.dict(os.environ, env):
            plugin = DeepSpeedPlugin()
        assert plugin.zero_stage == 3 and plugin.zero3_init_flag and plugin.zero3_save_16bit_model
        assert plugin.deepspeed_config["zero_optimization"]["offload_optimizer"]["device"] == "none"
        del plugin
    finally:
        unset_hf_deepspeed_config()  # the plugin registers a global ZeRO-3 config for from_pretrained
    assert not is_deepspeed_zero3_enabled()


def test_fsdp_reaches_fsdp2_plugin_with_full_state_dict():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from torch.distributed.fsdp import StateDictType

    args, env = _launch(ACCEL / "fsdp.yaml")
    assert args.use_fsdp and not args.use_deepspeed and args.num_processes == 8
    with mock.patch.dict(os.environ, env):
        plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    # save_only_model refuses SHARDED_STATE_DICT; the preset's gradient_checkpointing refuses FSDP's own
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT
    assert plugin.activation_checkpointing is False
    assert plugin.cpu_ram_efficient_loading is True


def test_preset_args_are_grpo_config_fields_and_construct(tmp_path):
    from trl import GRPOConfig

    _, args = _args(PRESET)
    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    assert set(args) <= fields, set(args) - fields
    # the memory settings for 80 GB cards
    assert args["bf16"] and args["gradient_checkpointing"] and args["save_only_model"]
    assert args["beta"] > 0 and args["model_init_kwargs"]["dtype"] == "bfloat16"  # reference model in bf16
    assert args["use_vllm"] and args["vllm_mode"] == "colocate" and 0 < args["vllm_gpu_memory_utilization"] < 1
    assert args["vllm_max_model_length"] >= args["max_completion_length"]
    # constructs on this CPU machine (bf16 needs a GPU here)
    config = GRPOConfig(output_dir=str(tmp_path), **{**args, "use_cpu": True, "bf16": False})
    assert config.save_only_model and config.model_init_kwargs == {"dtype": "bfloat16"}
    assert config.steps_per_generation == args["gradient_accumulation_steps"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_preset_keeps_reproduce_dapos_step_over_the_processes(config):
    from accelerate.commands.config.config_args import load_config_from_file

    from rlselect.train.grpo import steps_for_budget

    processes = load_config_from_file(str(config)).num_processes
    trainer, args = _args(PRESET)
    base_trainer, base = _args("reproduce_dapo")
    per_step = args["per_device_train_batch_size"] * args["gradient_accumulation_steps"] * processes
    assert per_step == base["per_device_train_batch_size"] * base["gradient_accumulation_steps"] == 512
    # TRL: generation batch = per-device batch x processes x steps per generation, whole groups of G
    assert per_step % args["num_generations"] == 0
    # steps_for_budget counts every process's batch (WORLD_SIZE, set by the launcher): same steps as reproduce_dapo
    for n in (1000, 17398):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("WORLD_SIZE", str(processes))
            steps = steps_for_budget(n, args, trainer["budget_mode"], trainer["max_steps"], trainer["epochs"])
        base_steps = steps_for_budget(
            n, base, base_trainer["budget_mode"], base_trainer["max_steps"], base_trainer["epochs"]
        )
        assert steps == base_steps, n
