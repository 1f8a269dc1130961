"""By-hand probe (not a ``run.py`` section): what a DDP training step pays for meeting the other rank.

``scaleout.training`` shows DDP getting 0.67-0.82 of what two independent processes get. This
separates the candidates. The trainer's PGD-AT step (``training._build``: the CPU preset's model,
objective and optimizer; ``train._perturb``: the inner PGD-10) runs at a rank's batch (half the
global batch) in four variants, rotated round by round:

* ``nosync``: each rank trains its own copy, no communication (the ceiling of two processes);
* ``ddp``: the model wrapped in ``DistributedDataParallel``, as the trainer runs it;
* ``barrier``: no gradient exchange, one all-reduce of a single number after each backward (the
  meeting alone);
* ``manual``: one all-reduce of the flattened gradient instead of DDP's hooks (the bytes).

One process at the global batch gives the reference. Each line printed is one variant and round:
the slower rank's seconds for the timed steps (the speedup is against the
one process's median) and each rank's median inner-attack milliseconds.
The session-17 reading is in docs/training.md ("The meeting costs, not the bytes")::

    .venv/bin/python benchmarks/ddp_meeting.py [--arch cnn2c2f] [--steps 40] [--rounds 3] [--data random|mnist]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from robustbench_logits import train
from robustbench_logits.data import load_dataset
from robustbench_logits.recipes import get_recipe
from training import _build

GLOBAL_BATCH = 64  # the CPU preset's batch, which scaleout.training splits into two ranks of 32
WARMUP_STEPS = 5
VARIANTS = ("nosync", "ddp", "barrier", "manual")


def _average_gradients(model: torch.nn.Module, world: int) -> None:
    """The ``manual`` variant: one all-reduce of every gradient, flattened, then the mean."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def _batches(data: str, steps: int, world: int, rank: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """This rank's batches: uniform noise with random labels, or MNIST training rows ``rank::world`` of
    consecutive global batches (as the trainer's DistributedSampler deals them, unshuffled)."""
    batch, n = GLOBAL_BATCH // world, (WARMUP_STEPS + steps) * GLOBAL_BATCH
    if data == "random":
        generator = torch.Generator().manual_seed(rank)
        return [(torch.rand(batch, 1, 28, 28, generator=generator), torch.randint(0, 10, (batch,), generator=generator))
                for _ in range(WARMUP_STEPS + steps)]
    x, y = load_dataset("mnist", "train", n)
    return [(x[i:i + GLOBAL_BATCH][rank::world].contiguous(), y[i:i + GLOBAL_BATCH][rank::world].contiguous())
            for i in range(0, n, GLOBAL_BATCH)]


def _run(variant: str, arch: str, steps: int, data: str, world: int, rank: int) -> dict:
    """``steps`` timed training steps (after ``WARMUP_STEPS``) of ``variant``; this rank's seconds and attack times."""
    setup, model, objective, optimizer = _build(get_recipe("pgd-at"), arch)
    trained = DistributedDataParallel(model) if variant == "ddp" else model
    generator = torch.Generator().manual_seed(0)
    attack_ms, started = [], 0.0
    for step, (x, y) in enumerate(_batches(data, steps, world, rank)):
        if step == WARMUP_STEPS:
            started = time.perf_counter()
        attack_started = time.perf_counter()
        x_adv = train._perturb(setup, objective, model, x, y, generator, float(setup.epochs))
        attack_ms.append(1000 * (time.perf_counter() - attack_started))
        loss, _ = objective(trained, x, y, x_adv)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if variant == "barrier":
            dist.all_reduce(torch.zeros(1))
        elif variant == "manual":
            _average_gradients(model, world)
        optimizer.step()
    return {"seconds": time.perf_counter() - started, "attack_ms": statistics.median(attack_ms[WARMUP_STEPS:])}


def _worker(arch: str, steps: int, data: str) -> None:
    """One rank (or the one process): every variant once; rank 0 prints the rows as JSON."""
    torch.set_num_threads(1)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    for variant in VARIANTS if world > 1 else ("one_process",):
        if world > 1:
            dist.barrier()
        result = _run(variant, arch, steps, data, world, rank)
        rows = [result]
        if world > 1:
            rows = [None] * world
            dist.all_gather_object(rows, result)
        if rank == 0:
            print(json.dumps({"variant": variant, "seconds": max(r["seconds"] for r in rows),
                              "attack_ms": [round(r["attack_ms"], 1) for r in rows]}), flush=True)
    if world > 1:
        dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn2c2f")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", choices=("random", "mnist"), default="random",
                        help="uniform noise with random labels (the session-17 run) or MNIST training examples")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.arch, args.steps, args.data)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    worker = [__file__, "--worker", "--arch", args.arch, "--steps", str(args.steps), "--data", args.data]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    rows = []
    for round_ in range(args.rounds):  # one process, then the two ranks' variants, round by round
        for command in ([sys.executable, *worker], [*torchrun, *worker]):
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            rows += [{**json.loads(line), "round": round_} for line in out.splitlines() if line.startswith("{")]
    reference = statistics.median(r["seconds"] for r in rows if r["variant"] == "one_process")
    for r in rows:
        print(f"{r['variant']:12s} round {r['round']}  {r['seconds']:6.2f} s  speedup {reference / r['seconds']:.2f}x  "
              f"attack ms per rank {r['attack_ms']}")


if __name__ == "__main__":
    main()
