"""CPU seconds per training step of adversarial-training variants, for the cost curves of docs/training.md.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/measure_train_cost.py [--arch cnn4c3f] [--steps 5] [--batch 128]

Times one optimiser step (inner attack + loss + backward + update) of each variant with
``time.process_time`` (this process's CPU time, one torch thread), so the number is core-seconds
and does not count waits for other processes on a shared machine. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robustbench_logits._inner_max import inner_maximisation  # noqa: E402
from robustbench_logits.data import load_dataset  # noqa: E402
from robustbench_logits.models import create_model  # noqa: E402
from robustbench_logits.objectives import create_objective  # noqa: E402
from robustbench_logits.recipes import InnerMax  # noqa: E402

EPS = 0.3
VARIANTS = {  # name -> (objective, objective kwargs, inner attack or None)
    "standard": ("cross_entropy", {"on": "clean"}, None),
    "fast-at (FGSM-RS)": ("cross_entropy", {"on": "perturbed"}, InnerMax(EPS, 1.25 * EPS, 1)),
    "pgd-at, PGD-3": ("cross_entropy", {"on": "perturbed"}, InnerMax(EPS, 2.5 * EPS / 3, 3)),
    "pgd-at, PGD-5": ("cross_entropy", {"on": "perturbed"}, InnerMax(EPS, 2.5 * EPS / 5, 5)),
    "pgd-at, PGD-10": ("cross_entropy", {"on": "perturbed"}, InnerMax(EPS, 2.5 * EPS / 10, 10)),
    "pgd-at, PGD-40 (paper)": ("cross_entropy", {"on": "perturbed"}, InnerMax(EPS, 0.01, 40)),
    "trades, PGD-10": ("trades", {"kl_weight": 6.0}, InnerMax(EPS, 2.5 * EPS / 10, 10, loss="trades_kl", start="normal")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn4c3f")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_dataset("mnist", "train", n_examples=args.batch)
    out = {"arch": args.arch, "batch": args.batch, "steps_timed": args.steps, "threads": 1, "cpu_seconds_per_step": {}}
    for name, (objective_name, kwargs, attack) in VARIANTS.items():
        torch.manual_seed(0)
        model = create_model(args.arch, 10, 1)
        objective = create_objective(objective_name, **kwargs)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        generator = torch.Generator().manual_seed(0)

        def step() -> None:
            x_adv = inner_maximisation(model, x, y, attack, generator) if attack is not None else None
            loss, _ = objective(model, x, y, x_adv)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        step()  # warm-up (allocator, first-call overheads)
        started = time.process_time()
        for _ in range(args.steps):
            step()
        out["cpu_seconds_per_step"][name] = round((time.process_time() - started) / args.steps, 4)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
