"""The benchmarks' reusable core: `Setup` (what a run measures), `time_call` (torch.utils.benchmark,
with `peak_memory`), `time_paired` (a path against its floor, in alternation), `machine`/`footer`,
`bench_model`, `make_inputs`, and `floor_forward_backward`, the floor that every gradient path is
compared with."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import random
import resource
import statistics
import threading
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch
import torch.nn.functional as F
import transformers
from torch.utils.benchmark import Timer
from transformers import Qwen2Config, Qwen2ForCausalLM

import rlselect
from rlselect.bench import MODEL_SIZES
from rlselect.data import load_records
from rlselect.grads.policy import _pad_id, model_parts, pack
from rlselect.grads.rollout_batch import build_groups
from rlselect.models.tiny import build_tiny
from rlselect.rollouts.generate import render_prompts, sample_completions

MB = 2**20
MEMORY_METHOD = (
    "peak_rss_mb: the process's peak RSS while a path runs (warm-up and timed calls; sampled every 10 ms), "
    "rss_delta_mb: that peak minus the RSS before it, after a garbage collection (what the path added); "
    "child processes (the verifier worker) not counted. ru_maxrss_mb: the process's lifetime high-water mark "
    "(getrusage) after each benchmark. On CUDA gpu_peak_mb/gpu_delta_mb: torch.cuda.max_memory_allocated."
)
# A smaller tiny model for `--quick` (tests): the same code paths in a fraction of the time.
QUICK_LM = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
# The shape of Qwen2.5-0.5B (494M parameters with tied embeddings), randomly initialised.
QWEN2_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14)
QWEN2_05B |= dict(num_key_value_heads=2, vocab_size=151936, max_position_embeddings=4096, rope_theta=1e6)


@dataclass(frozen=True)
class Setup:
    """n arith prompts x G completions of up to max_new_tokens; min_run_time: seconds of timed calls
    per path after one warm-up (0: one call); dims: projection settings (None: exact features)."""

    prompts: int = 32
    G: int = 8
    max_new_tokens: int = 32
    min_run_time: float = 5.0
    dims: tuple[int | None, ...] = (None, 1024)
    model: str = "tiny"
    device: str = "cpu"
    quick: bool = False


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine(device: str = "cpu") -> dict[str, Any]:
    """What the numbers were measured on, and the load when they started (the machine may be shared)."""
    info = Path("/proc/cpuinfo")  # platform.processor() is often just the architecture on Linux
    lines = info.read_text().splitlines() if info.exists() else []
    names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
    m = dict(cpu=names[0] if names else platform.processor(), cpu_count=os.cpu_count(), device=device)
    m |= dict(torch_threads=torch.get_num_threads(), memory_gb=round(psutil.virtual_memory().total / 2**30, 1))
    m |= dict(platform=platform.platform(), python=platform.python_version())
    m |= dict(gpu=torch.cuda.get_device_name()) if device.startswith("cuda") else {}
    versions = dict(torch=torch.__version__, transformers=transformers.__version__, code=rlselect.code_commit())
    return dict(machine=m, **versions, started_at=time.strftime("%Y-%m-%dT%H:%M:%S"), loadavg_start=loadavg())


def footer() -> dict[str, Any]:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"loadavg_end": loadavg(), "ru_maxrss_mb": round(rss, 1), "memory_method": MEMORY_METHOD}


@contextlib.contextmanager
def peak_memory(device: str = "cpu"):
    """Yields a dict filled on exit with the block's peak RSS (see MEMORY_METHOD)."""
    cuda, proc, stop, out = device.startswith("cuda"), psutil.Process(), threading.Event(), {}
    gc.collect()  # so the RSS before the block does not count garbage of earlier blocks
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = peak = proc.memory_info().rss
    gpu_start = torch.cuda.memory_allocated() if cuda else 0

    def sample():
        nonlocal peak
        while not stop.wait(0.01):
            peak = max(peak, proc.memory_info().rss)

    (sampler := threading.Thread(target=sample, daemon=True)).start()
    try:
        yield out
    finally:
        stop.set()
        sampler.join()
        top = max(peak, proc.memory_info().rss)
        out.update(peak_rss_mb=round(top / MB, 1), rss_delta_mb=round((top - start) / MB, 1))
        if cuda:
            top = torch.cuda.max_memory_allocated()
            out.update(gpu_peak_mb=round(top / MB, 1), gpu_delta_mb=round((top - gpu_start) / MB, 1))


def time_call(fn: Callable[[], Any], min_run_time: float = 0.0, device: str = "cpu") -> tuple[dict, Any]:
    """({s, times_s, cpu_s, memory}, fn's last value): torch.utils.benchmark's blocked_autorange (one
    warm-up call, then calls until min_run_time seconds, 0: one; it synchronises CUDA), s its median;
    cpu_s: median process CPU seconds (all threads) after the warm-up, steadier on a shared machine."""
    cpu, last = [], [None]

    def call():
        c0 = time.process_time()
        last[0] = fn()
        cpu.append(time.process_time() - c0)

    timer = Timer("call()", globals={"call": call}, num_threads=torch.get_num_threads())  # default: 1 thread
    with peak_memory(device) as mem:
        m = timer.blocked_autorange(min_run_time=min_run_time)
    return {"s": m.median, "times_s": m.times, "cpu_s": statistics.median(cpu[1:] or cpu), "memory": mem}, last[0]


