"""The benchmarks' reusable core: time a callable (torch.utils.benchmark) with its peak memory,
the machine, the models, and the floor that every gradient path is compared with."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MB = 2**20
MEMORY_METHOD = (
    "peak_rss_mb: the process's peak RSS while a path runs (warm-up and timed calls; sampled every 10 ms), "
    "rss_delta_mb: that peak minus the RSS before it, after a garbage collection (what the path added); "
    "child processes (the verifier worker) not counted. ru_maxrss_mb: the process's lifetime high-water mark "
    "(getrusage) after each benchmark. On CUDA gpu_peak_mb/gpu_delta_mb: torch.cuda.max_memory_allocated."
)

# A smaller tiny model for `--quick` (tests): the same code paths in a fraction of the time.
QUICK_TINY = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1
)
# The shape of Qwen2.5-0.5B (494M parameters with tied embeddings), randomly initialised.
QWEN2_05B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    max_position_embeddings=4096,
    rope_theta=1_000_000.0,
    tie_word_embeddings=True,
)
MODEL_SIZES = ("tiny", "0.5b")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def header(device: str = "cpu") -> dict[str, Any]:
    """What the numbers were measured on, and the load when they started (the machine may be shared)."""
    import psutil
    import torch
    import transformers

    info = Path("/proc/cpuinfo")  # platform.processor() is often just the architecture on Linux
    names = (
        [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("model name")]
        if info.exists()
        else []
    )
    machine = {
        "cpu": names[0] if names else platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "device": device,
    }
    if device.startswith("cuda"):
        machine["gpu"] = torch.cuda.get_device_name()
    return {
        "machine": machine,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "loadavg_start": loadavg(),
    }


def footer() -> dict[str, Any]:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"loadavg_end": loadavg(), "ru_maxrss_mb": round(rss, 1), "memory_method": MEMORY_METHOD}


@contextlib.contextmanager
def peak_memory(device: str = "cpu"):
    """Yields a dict filled on exit with the block's peak RSS (see MEMORY_METHOD)."""
    import psutil
    import torch

    cuda = device.startswith("cuda")
    gc.collect()  # so the RSS before the block does not count garbage of earlier blocks
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    proc, stop, out = psutil.Process(), threading.Event(), {}
    start = proc.memory_info().rss
    peak = [start]

    def sample():
        while not stop.wait(0.01):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    gpu_start = torch.cuda.memory_allocated() if cuda else 0
    sampler.start()
    try:
        yield out
    finally:
        stop.set()
        sampler.join()
        top = max(peak[0], proc.memory_info().rss)
        out.update(peak_rss_mb=round(top / MB, 1), rss_delta_mb=round((top - start) / MB, 1))
        if cuda:
            top = torch.cuda.max_memory_allocated()
            out.update(gpu_peak_mb=round(top / MB, 1), gpu_delta_mb=round((top - gpu_start) / MB, 1))


def time_call(fn: Callable[[], Any], min_run_time: float = 0.0, device: str = "cpu") -> tuple[dict, Any]:
    """({s, times_s, cpu_s, memory}, fn's last return value): torch.utils.benchmark's
    blocked_autorange (one warm-up call, then calls until min_run_time seconds; 0: one timed call;
    it synchronises CUDA), s its median; cpu_s the median process CPU seconds (all threads) of the
    calls after the warm-up, steadier than wall time on a shared machine."""
    import torch
    from torch.utils.benchmark import Timer

    cpu, last = [], [None]

    def call():
        c0 = time.process_time()
        last[0] = fn()
        cpu.append(time.process_time() - c0)

    timer = Timer("call()", globals={"call": call}, num_threads=torch.get_num_threads())  # default: 1 thread
    with peak_memory(device) as mem:
        m = timer.blocked_autorange(min_run_time=min_run_time)
    return {"s": m.median, "times_s": m.times, "cpu_s": statistics.median(cpu[1:] or cpu), "memory": mem}, last[0]


