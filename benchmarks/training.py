"""training.<arch>.<recipe>: one training step of every recipe over one plain cross-entropy step.

Each recipe's step is the trainer's own (``train._mix``, ``train._perturb``, the objective, the
setting's optimizer), on a fixed MNIST-shaped batch of 128, with the inner attack at full eps.
The ratio is taken side by side with a CE step of the same architecture (:mod:`paired`).

``bound`` is the step's pass-count lower bound, also in CE steps: the passes counted by a forward
hook in one instrumented step of the recipe, run bare on the recipe's own model (head included):
its training passes (their forwards, then one backward of their summed losses, as the objectives that
couple two passes must run them) with one optimizer update, its inner-attack steps as
forward + input-gradient passes with the weights frozen in eval mode (what an attack step must
cost at least), and its gradient-free forwards. Recipe step, bound workload and CE step run in
rotation, and every ratio, ``ratio_over_bound`` included, is taken within one round.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from paired import paired, ratio_summary, rotated
from robustbench_logits import train
from robustbench_logits.models import create_model
from robustbench_logits.objectives import create_objective
from robustbench_logits.recipes import Recipe, list_recipes

ARCHS = ("cnn2c2f", "cnn4c3f")
BATCH = 128
TARGET = 1.05  # issue 13: ratio <= 1.05 x bound
# Each timed sample repeats a step until it fills this long (a CE step of cnn2c2f takes 13 ms: timed
# alone, scheduler and timer jitter moved single ratios by +-10 %, more than the 5 % being tested).
MIN_SECONDS = 0.2
# CPU time of this process, not wall time: three quiet-machine runs of this section moved single recipes'
# ratio / bound by +-10 % (pgd-at on cnn2c2f: 1.04, 1.23, 1.10), the noise of a shared virtual machine.
CLOCK = time.process_time


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(BATCH, 1, 28, 28, generator=generator), torch.randint(0, 10, (BATCH,), generator=generator)


class _PassCounter:
    """Counts the model's forward calls by phase and by whether autograd records them."""

    def __init__(self, model: nn.Module) -> None:
        self.phase = "objective"
        self.counts = {"train": 0, "input_grad": 0, "forward": 0}
        self.handle = model.register_forward_pre_hook(self._count)

    def _count(self, module: nn.Module, args: Any) -> None:
        if not torch.is_grad_enabled():
            self.counts["forward"] += 1
        else:
            self.counts["input_grad" if self.phase == "attack" else "train"] += 1


def _build(recipe: Recipe, arch: str) -> tuple[Any, nn.Module, Any, torch.optim.Optimizer]:
    setup = recipe.setup("mnist", arch, preset="cpu")
    torch.manual_seed(0)
    model = create_model(arch, 10, 1, head=recipe.head, head_kwargs=dict(recipe.head_kwargs) or None, img_size=28)
    objective = create_objective(recipe.objective, **setup.hyperparameters)
    objective.start_epoch(0)
    return setup, model.train(), objective, train._optimizer(setup, list(model.parameters()))