def time_paired(fn: Callable[[], Any], floor: Callable[[], Any], min_run_time: float, device: str = "cpu") -> dict:
    """A path and its floor timed in alternation (floor, path, floor, path, ...), one call at a time, after
    one warm-up call of each (the path's under `peak_memory`), until each has run min_run_time seconds and
    at least 3 times. A slow spell of a shared machine then hits both alike: ratio_to_floor is the median
    over pairs of path / floor. The standard library's timeit, because torch's Timer.timeit adds two
    warm-up calls to every measurement. {s, floor_s (medians), ratio_to_floor, ratios, memory}."""
    floor()
    with peak_memory(device) as mem:
        fn()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    timers = [timeit.Timer(lambda f=f: (f(), sync())) for f in (floor, fn)]
    floor_t: list[float] = []
    path_t: list[float] = []
    while len(path_t) < 3 or min(sum(floor_t), sum(path_t)) < min_run_time:
        floor_t.append(timers[0].timeit(1))
        path_t.append(timers[1].timeit(1))
    ratios = [p / f for p, f in zip(path_t, floor_t)]
    path_s, floor_s, ratio = map(statistics.median, (path_t, floor_t, ratios))
    return {"s": path_s, "floor_s": floor_s, "ratio_to_floor": ratio, "ratios": ratios, "memory": mem}


def bench_model(s: Setup, seed: int = 0):
    """(model, tokenizer, description). tiny: `build_tiny` (random init, float32); 0.5b: a random
    Qwen2 of Qwen2.5-0.5B's shape in bf16 (float32 on CPU) over the character tokenizer, with the
    full 151,936-row embedding and LM head so that their cost is the real one (ids beyond the
    tokenizer are suppressed in generation)."""
    if s.model not in MODEL_SIZES:
        raise ValueError(f"model size {s.model!r}; available: {', '.join(MODEL_SIZES)}")
    model, tok = build_tiny(seed=seed, config=QUICK_LM if s.quick else None)
    dtype = torch.bfloat16 if s.model == "0.5b" and s.device.startswith("cuda") else torch.float32
    if s.model == "0.5b":
        torch.manual_seed(seed)
        ids = dict(pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
        model = Qwen2ForCausalLM(Qwen2Config(**ids, **QWEN2_05B, tie_word_embeddings=True))
        model.generation_config.update(**ids, suppress_tokens=list(range(len(tok), QWEN2_05B["vocab_size"])))
    model.to(device=s.device, dtype=dtype)
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size")
    desc = {"params": sum(p.numel() for p in model.parameters()), "dtype": str(dtype).removeprefix("torch.")}
    return model, tok, {**desc, "config": {k: getattr(model.config, k) for k in keys}, "init": f"random (seed {seed})"}


def arith_prompts(tokenizer, n: int) -> list[str]:
    return render_prompts(tokenizer, load_records("arith", "train")[:n])


def sample(model, tokenizer, prompts: list[str], s: Setup, seed: int = 0) -> list[list[dict]]:
    """G completions per prompt at temperature 1, as the rollout stage samples them."""
    seeds = [seed * 1_000_003 + i for i in range(len(prompts))]
    kw = dict(G=s.G, temperature=1.0, top_p=1.0, max_new_tokens=s.max_new_tokens, seeds=seeds, batch_size=64)
    return sample_completions(model, tokenizer, prompts, **kw)


def make_inputs(model, tokenizer, s: Setup, seed: int = 0):
    """(prompts, completions, advantages, sizes): arith train prompts, G sampled completions each,
    synthetic advantages (seeded Bernoulli(1/2) rewards centred per group, every group mixed: the
    cost depends on the tokens, and a random model's real rewards would all be 0); sizes counts
    sequences, tokens (prompt + completion, every sequence) and completion_tokens."""
    prompts = arith_prompts(tokenizer, s.prompts)
    completions = [[c["text"] for c in g] for g in sample(model, tokenizer, prompts, s, seed)]
    rng, advantages = random.Random(seed), []
    for comps in completions:
        r = [float(rng.random() < 0.5) for _ in comps]
        r[:2] = [1.0, 0.0][: len(r)]
        advantages.append([x - sum(r) / len(r) for x in r])
    built = [g for g in build_groups(tokenizer, prompts, completions, advantages) if g is not None]
    sizes = dict(sequences=sum(len(g.seqs) for g in built), tokens=sum(g.n_tokens for g in built))
    sizes["completion_tokens"] = sum(len(seq) - g.start for g in built for seq in g.seqs)
    return prompts, completions, advantages, sizes


def floor_forward_backward(model, tokenizer, prompts, completions, advantages, *, batch_size: int = 8) -> None:
    """The floor: one plain batched forward + backward of sum_i J_i into param.grad (then cleared),
    batch_size prompts a pass, the same packing and completion-position logits as
    `policy_gradients` (and TRL's GRPO step), no per-example work."""
    groups = [g for g in build_groups(tokenizer, prompts, completions, advantages) if g is not None]
    groups.sort(key=lambda g: -g.max_len)
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
