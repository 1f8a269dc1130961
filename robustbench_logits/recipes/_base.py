"""What a recipe is: one method, the settings its paper states per dataset and architecture,
and a CPU preset.

A :class:`Recipe` names the objective (``objectives.py``), the logit head (``heads.py``) and the
method's hyperparameters; each :class:`Setup` records one paper setting (optimiser, schedule,
epochs, batch size, weight decay, inner attack, noise, augmentation, selection rule) with
``source`` saying where the numbers come from. Where a paper is silent we choose, and say so in
``notes``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from robustbench_logits.errors import UserError

__all__ = ["InnerMax", "Setup", "Recipe", "RecipeError", "CPU_BUDGET", "cheaper_pgd"]


class RecipeError(UserError):
    """A recipe name, dataset/architecture pair or override is not available."""


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class InnerMax:
    """The inner maximisation: L-inf PGD with a random start (Madry et al. 2018; LMA-AT eq. 2).

    ``loss`` is what PGD ascends: ``"ce"`` (Madry, MART), ``"trades_kl"`` (TRADES:
    KL(p(x) || p(x'))) or ``"ce_margin"`` (LMA-AT eq. 2 with g' = CE + L'_i of eq. 12).
    ``start`` is ``"uniform"`` (U(-eps, eps), Madry) or ``"normal"`` (x + 0.001 N(0, I), the
    TRADES code and LMA-AT Algorithm 1). ``eps_warmup_epochs`` ramps eps (and the step with it)
    linearly per step from 0 to ``eps`` over that many epochs: without it, PGD training of small
    MNIST nets at eps 0.3 can stay at chance accuracy (measured: 2C2F, 3 epochs, SGD and Adam).
    """

    eps: float
    step_size: float
    steps: int
    loss: str = "ce"
    start: str = "uniform"
    eps_warmup_epochs: float = 0

    def at_progress(self, epochs_done: float) -> "InnerMax":
        """This attack after ``epochs_done`` (fractional) epochs of training: eps warm-up applied."""
        if self.eps_warmup_epochs <= 0 or epochs_done >= self.eps_warmup_epochs:
            return self
        scale = epochs_done / self.eps_warmup_epochs
        return dataclasses.replace(self, eps=self.eps * scale, step_size=self.step_size * scale)


@dataclass(frozen=True)
class Setup:
    """One training setting, as a paper states it for one dataset and architecture.

    ``batch_size`` is the global batch (split across DDP ranks). ``lr_milestones`` are epochs
    after which the learning rate is multiplied by ``lr_decay``; ``warmup_epochs`` ramps it
    linearly per step from 0 to ``lr``. ``noise`` is the uniform-noise intensity of LCAT's NOI
    (the perturbed input when there is no ``attack``). ``augmentation`` is the label-preserving
    augmentation of the training inputs: ``"crop_flip"`` (the standard CIFAR random crop after
    4-pixel zero padding, then a horizontal flip; Summers & Dinneen sec. 5.1) or None; ``notes``
    say whether the paper states it. ``selection`` is ``"best_clean"`` (keep the epoch with the
    best clean accuracy, Kanai et al. App. B) or ``"last"``.

    Selection is scored on a validation split carved from the training set, never the test set:
    ``"best_clean"`` keeps the epoch with the best validation clean accuracy (Kanai's rule, moved
    from their test set to a held-out split), ``"best_robust"`` the epoch with the best validation
    PGD accuracy (Rice et al. 2020's early stopping). ``lr_schedule="cyclic"`` replaces the step
    schedule by a triangular one (0 -> lr at 2/5 of training -> 0; Wong et al. 2020).
    ``min_epochs`` turns ``epochs`` into a ceiling: from ``min_epochs`` on, training stops once
    it has converged (``train.converged``: over the last fifth of the epochs validation robust
    accuracy changed by under one point). ``overfit_guard`` stops training when validation PGD
    accuracy falls that far below its best (Wong et al. 2020's guard against catastrophic
    overfitting of FGSM training); the best epoch is kept.
    """

    dataset: str
    arch: str
    source: str
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 100
    batch_size: int = 128
    lr_milestones: tuple[int, ...] = ()
    lr_decay: float = 0.1
    warmup_epochs: int = 0
    attack: InnerMax | None = None
    noise: float | None = None
    mixup: str | None = None
    augmentation: str | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    selection: str = "last"
    notes: tuple[str, ...] = ()
    budget: str = ""
    lr_schedule: str | None = None
    min_epochs: int | None = None
    overfit_guard: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hyperparameters", _frozen(self.hyperparameters))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (for metadata and ``rbl train --list``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["attack"] = dataclasses.asdict(self.attack) if self.attack is not None else None
        out["hyperparameters"] = dict(self.hyperparameters)
        out["lr_milestones"] = list(self.lr_milestones)
        out["notes"] = list(self.notes)
        return out


def cheaper_pgd(setup: Setup, steps: int, warmup_epochs: float, step_factor: float = 2.5) -> Setup:
    """The setup with a cheaper inner PGD: ``steps`` steps of ``step_factor * eps / steps`` (Madry
    et al.'s rule 2.5 eps / steps) and eps ramped linearly from 0 over ``warmup_epochs`` (an eps
    curriculum). The departure from the paper's attack is written into ``notes`` and ``budget``.
    """
    if setup.attack is None:
        raise RecipeError(f"the {setup.dataset}/{setup.arch} setting has no inner attack to make cheaper")
    paper = setup.attack
    attack = dataclasses.replace(paper, steps=steps, step_size=step_factor * paper.eps / steps, eps_warmup_epochs=warmup_epochs)
    note = (
        f"cheaper inner PGD: {steps} steps of {attack.step_size:.4g} (paper: {paper.steps} of {paper.step_size:.4g}), "
        f"eps ramped from 0 over {warmup_epochs:g} epochs"
    )
    budget = f"{setup.budget}; {note}" if setup.budget else note
    return dataclasses.replace(setup, attack=attack, notes=setup.notes + (note,), budget=budget)


# The CPU preset, sized for a 2-core laptop CPU; docs/training.md has the measured times.
CPU_BUDGET = (
    "1 epoch (2 with a CE warm-up phase), constant lr (SGD: lr / (1 - momentum) = 0.2, no weight "
    "decay; Adam: the paper's lr), inner PGD capped at 10 steps with eps warmed up over the first half "
    "epoch. Measured on 2 shared CPU cores "
    "with --threads 1, full MNIST, cnn2c2f: ~10 s per run without an inner attack, ~80 s with PGD-10"
)

_CPU_MAX_PGD_STEPS = 10
_CPU_EPS_WARMUP_EPOCHS = 0.5  # eps ramps from 0 over the first half of the one epoch
_CPU_SGD_EFFECTIVE_LR = 0.2  # lr / (1 - momentum): 0.1 at momentum 0.5 reaches 97 % on MNIST in one epoch


def cpu_preset(setup: Setup, hyperparameters: Mapping[str, Any], sgd_lr: float | None = None) -> Setup:
    """Shrink a paper setup to the CPU budget: same method and hyperparameters, less compute.

    One epoch (or one per phase for recipes with a CE warm-up), no lr decay or warm-up, PGD
    capped at 10 steps with Madry's step rule 2.5 * eps / steps. One epoch cannot use a schedule
    written for 100+: SGD runs at a constant effective step lr / (1 - momentum) = 0.2 without
    weight decay (the paper's momentum kept), unless the recipe needs a smaller ``sgd_lr`` to stay
    stable; Adam keeps the paper's lr.
    """
    optimizer: dict[str, Any] = {}
    if setup.optimizer == "sgd":
        lr = sgd_lr if sgd_lr is not None else _CPU_SGD_EFFECTIVE_LR * (1.0 - setup.momentum)
        optimizer = {"lr": lr, "weight_decay": 0.0}
    attack = setup.attack
    if attack is not None and attack.steps > _CPU_MAX_PGD_STEPS:
        attack = dataclasses.replace(
            attack, steps=_CPU_MAX_PGD_STEPS, step_size=2.5 * attack.eps / _CPU_MAX_PGD_STEPS
        )
    if attack is not None and attack.eps_warmup_epochs == 0:
        # One epoch at full eps from the start collapses small MNIST nets to chance (measured).
        attack = dataclasses.replace(attack, eps_warmup_epochs=_CPU_EPS_WARMUP_EPOCHS)
    phase_hp: dict[str, Any] = {}
    epochs = 1
    if "ce_warmup_epochs" in hyperparameters:
        phase_hp["ce_warmup_epochs"] = 1
        epochs = 2
    return dataclasses.replace(
        setup,
        epochs=epochs,
        lr_milestones=(),
        warmup_epochs=0,
        attack=attack,
        hyperparameters={**setup.hyperparameters, **phase_hp},
        **optimizer,
        source=f"cpu preset of: {setup.source}",
        budget=CPU_BUDGET,
    )


# Datasets close enough that a setting of one is the natural stand-in for the other.
_DATASET_FAMILY = {"fashion_mnist": "mnist", "mnist": "fashion_mnist", "cifar100": "cifar10", "cifar10": "cifar100"}


@dataclass(frozen=True)
class Recipe:
    """One method: objective, head, hyperparameters, and its paper settings.

    ``hyperparameters`` are the objective's keyword arguments; a setup may override some of
    them (e.g. ALP's pairing weight is 0.5 on CIFAR-10, 5.0 on CIFAR-100). ``cpu_sgd_lr``
    replaces the CPU preset's SGD lr for objectives that diverge at its default.
    """

    name: str
    title: str
    paper: str
    objective: str
    setups: tuple[Setup, ...]
    head: str | None = None
    head_kwargs: Mapping[str, Any] = field(default_factory=dict)
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    checkpoint: str = ""
    cpu_sgd_lr: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "head_kwargs", _frozen(self.head_kwargs))
        object.__setattr__(self, "hyperparameters", _frozen(self.hyperparameters))

    def setup(self, dataset: str, arch: str, preset: str | None = None) -> Setup:
        """The setting for ``dataset``/``arch``, with the recipe's hyperparameters merged in.

        Exact match first; else the paper's setting for the same architecture on the sibling dataset
        (MNIST <-> Fashion-MNIST, CIFAR-10 <-> CIFAR-100: the same input format), else for the same
        dataset (another architecture), else for the sibling dataset. Architecture before dataset
        because an optimiser and schedule are tuned to a network: a Fashion-MNIST 2C2F baseline
        trains in Kanai's 2C2F setting like the heads it is compared with, not in PC-LC's LeNet-5
        one. The fallback is recorded in ``notes``. ``preset="cpu"`` shrinks it to the CPU budget.
        """
        chosen = self._match(dataset, arch)
        hp = {**self.hyperparameters, **chosen.hyperparameters}
        notes = chosen.notes
        if (chosen.dataset, chosen.arch) != (dataset, arch):
            notes = notes + (f"no paper setting for {dataset}/{arch}: using the {chosen.dataset}/{chosen.arch} one",)
        resolved = dataclasses.replace(chosen, dataset=dataset, arch=arch, hyperparameters=hp, notes=notes)
        if preset is None:
            return resolved
        if preset != "cpu":
            raise RecipeError(f"unknown preset {preset!r}: the only preset is 'cpu' (or none for the paper settings)")
        return cpu_preset(resolved, hp, self.cpu_sgd_lr)

    def _match(self, dataset: str, arch: str) -> Setup:
        for candidates in (
            [s for s in self.setups if (s.dataset, s.arch) == (dataset, arch)],
            [s for s in self.setups if s.dataset == _DATASET_FAMILY.get(dataset) and s.arch == arch],
            [s for s in self.setups if s.dataset == dataset],
            [s for s in self.setups if s.dataset == _DATASET_FAMILY.get(dataset)],
        ):
            if candidates:
                return candidates[0]
        have = ", ".join(f"{s.dataset}/{s.arch}" for s in self.setups)
        raise RecipeError(f"recipe {self.name!r} has no setting for dataset {dataset!r}: it has {have}")

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: name, paper, objective, head, hyperparameters, settings."""
        return {
            "name": self.name,
            "title": self.title,
            "paper": self.paper,
            "objective": self.objective,
            "head": self.head,
            "head_kwargs": dict(self.head_kwargs),
            "hyperparameters": dict(self.hyperparameters),
            "checkpoint": self.checkpoint,
            "setups": [s.to_dict() for s in self.setups],
        }