def recipe_step(recipe: Recipe, arch: str, x: torch.Tensor, y: torch.Tensor,
                counter_box: list | None = None) -> Callable[[], None]:
    """The trainer's step for ``recipe`` on ``arch`` (its ``_mix``, ``_perturb``, objective and
    optimizer), as a closure over a fresh seeded model."""
    setup, model, objective, optimizer = _build(recipe, arch)
    generator = torch.Generator().manual_seed(0)
    counter = _PassCounter(model) if counter_box is not None else None
    if counter_box is not None:
        counter_box.append(counter)

    def step() -> None:
        inputs, labels = train._mix(x, y, setup.mixup, generator)
        if counter:
            counter.phase = "attack"
        x_adv = train._perturb(setup, objective, model, inputs, labels, generator, float(setup.epochs))
        if counter:
            counter.phase = "objective"
        loss, _ = objective(model, inputs, labels, x_adv)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def bound_step(recipe: Recipe, arch: str, x: torch.Tensor, y: torch.Tensor, passes: dict[str, int]) -> Callable[[], None]:
    """The passes alone, on the recipe's own model (head included): ``train`` forward + backward
    passes and one optimizer update, ``input_grad`` forward + input-gradient passes with the
    weights frozen in eval mode (as the inner attack runs), ``forward`` gradient-free forwards."""
    _, model, _, optimizer = _build(recipe, arch)

    def step() -> None:
        if passes["input_grad"]:
            with _frozen(model):
                model.eval()
                for _ in range(passes["input_grad"]):
                    x_in = x.clone().requires_grad_(True)
                    torch.autograd.grad(nn.functional.cross_entropy(model(x_in), y), [x_in])
                model.train()
        with torch.no_grad():
            for _ in range(passes["forward"]):
                model(x)
        optimizer.zero_grad(set_to_none=True)
        # every objective with two training passes couples them in one loss (TRADES' KL, MART, ALP / LRM pairing,
        # LAA, LMA): both forwards stay alive until one backward, so the bound runs them that way too
        sum(nn.functional.cross_entropy(model(x), y) for _ in range(passes["train"])).backward()
        optimizer.step()

    return step


@contextlib.contextmanager
def _frozen(model: nn.Module) -> Iterator[None]:
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)


def _recipe(name: str) -> Recipe:
    return next(r for r in list_recipes() if r.name == name)


def bench_training(pairs: int, recipes: list[str] | None = None, warmup: int = 0) -> dict[str, Any]:
    """Per architecture and recipe: recipe step, its bound workload and a CE step, in rotation."""
    torch.set_num_threads(1)
    x, y = batch()
    out: dict[str, Any] = {}
    for arch in ARCHS:
        rows: dict[str, Any] = {}
        for recipe in list_recipes():
            if recipes and recipe.name not in recipes:
                continue
            box: list = []
            recipe_step(recipe, arch, x, y, box)()  # one instrumented step counts the passes
            counts = dict(box[0].counts)
            rounds = rotated({"recipe": recipe_step(recipe, arch, x, y), "bound": bound_step(recipe, arch, x, y, counts),
                              "ce": recipe_step(_recipe("standard"), arch, x, y)}, pairs, warmup, MIN_SECONDS, CLOCK)
            timing = ratio_summary(rounds, "recipe", "ce")
            bound = ratio_summary(rounds, "bound", "ce")
            over = ratio_summary(rounds, "recipe", "bound")
            rows[recipe.name] = {
                "ratio_vs_ce": timing["ratio"],
                "bound": bound["ratio"],
                "ratio_over_bound": over["ratio"],
                "within_target": over["ratio"] <= TARGET,
                "passes": counts,
                "timing": timing,
                "bound_timing": bound,
                "over_bound_timing": over,
            }
        out[arch] = rows
    return out


def bench_inner_attack_gradients(pairs: int) -> dict[str, Any]:
    """The inner attack computes input gradients only: parameters' ``.grad`` stay untouched, and
    freezing the weights (so autograd could not compute their gradients even if asked) changes the
    attack's time by no more than noise."""
    from robustbench_logits._inner_max import inner_maximisation

    torch.set_num_threads(1)
    x, y = batch()
    out: dict[str, Any] = {}
    for arch in ARCHS:
        torch.manual_seed(0)
        model = create_model(arch, 10, 1).train()
        attack = _recipe("pgd-at").setup("mnist", arch, preset="cpu").attack
        generator = torch.Generator().manual_seed(0)
        inner_maximisation(model, x, y, attack, generator)
        untouched = all(p.grad is None for p in model.parameters())

        def frozen() -> None:
            with _frozen(model):
                inner_maximisation(model, x, y, attack, generator)

        timing = paired(lambda: inner_maximisation(model, x, y, attack, generator), frozen, pairs, clock=CLOCK)
        out[arch] = {"parameter_grads_untouched": untouched, "as_is_over_frozen": timing}
    return out
