"""`make smoke-presets`: every preset in conf/experiment/ run end to end on CPU, small.

Each (preset, selector of its sweep) runs through the real pipeline with the preset's own data
regime, schedule, features and trainer settings, shrunk: `model=random model.shape=tiny`, 16 pool
prompts, G = 4, 2 GRPO steps on CPU, a 5-problem evaluation of the preset's benchmarks that are on
disk. Data with no local copy (DAPO-Math-17k, WebInstruct) is stood in for by rows of
../shared/data/gsm8k (or the arith task when that folder is absent), written in the loader's own
file format to a temporary folder. A random model never solves a problem, so rewards are the
`coin` reward (a seeded fair coin per rollout) and every selector has reward variance to work on.

    python -m rlselect.smoke [--presets a,b] [--every-selector] [--out results/smoke]

By default each preset runs, per schedule its sweep uses, the selector that needs the most inputs
(GradAlign or LearnAlign where the sweep has them); --every-selector runs the whole sweep.

Writes <out>/presets.json and presets.md: one row per run with the stages it ran (the rounds
schedule selects inside its training stage) and seconds; exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from rlselect.cli import CONF_DIR, compose

log = logging.getLogger("rlselect.smoke")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def presets() -> list[str]:
    return sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


def sweep_selectors(preset: str) -> list[str]:
    """The selectors of a preset's Hydra sweep (hydra.sweeper.params.selector), else its selector."""
    cfg = compose([f"experiment={preset}"], hydra_node=True)
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
    return [s.strip() for s in str(params.get("selector", cfg.selector.name)).split(",")]


def stand_in_data(root: Path, shared: Path | None) -> dict[str, str]:
    """Local files for the loaders whose data lives on the hub: {loader name: path}."""
    if shared is not None:
        lines = (shared / "gsm8k" / "train.jsonl").read_text().splitlines()[:200]
        rows = [json.loads(line) for line in lines]
        qa = [(r["question"], r["answer"].split("####")[-1].strip()) for r in rows]
    else:
        from rlselect.data import load_records

        qa = [(r["prompt"][-1]["content"], r["answer"]) for r in load_records("arith", "train")[:200]]
    files = {
        "dapo_math_17k": [{"id": f"s{i}", "prompt": q, "solution": a} for i, (q, a) in enumerate(qa)],
        "webinstruct": [
            {"id": f"s{i}", "question": q, "answer": a, "category": "smoke"} for i, (q, a) in enumerate(qa)
        ],
    }
    out = {}
    for name, items in files.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items))
        out[name] = str(root / name)
    if shared is not None:
        out["gsm8k"] = str(shared / "gsm8k")
    return out


def data_overrides(data_cfg: dict, local: dict[str, str]) -> list[str]:
    """data.path (or each mixture component's path) -> the local copy, for loaders that need one."""
    if data_cfg["name"] == "mixture":
        comps = data_cfg["kwargs"]["components"]
        return [
            f"data.kwargs.components.{i}.path={local[c['name']]}" for i, c in enumerate(comps) if c["name"] in local
        ]
    if data_cfg["name"] in local and not data_cfg.get("path"):
        return [f"data.path={local[data_cfg['name']]}"]
    if data_cfg["name"] == "gsm8k" and not data_cfg.get("path"):  # no shared data: arith stands in
        return ["data.name=arith"]
    return []


def eval_override(eval_cfg: dict, shared: Path | None) -> str:
    """The preset's benchmarks that are generated in code or on disk (each run's protocol kept, k at most 2),
    else arith."""
    from rlselect.eval.benchmarks import GENERATED

    runs = []
    for r in eval_cfg["runs"]:
        local = [b for b in r["benchmarks"] if b in GENERATED or (shared is not None and (shared / b).is_dir())]
        if local:
            k = f",k:{min(int(r.get('k', 1)), 2)}" if r.get("k") else ""
            runs.append(f"{{benchmarks:[{','.join(local)}],protocol:{r['protocol']}{k}}}")
    return "eval.runs=[" + ",".join(runs or ["{benchmarks:[arith],protocol:greedy}"]) + "]"


ROUNDS_SMALL = [f"schedule.{k}" for k in ("chunk_size=8", "keep_fraction=0.5", "steps_per_round=1", "rounds=2")]
ROUNDS_SMALL += ["schedule.k_r=4", "schedule.k_v=4"]
SMALL = [
    "model=random",
    "model.shape=tiny",
    "model.device=cpu",
    "data.pool_size=16",
    "data.val_size=4",
    "budget=4",
    "rollouts.backend=hf",
    "rollouts.G=4",
    "rollouts.max_new_tokens=16",
    "features.val_G=4",
    "features.batch_size=4",
    "trainer.rewards=[coin]",
    "trainer.budget_mode=equal_steps",
    "trainer.max_steps=2",
    "++trainer.args.use_cpu=true",
    "++trainer.args.bf16=false",
    "++trainer.args.gradient_checkpointing=false",
    "++trainer.args.use_vllm=false",
    "++trainer.args.per_device_train_batch_size=8",
    "++trainer.args.gradient_accumulation_steps=1",
    "++trainer.args.num_generations=4",
    "++trainer.args.max_completion_length=16",
    "++trainer.args.save_steps=1",
    "++trainer.args.logging_steps=1",
    "++trainer.args.disable_tqdm=true",
    "eval.limit=5",
    "eval.max_gen_toks=16",
    "eval.device=cpu",
    "eval.dtype=auto",
    "eval.backend=hf",
    "eval.batch_size=16",
    "logger=none",
    "isolate_stages=false",
]


