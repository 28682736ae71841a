"""Hidden-state features (LearnAlign's "feature similarity" ablation): the mean last-layer hidden
state over each prompt's tokens, in place of the policy gradient."""

from __future__ import annotations


def hidden_features(model, tokenizer, records, *, batch_size: int = 32):
    import torch

    from rlselect.rollouts.generate import render_prompts

    prompts = render_prompts(tokenizer, records)
    tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            enc = tokenizer(
                prompts[start : start + batch_size], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(next(model.parameters()).device)
            hidden = model(**enc, output_hidden_states=True).hidden_states[-1]
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp_min(1)).float().cpu())
    model.train(was_training)
    return torch.cat(out)