def bench_model(model_size: str = "tiny", device: str = "cpu", quick: bool = False, seed: int = 0):
    """(model, tokenizer, description). tiny: `build_tiny` (random init, float32); 0.5b: a random
    Qwen2 of Qwen2.5-0.5B's shape in bf16 (float32 on CPU) over the character tokenizer, with the
    full 151,936-row embedding and LM head so that their cost is the real one (ids beyond the
    tokenizer are suppressed in generation)."""
    import torch

    from rlselect.models.tiny import build_tiny

    dtype = torch.float32
    if model_size == "tiny":
        model, tok = build_tiny(seed=seed, config=QUICK_TINY if quick else None)
    elif model_size == "0.5b":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        from rlselect.models.tokenizer import build_char_tokenizer

        tok = build_char_tokenizer()
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(
            Qwen2Config(
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                bos_token_id=tok.bos_token_id,
                use_cache=True,
                **QWEN2_05B,
            )
        )
        gen = model.generation_config
        gen.eos_token_id, gen.pad_token_id = tok.eos_token_id, tok.pad_token_id
        gen.suppress_tokens = list(range(len(tok), QWEN2_05B["vocab_size"]))
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    else:
        raise ValueError(f"model size {model_size!r}; available: {', '.join(MODEL_SIZES)}")
    model.to(device=device, dtype=dtype)
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size")
    desc = {
        "model": model_size,
        "params": sum(p.numel() for p in model.parameters()),
        "dtype": str(dtype).replace("torch.", ""),
        "config": {k: getattr(model.config, k) for k in keys},
        "init": f"random (seed {seed})",
    }
    return model, tok, desc


def make_inputs(model, tokenizer, *, n_prompts: int, G: int, max_new_tokens: int, seed: int = 0):
    """(prompts, completions, advantages, sizes): arith train prompts, G sampled completions each,
    synthetic advantages (seeded Bernoulli(1/2) rewards centred per group, every group mixed: the
    cost depends on the tokens, and a random model's real rewards would all be 0)."""
    import random

    from rlselect.data import load_records
    from rlselect.grads.rollout_batch import build_groups
    from rlselect.rollouts.generate import render_prompts, sample_completions

    prompts = render_prompts(tokenizer, load_records("arith", "train")[:n_prompts])
    groups = sample_completions(
        model,
        tokenizer,
        prompts,
        G=G,
        temperature=1.0,
        top_p=1.0,
        max_new_tokens=max_new_tokens,
        seed=seed,
        batch_size=64,
    )
    completions = [[c["text"] for c in g] for g in groups]
    rng, advantages = random.Random(seed), []
    for comps in completions:
        r = [float(rng.random() < 0.5) for _ in comps]
        r[:2] = [1.0, 0.0][: len(r)]
        advantages.append([x - sum(r) / len(r) for x in r])
    built = [g for g in build_groups(tokenizer, prompts, completions, advantages) if g is not None]
    sizes = {
        "prompts": len(prompts),
        "G": G,
        "sequences": sum(len(g.seqs) for g in built),
        "tokens": sum(g.n_tokens for g in built),  # prompt + completion tokens of every sequence
        "completion_tokens": sum(len(s) - g.start for g in built for s in g.seqs),
        "max_new_tokens": max_new_tokens,
    }
    return prompts, completions, advantages, sizes


def floor_forward_backward(
    model, tokenizer, prompts, completions, advantages, *, batch_size: int = 8, token_agg: str = "seq_mean"
) -> None:
    """The floor: one plain batched forward + backward of sum_i J_i into param.grad (then cleared),
    batch_size prompts a pass, the same packing and completion-position logits as
    `policy_gradients` (and TRL's GRPO step), no per-example work."""
    import torch.nn.functional as F

    from rlselect.grads.policy import _pad_id, model_parts, pack
    from rlselect.grads.rollout_batch import build_groups

    groups = sorted(
        (g for g in build_groups(tokenizer, prompts, completions, advantages, token_agg) if g is not None),
        key=lambda g: -g.max_len,
    )
    _, embed, backbone, head = model_parts(model)
    was_training = model.training
    model.eval()
    try:
        for b0 in range(0, len(groups), batch_size):
            chunk = groups[b0 : b0 + batch_size]
            ids, _, flat, tgt, w, _ = pack(chunk, [0] * len(chunk), _pad_id(tokenizer), embed.weight.device)
            h = backbone(input_ids=ids, use_cache=False).last_hidden_state
            logp = F.log_softmax(head(h.reshape(-1, h.shape[-1]).index_select(0, flat)).float(), dim=-1)
            (logp.gather(1, tgt[:, None]).squeeze(1) * w).sum().backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
