"""pooling.*: the hand-written 2x2 max pool (``models.pooling``) over torch's ``nn.MaxPool2d(2)``.

Torch's CPU max pool was a third of a 2C2F training step (issue 13); ``MaxPool2x2`` gives the same
values and gradients, bit for bit (tests/test_models_pooling.py). Each figure is torch's time over
ours, side by side (:mod:`paired`, CPU time of one torch thread), on the same weights and batch:

* ``layer``: the pool alone, forward + backward, at each pooled shape of 2C2F and 4C3F (batch 128);
* ``<arch>.train_step`` / ``attack_step`` / ``forward``: the whole net with its pools swapped back to
  ``nn.MaxPool2d(2)`` over the net as shipped: a CE training step (forward, backward, SGD), one
  inner-attack step (forward + input gradient, weights frozen, as PGD runs) and a gradient-free
  forward (what clean accuracy, Square and the evaluation's probes pay).
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paired import ratio_summary, rotated
from robustbench_logits.models import create_model
from robustbench_logits.models.pooling import MaxPool2x2, max_pool_2x2

ARCHS = ("cnn2c2f", "cnn4c3f")
BATCH = 128
MIN_SECONDS = 0.2


def _with_torch_pools(model: nn.Module) -> nn.Module:
    reference = copy.deepcopy(model)
    for name, module in list(reference.named_modules()):
        if isinstance(module, MaxPool2x2):
            parent, _, child = name.rpartition(".")
            setattr(reference.get_submodule(parent) if parent else reference, child, nn.MaxPool2d(2))
    return reference


def _pool_inputs(model: nn.Module, x: torch.Tensor) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    hooks = [m.register_forward_pre_hook(lambda _m, args: shapes.append(tuple(args[0].shape)))
             for m in model.modules() if isinstance(m, MaxPool2x2)]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return shapes


def _workloads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    def attack_step() -> None:
        for p in model.parameters():
            p.requires_grad_(False)
        x_in = x.clone().requires_grad_(True)
        torch.autograd.grad(F.cross_entropy(model(x_in), y), [x_in])
        for p in model.parameters():
            p.requires_grad_(True)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    return {"train_step": train_step, "attack_step": attack_step, "forward": forward}


def _side_by_side(theirs: Any, ours: Any, pairs: int) -> dict[str, Any]:
    """torch's time over ours, rotated rounds of CPU time, each call repeated to fill MIN_SECONDS."""
    timing = ratio_summary(rotated({"torch": theirs, "ours": ours}, pairs, 1, MIN_SECONDS, time.process_time), "torch", "ours")
    return {"speedup": timing["ratio"], "min": timing["ratio_min"], "max": timing["ratio_max"],
            "torch_ms": round(1000 * timing["a_median_s"], 3), "ours_ms": round(1000 * timing["b_median_s"], 3),
            "pairs": timing["pairs"]}


def bench_pooling(pairs: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (BATCH,), generator=generator)
    out: dict[str, Any] = {"layer": {}}
    for arch in ARCHS:
        torch.manual_seed(0)
        ours = create_model(arch, 10, 1, img_size=28).train()
        theirs = _with_torch_pools(ours)
        for shape in _pool_inputs(ours, x):
            z = torch.randn(shape, generator=generator, requires_grad=True)
            grad = torch.randn(F.max_pool2d(z, 2).shape, generator=generator)
            out["layer"][f"{arch} {'x'.join(map(str, shape))}"] = _side_by_side(
                lambda: F.max_pool2d(z, 2).backward(grad), lambda: max_pool_2x2(z).backward(grad), pairs)
        mine, reference = _workloads(ours, x, y), _workloads(theirs, x, y)
        out[arch] = {name: _side_by_side(reference[name], mine[name], pairs) for name in mine}
    return out
