"""allocator.*: steps with glibc's default malloc thresholds over the package's (``_allocator``).

``train`` and ``benchmark`` keep freed memory in the process (``retain_freed_memory``); before that,
every pass faulted its activations in again page by page. The setting is process-wide and cannot be
undone, so each side runs in a fresh worker process (this file with ``--worker``), the two alternated
pair by pair; a worker times its steps in its own CPU time (one torch thread) and counts its minor
page faults. Workloads, at the trainer's and the evaluator's batch sizes:

* ``<arch>.pgd_at_step``: the trainer's PGD-AT step (``training.recipe_step``: PGD-k inner attack,
  then the training pass and the optimizer update), batch 128;
* ``<arch>.attack_step``: one forward + input-gradient pass with the weights frozen (what every
  evaluation attack's iteration costs), batch 250.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from robustbench_logits._allocator import retain_freed_memory
from robustbench_logits.models import create_model
from robustbench_logits.recipes import get_recipe
from training import recipe_step

ARCHS = ("cnn2c2f", "cnn4c3f")
WORKLOADS = ("pgd_at_step", "attack_step")
MIN_SECONDS = 2.0  # of steps per worker, after two untimed ones


def _workload(arch: str, name: str) -> Any:
    generator = torch.Generator().manual_seed(0)
    if name == "pgd_at_step":
        x, y = torch.rand(128, 1, 28, 28, generator=generator), torch.randint(0, 10, (128,), generator=generator)
        return recipe_step(get_recipe("pgd-at"), arch, x, y)
    x, y = torch.rand(250, 1, 28, 28, generator=generator), torch.randint(0, 10, (250,), generator=generator)
    model = create_model(arch, 10, 1, img_size=28).eval().requires_grad_(False)

    def attack_step() -> None:
        x_in = x.clone().requires_grad_(True)
        torch.autograd.grad(F.cross_entropy(model(x_in), y), [x_in])

    return attack_step


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def worker(arch: str, name: str, retain: bool) -> dict[str, float]:
    """CPU seconds and minor page faults per step, in this process, with or without the retention."""
    torch.set_num_threads(1)
    if retain and not retain_freed_memory():
        raise RuntimeError("retain_freed_memory() did not apply: not glibc")
    step = _workload(arch, name)
    step()
    step()
    steps, faults, start = 0, _faults(), time.process_time()
    while time.process_time() - start < MIN_SECONDS:
        step()
        steps += 1
    return {"seconds": (time.process_time() - start) / steps, "faults": (_faults() - faults) / steps}


def _run_worker(arch: str, name: str, retain: bool) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", arch, name, "retain" if retain else "default"]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def bench_allocator(pairs: int) -> dict[str, Any]:
    """Per architecture and workload: default over retained CPU time per step, pair by pair."""
    out: dict[str, Any] = {}
    for arch in ARCHS:
        for name in WORKLOADS:
            ratios, default, retained = [], [], []
            for i in range(pairs):
                order = (False, True) if i % 2 == 0 else (True, False)
                sides = {retain: _run_worker(arch, name, retain) for retain in order}
                default.append(sides[False])
                retained.append(sides[True])
                ratios.append(sides[False]["seconds"] / sides[True]["seconds"])
            out.setdefault(arch, {})[name] = {
                "speedup": round(statistics.median(ratios), 3), "min": round(min(ratios), 3), "max": round(max(ratios), 3),
                "default_ms": round(1000 * statistics.median(s["seconds"] for s in default), 2),
                "retained_ms": round(1000 * statistics.median(s["seconds"] for s in retained), 2),
                "default_faults_per_step": round(statistics.median(s["faults"] for s in default)),
                "retained_faults_per_step": round(statistics.median(s["faults"] for s in retained)),
                "pairs": pairs,
            }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one allocator worker (benchmarks/run.py starts these)")
    parser.add_argument("--worker", nargs=3, metavar=("ARCH", "WORKLOAD", "MODE"), required=True)
    args = parser.parse_args()
    arch, name, mode = args.worker
    print(json.dumps(worker(arch, name, mode == "retain")))
