"""Trace LRM's ratio coefficient step by step until training diverges (evidence for docs/models.md).

    .venv/bin/python scripts/lrm_trace.py fashion_mnist [--lr 0.001] [--ratio 0.95] [--max-coefficient 16]

Trains the zoo plan's recipe for one epoch (optionally at another lr) with ``losses.lrm_loss`` wrapped to print,
every 100 steps and at the first non-finite loss, (step, J~, h, c = sg(J~ / h) / ratio, max |logit| clean and
adversarial, total loss). Exits 1 at the first non-finite loss.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile

import build_zoo  # inserts the checkout on sys.path
import torch

from robustbench_logits import losses, objectives
from robustbench_logits.train import train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(build_zoo.EPS))
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--ratio", type=float, default=None, help="LRM's ratio (paper: 0.125 CIFAR-10, 0.95 CIFAR-100/SVHN)")
    parser.add_argument("--clip-grad-norm", type=float, default=None,
                        help="clip the gradient's global norm before each SGD step (a diagnostic; the trainer does not; "
                             "the LRM plans train with SGD)")
    parser.add_argument("--max-coefficient", type=float, default=None,
                        help="cap on c (a departure from the paper: losses.lrm_loss's max_coefficient)")
    args = parser.parse_args()
    plan = build_zoo._at("", f"cnn2c2f.lrm_{args.dataset}", "lrm", args.dataset)
    recipe = build_zoo._recipe_for(plan)
    if args.lr is not None:
        recipe = dataclasses.replace(recipe, setups=tuple(dataclasses.replace(s, lr=args.lr) for s in recipe.setups))
    changes = {k: v for k, v in (("ratio", args.ratio), ("max_coefficient", args.max_coefficient)) if v is not None}
    if changes:
        recipe = dataclasses.replace(recipe, hyperparameters={**recipe.hyperparameters, **changes},
                                     setups=tuple(dataclasses.replace(s, hyperparameters={**s.hyperparameters, **changes})
                                                  for s in recipe.setups))
    trace: list[tuple[float, ...]] = []
    lrm_loss = losses.lrm_loss

    def traced(logits_nat, logits_adv, training_loss, beta, ratio, max_coefficient=None):  # noqa: ANN001, ANN202
        loss = lrm_loss(logits_nat, logits_adv, training_loss, beta, ratio, max_coefficient)
        h = float(losses._distribution_cross_entropy(logits_nat, logits_adv).detach())
        j = float(training_loss.detach())
        c = j / max(h, 1e-12) / ratio
        trace.append((len(trace), j, h, c if max_coefficient is None else min(c, max_coefficient), float(logits_nat.abs().max()),
                      float(logits_adv.abs().max()), float(loss.detach())))
        if len(trace) % 100 == 0 or not math.isfinite(float(loss)):
            print("step {} J {:.4g} h {:.4g} c {:.4g} max|z| {:.4g} / {:.4g} loss {:.4g}".format(*trace[-1]), flush=True)
        if not math.isfinite(float(loss)):
            for row in trace[-6:-1]:
                print("  before: step {} J {:.4g} h {:.4g} c {:.4g} max|z| {:.4g} / {:.4g} loss {:.4g}".format(*row))
            raise SystemExit(1)
        return loss

    objectives.losses.lrm_loss = traced
    if args.clip_grad_norm is not None:
        sgd_step = torch.optim.SGD.step

        def clipped_step(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            torch.nn.utils.clip_grad_norm_([p for g in self.param_groups for p in g["params"] if p.grad is not None],
                                           args.clip_grad_norm)
            return sgd_step(self, *a, **k)
        torch.optim.SGD.step = clipped_step
    print(f"{plan.tag}: lr {recipe.setups[0].lr}, {dict(recipe.setups[0].hyperparameters)}, {recipe.setups[0].attack}", flush=True)
    train(recipe, plan.dataset, plan.arch, tempfile.mkdtemp(prefix="lrm_trace_"), epochs=1, threads=1, progress=False, n_val_robust=50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