def run_one(preset: str, selector: str, work: Path, local: dict[str, str], shared: Path | None) -> dict[str, Any]:
    from rlselect.pipeline import run

    base = compose([f"experiment={preset}", f"selector={selector}"])
    plain = OmegaConf.to_container(base, resolve=False)
    overrides = [f"experiment={preset}", f"selector={selector}", *SMALL]
    overrides += data_overrides(OmegaConf.to_container(base.data, resolve=True), local)
    overrides.append(eval_override(OmegaConf.to_container(base.eval, resolve=True), shared))
    if shared is not None:
        overrides.append(f"eval.data_dir={shared}")
    if "chunk_size" in plain["schedule"]:
        overrides += ROUNDS_SMALL
    if "warmup" in plain["selector"]:
        overrides += ["selector.warmup.size=4", "selector.warmup.steps=1"]
    if "limr_epochs" in plain["selector"]:
        overrides.append("selector.limr_epochs=1")
    overrides += [f"cache_dir={work / 'cache'}", f"results_dir={work / 'results'}", f"study=smoke_{preset}"]
    cfg = compose(overrides)
    row: dict[str, Any] = {"preset": preset, "selector": selector, "schedule": str(cfg.schedule.name)}
    t0 = time.time()
    try:
        record = run(cfg, work / "runs" / preset / selector)
        row.update(ok=True, stages=list(record["cost"]["stage_pids"]), train_steps=record["cost"].get("train_steps"))
    except Exception as exc:  # recorded; the other presets still run
        log.exception("smoke %s / %s failed", preset, selector)
        row.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    row["seconds"] = round(time.time() - t0, 1)
    log.info(
        "smoke %s / %s (%s): %s in %.0f s",
        preset,
        selector,
        row["schedule"],
        "ok" if row["ok"] else "FAILED",
        row["seconds"],
    )
    return row


def smoke_plan(preset: str, every_selector: bool = False) -> list[str]:
    """The selectors to run for a preset: per schedule its sweep uses, the selector that needs the
    most inputs (gradients, validation gradients, ...); every selector of the sweep when asked."""
    from rlselect.selectors import get_selector

    selectors = sweep_selectors(preset)
    if every_selector:
        return selectors
    best: dict[str, tuple[int, str]] = {}  # schedule -> (number of inputs, selector)
    for name in selectors:
        cfg = compose([f"experiment={preset}", f"selector={name}"])
        needs = len(get_selector(cfg.selector.name).needs)
        if needs > best.get(str(cfg.schedule.name), (-1, ""))[0]:
            best[str(cfg.schedule.name)] = (needs, name)
    return [name for _, name in best.values()]


def run_smoke(names: list[str] | None, out: Path, work: Path, every_selector: bool = False) -> list[dict]:
    shared = SHARED if (SHARED / "gsm8k" / "train.jsonl").exists() else None
    local = stand_in_data(work / "data", shared)
    rows = [
        run_one(preset, selector, work, local, shared)
        for preset in names or presets()
        for selector in smoke_plan(preset, every_selector)
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "presets.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| preset | selector | schedule | result | stages run | s |", "|---|---|---|---|---|---|"]
    for r in rows:
        result = "ok" if r["ok"] else f"FAILED: {r['error'][:80]}"
        stages = ", ".join(r.get("stages", []))
        lines.append(
            f"| {r['preset']} | {r['selector']} | {r['schedule']} | {result} | {stages} | {r['seconds']:.0f} |"
        )
    (out / "presets.md").write_text("\n".join(lines) + "\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from rlselect import console

    parser = argparse.ArgumentParser(prog="python -m rlselect.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="", help="comma-separated preset names (default: all)")
    parser.add_argument("--every-selector", action="store_true", help="every selector of each sweep")
    parser.add_argument("--out", default="results/smoke")
    ns = parser.parse_args(argv)
    console.setup_entry_point(verbose=False)
    names = [p for p in ns.presets.split(",") if p] or None
    with tempfile.TemporaryDirectory(prefix="rlselect-smoke-") as work:
        rows = run_smoke(names, Path(ns.out), Path(work), ns.every_selector)
    failed = [r for r in rows if not r["ok"]]
    print(Path(ns.out, "presets.md").read_text())
    print(f"{len(rows) - len(failed)} of {len(rows)} runs reached the end of every stage")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
