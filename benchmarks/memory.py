"""memory.peak_rss_mb: peak resident memory of a standard evaluation at 1,000 and 10,000 examples.

Each evaluation runs in a fresh process (``run.py --probe memory N``); its peak is the kernel's
own accounting of that child (``os.wait4`` -> ``ru_maxrss``), so nothing this parent loaded counts.

The model is a seeded linear classifier (784 -> 10), not a zoo network: this figure is about what
the harness holds per example (inputs, adversarial examples, per-example outcomes and probes), and
10,000 examples of AutoAttack through even the smallest zoo CNN cost several CPU-minutes, which
the benchmark's 20-minute budget cannot spend on one figure. The inputs themselves (n x 784
float32, 3 MiB per 1,000) are the part that must grow with n; everything else must not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MODEL = "linear 784->10 (seeded)"


def probe(n: int) -> None:
    """The measured job: one standard evaluation of ``n`` MNIST test examples (in a fresh process)."""
    import warnings

    import torch

    import robustbench_logits

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    result = robustbench_logits.benchmark(model, dataset="mnist", n_examples=n, eps=0.3, suite="standard",
                                          progress=False)
    print(result.autoattack_acc)


def _peak_of_child(n: int, script: Path) -> dict[str, Any]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(script), "--probe", "memory", str(n)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    _, status, usage = os.wait4(child.pid, 0)
    output = child.stdout.read().decode() if child.stdout else ""
    errors = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise RuntimeError(f"memory probe n={n} failed:\n{errors[-3000:]}")
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "wall_s": round(time.perf_counter() - started, 1),
            "autoattack_acc": float(output.strip().splitlines()[-1])}


def bench_memory(ns: tuple[int, int], script: Path) -> dict[str, Any]:
    small, large = (_peak_of_child(n, script) for n in ns)
    inputs_mb = (ns[1] - ns[0]) * 784 * 4 / 2**20
    return {
        "model": MODEL,
        "peak_rss_mb": {str(ns[0]): small["peak_rss_mb"], str(ns[1]): large["peak_rss_mb"]},
        "growth_mb": round(large["peak_rss_mb"] - small["peak_rss_mb"], 1),
        "growth_of_inputs_mb": round(inputs_mb, 1),
        "ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        "runs": {str(ns[0]): small, str(ns[1]): large},
    }
