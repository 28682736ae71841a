"""Command line: evaluate a checkpoint on the project's benchmarks through lm-eval.

    python -m rlselect.eval --model runs/x/checkpoint --benchmarks gsm8k,math500 \
        --protocol greedy --data-dir ../shared/data --output-dir runs/x/eval
    python -m rlselect.eval --model PATH --benchmarks aime24,amc23 --protocol avg@16 --temperature 0.7

lm-eval writes <output-dir>/results_<time>.json (+ samples_<task>_<time>.jsonl) and one line per
benchmark is printed (stdout); stderr has one line, or lm-eval's own logs and bars with -v. Options
left out take rlselect.eval.Settings' defaults. The same tasks also
run from lm-eval's own CLI:

    lm_eval --model hf --model_args pretrained=PATH --include_path src/rlselect/eval/tasks \
        --tasks rlselect_gsm8k --apply_chat_template --metadata '{"data_dir": "../shared/data"}'
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from rlselect.eval.benchmarks import BENCHMARKS

PRINTED = ("benchmark", "protocol", "n_problems", "accuracy", "stderr", "pass_at_k", "limit", "results_file")


def main(argv: list[str] | None = None) -> int:
    # The options are Settings' fields: one not given is left out, so that Settings' default applies.
    desc = __doc__.split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m rlselect.eval", description=desc, argument_default=argparse.SUPPRESS)
    p.add_argument("--model", required=True, help="checkpoint folder (or hub id on a connected machine)")
    p.add_argument("--tokenizer", help="tokenizer path (default: the model's)")
    p.add_argument(
        "--benchmarks", default="arith", help=f"comma-separated: {','.join(BENCHMARKS)} or any registered dataset"
    )
    p.add_argument("--protocol", help="greedy (default) | avg@k | avg@<k>")
    p.add_argument("--k", type=int, help="samples per problem for avg@k")
    p.add_argument("--temperature", type=float, help="avg@k sampling temperature (default 0.7)")
    p.add_argument("--top-p", type=float, help="avg@k nucleus sampling (default 0.95)")
    p.add_argument("--max-gen-toks", type=int, help="generation budget (default 2048)")
    p.add_argument("--limit", type=int, help="first N problems only (recorded)")
    p.add_argument("--batch-size", type=lambda v: v if v == "auto" else int(v))
    p.add_argument("--data-dir", help="folder with <benchmark>/test.jsonl (default: hub)")
    p.add_argument("--output-dir", default="outputs/eval")
    p.add_argument("--device", help="cpu (default) | cuda | cuda:0 ...")
    p.add_argument("--dtype", help="auto (default: the checkpoint's) | float32 | bfloat16 | float16")
    p.add_argument("--backend", help="auto (default: vllm when installed, on GPU) | hf | vllm")
    p.add_argument("--split")
    p.add_argument("--seed", type=int)
    p.add_argument("--arith-seed", type=int)
    p.add_argument("--num-threads", type=int, help="torch CPU threads (1: fastest for tiny)")
    p.add_argument("--no-samples", dest="write_samples", action="store_false", help="no samples_<task>_<time>.jsonl")
    p.add_argument("-v", "--verbose", action="store_true", help="every library's own logs and progress bars")
    kw = vars(p.parse_args(argv))
    verbose = kw.pop("verbose", False)
    from rlselect import console

    console.setup_entry_point(verbose=verbose)  # quiet unless -v, before lm-eval loads
    from rlselect.eval.benchmarks import check_reachable, task_name
    from rlselect.eval.runner import Settings, evaluate
    from rlselect.models import check_dtype, local_or_hub

    model, benchmarks, tokenizer = kw.pop("model"), kw.pop("benchmarks"), kw.pop("tokenizer", None)
    try:  # a typo is one line on stderr, before anything loads
        model = local_or_hub(model, "--model")
        settings = Settings(**kw)
        check_dtype(settings.dtype, "--dtype")
        for name in benchmarks.split(","):
            task_name(name.strip())
            check_reachable(name.strip(), settings.data_dir, settings.split)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("rlselect").info("evaluating %s on %s (lm-evaluation-harness)", model, benchmarks)
    for row in evaluate(model, benchmarks, settings, tokenizer=tokenizer):
        print(json.dumps({k: row.get(k) for k in PRINTED}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
