"""The streaming scores hold O(P) memory however many prompts they score: peak RSS of a fresh process
scoring 8 vs 96 prompts differs by far less than the exact [n, P] features the scores replace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    torch.set_num_threads(1)
    from test_grads import make_rollouts
    from rlselect.grads import gradalign_scores_streaming
    from rlselect.models.tiny import build_tiny
    n = int(sys.argv[1])
    model, tok = build_tiny(seed=0)
    P, C, A = make_rollouts(tok, n=n, G=4, seed=0)
    vP, vC, vA = make_rollouts(tok, n=4, G=4, seed=1)
    scores = gradalign_scores_streaming(model, tok, P, C, A, vP, vC, vA, batch_size=4)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"n": len(scores), "params": params, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


def peaks(sizes: tuple[int, ...], tests_dir: str) -> list[dict]:
    """One fresh process per size, all at once (each measures only its own peak RSS)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([f"{tests_dir}/unit", tests_dir])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for n in sizes
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            proc.kill()  # nothing to do for a finished process; a hung one must not outlive the test
    return results


def test_streaming_memory_does_not_grow_with_the_number_of_prompts(request):
    small, large = peaks((8, 96), str(request.config.rootpath / "tests"))
    assert (small["n"], large["n"]) == (8, 96)
    growth_mb = (large["peak_kb"] - small["peak_kb"]) / 1024
    features_mb = (96 - 8) * small["params"] * 4 / 2**20  # what exact float32 features of the extra prompts need
    assert growth_mb < 0.25 * features_mb, (growth_mb, features_mb)
