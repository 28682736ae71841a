"""Warm-start the embedded tiny model by SFT on a built-in task's `sft` split (arith by default;
`data: digits` for the digits testbed), cached by its config hash.

Partial competence is the goal (greedy test accuracy roughly 20-60%): the RL stage then has room
to improve and selection finds learnable prompts (0 < p < 1). This is a factory for the built-in
model, not part of the studied method, so it is a short plain PyTorch loop: the sequences are
rendered with the same chat template the rollouts and evaluation use, and the loss covers only
the assistant's tokens.
"""

from __future__ import annotations

import logging
import random
import time
from functools import partial
from pathlib import Path

from rlselect import console
from rlselect.cache import build_once, save_checkpoint, stage_key

log = logging.getLogger(__name__)

# model: TinyConfig overrides (models/tiny.py)
DEFAULTS = dict(seed=0, data_seed=0, max_steps=600, learning_rate=3e-3, batch_size=32, model={})
# Options added later, left out of the config (and so of the cache key) at their defaults, so that
# every existing config keeps its key: data (the built-in task whose sft split is the SFT data) and
# box_prob (digits only: per level, the share of SFT examples that end in \boxed{}).
OPTIONAL = dict(data="arith", box_prob=None)


def completion_renderer(data: str = "arith", box_prob=None):
    """record -> the assistant turn the model is warm-started on, for the built-in task `data`."""
    if data == "arith":
        return None  # sft_examples' default: the worked solution and the boxed answer
    if data == "digits":
        from rlselect.data.digits import sft_completion

        return lambda rec: sft_completion(rec, box_prob)
    raise ValueError(f"model.warm_start.data={data!r}: the warm start knows arith and digits")


def sft_examples(records, tokenizer, render=None):
    """(input_ids, n_prompt_tokens) per record: templated prompt + worked solution + EOS.
    `render(record)` gives the assistant turn; default: the worked solution and the boxed answer."""
    from rlselect.data.generated import boxed_completion

    out = []
    for rec in records:
        prompt = tokenizer.apply_chat_template(rec["prompt"], tokenize=False, add_generation_prompt=True)
        if render is not None:
            completion = render(rec)
        else:  # the reference scratchpad (the solution without its "#### x" line), then the boxed answer
            completion = boxed_completion(rec["meta"]["solution"].split("\n####")[0], rec["answer"])
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        out.append((p_ids + c_ids + [tokenizer.eos_token_id], len(p_ids)))
    return out


def _batch(examples, pad_id):
    """(input_ids, attention_mask, labels), right-padded so that positions start at 0; labels are -100
    (no loss) on the prompt and the padding."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    def pad(rows, value):
        return pad_sequence([torch.tensor(r, dtype=torch.long) for r in rows], batch_first=True, padding_value=value)

    seqs = [ids for ids, _ in examples]
    labels = [[-100] * n_prompt + ids[n_prompt:] for ids, n_prompt in examples]
    return pad(seqs, pad_id), pad([[1] * len(s) for s in seqs], 0), pad(labels, -100)


def warm_start_tiny(cache_dir: str | Path, **overrides) -> Path:
    """Path to the warm-started checkpoint; trains it once per config and reuses it after."""
    cfg = {**DEFAULTS, **{k: v for k, v in overrides.items() if v is not None}}
    for key, default in OPTIONAL.items():  # at its default an option stays out of the key
        if cfg.get(key) in (default, None, {}):
            cfg.pop(key, None)
    out = Path(cache_dir) / "models" / f"tiny-sft-{stage_key('tiny-sft-v3', cfg)}"
    if not build_once(out / "done.json", partial(_sft, cfg, out), "the tiny model's warm start"):
        log.info("warm-started tiny model found at %s (skipping SFT)", out)
    return out


def _sft(cfg: dict, out: Path) -> None:
    """SFT of a fresh tiny model on the task's sft split, saved to `out` (done.json last)."""
    import torch

    from rlselect.data import load_records
    from rlselect.models.tiny import build_tiny

    data = cfg.get("data", OPTIONAL["data"])
    t0, steps = time.time(), cfg["max_steps"]
    log.info("warm-starting the tiny model: %d SFT steps on %s's sft split (once; cached in %s)", steps, data, out)
    model, tok = build_tiny(seed=cfg["seed"], config=cfg["model"])
    render = completion_renderer(data, cfg.get("box_prob"))
    examples = sft_examples(load_records(data, "sft", seed=cfg["data_seed"]), tok, render)
    rng = random.Random(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], weight_decay=0.0)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / steps) ** 0.5
    )
    model.train()
    order: list[int] = []
    bar = console.progress(steps, "warm start (SFT)", unit="step")
    for step in range(steps):
        if len(order) < cfg["batch_size"]:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order += fresh
        idx, order = order[: cfg["batch_size"]], order[cfg["batch_size"] :]
        input_ids, mask, labels = _batch([examples[i] for i in idx], tok.pad_token_id)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        bar.update()
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            log.debug("tiny SFT step %d/%d loss %.3f (%.0f s)", step, steps, loss.item(), time.time() - t0)
    bar.close()
    model.eval()
    save_checkpoint(model, tok, out, {"config": cfg, "seconds": round(time.time() - t0, 1)})
    log.info(
        "warm-started the tiny model: %d SFT steps, final loss %.3f, %.0f s -> %s",
        steps,
        loss.item(),
        time.time() - t0,
        out,
    )
