"""Command line: evaluate a checkpoint on the project's benchmarks through lm-eval.

    python -m rlselect.eval --model runs/x/checkpoint --benchmarks gsm8k,math500 \
        --protocol greedy --data-dir ../shared/data --output-dir runs/x/eval
    python -m rlselect.eval --model PATH --benchmarks aime24,amc23 --protocol avg@k --k 16 \
        --temperature 0.7
    python -m rlselect.eval --model PATH --benchmarks arith --limit 50 --max-gen-toks 128

lm-eval writes <output-dir>/results_<time>.json (+ samples_<task>_<time>.jsonl) and one line per
benchmark is printed. The same tasks also run from lm-eval's own CLI:

    lm_eval --model hf --model_args pretrained=PATH --include_path src/rlselect/eval/tasks \
        --tasks rlselect_gsm8k --apply_chat_template --metadata '{"data_dir": "../shared/data"}'
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


def _int_or_auto(v: str):
    return v if v == "auto" else int(v)


def build_parser() -> argparse.ArgumentParser:
    from rlselect.eval.benchmarks import BENCHMARKS
    from rlselect.eval.runner import DEFAULT_MAX_GEN_TOKS

    p = argparse.ArgumentParser(prog="python -m rlselect.eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="checkpoint folder (or hub id on a connected machine)")
    p.add_argument("--tokenizer", default=None, help="tokenizer path (default: the model's)")
    p.add_argument("--benchmarks", default="arith", help=f"comma-separated, among {','.join(BENCHMARKS)}")
    p.add_argument("--protocol", default="greedy", help="greedy | avg@k | avg@<k>")
    p.add_argument("--k", type=int, default=1, help="samples per problem for avg@k")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--max-gen-toks", type=int, default=DEFAULT_MAX_GEN_TOKS)
    p.add_argument("--limit", type=int, default=None, help="first N problems only (recorded)")
    p.add_argument("--batch-size", type=_int_or_auto, default=64)
    p.add_argument("--data-dir", default=None, help="folder with <benchmark>/test.jsonl (default: hub)")
    p.add_argument("--output-dir", default="outputs/eval")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:0 ...")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--backend", default="auto", choices=["auto", "hf", "vllm"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--arith-seed", type=int, default=0)
    p.add_argument("--split", default="test")
    p.add_argument("--num-threads", type=int, default=None, help="torch CPU threads (1 is fastest for tiny)")
    p.add_argument("--no-samples", action="store_true", help="skip the samples_<task>_<time>.jsonl files")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from rlselect.eval.runner import evaluate

    kw = vars(args)  # the option names are evaluate()'s keyword names
    rows = evaluate(kw.pop("model"), kw.pop("benchmarks"), write_samples=not kw.pop("no_samples"), **kw)
    for r in rows:
        print(
            json.dumps(
                {
                    k: r[k]
                    for k in (
                        "benchmark",
                        "protocol",
                        "n_problems",
                        "accuracy",
                        "stderr",
                        "pass_at_k",
                        "limit",
                        "results_file",
                    )
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
