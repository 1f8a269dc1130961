"""The one training loop: a recipe's model, head, objective, perturbation, optimiser and schedule.

``train(recipe, dataset, arch, out_dir)`` trains and writes, under ``out_dir``:

* ``model.safetensors``: the selected weights (the recipe's rule: best validation clean accuracy,
  best validation PGD accuracy, or the last epoch), ``metadata.json``: recipe, settings, dataset,
  epochs, wall time, package versions, the validation split, the learning curve, whether the run
  converged, and the weights' sha256; ``log.jsonl``: one JSON line per epoch;
* ``checkpoints/epoch-NNNN/``: every epoch's weights, optimiser tensors and objective state
  (safetensors), with ``state.json`` (epoch, scheduler, history) pointing at the newest.

Selection and convergence are scored on a validation split carved from the training set
(seeded, recorded; the test set is never read): clean accuracy on it, and accuracy under PGD at
the dataset's zoo eps on a fixed subset of it. A setup with ``min_epochs`` stops once
``converged`` holds (validation robust accuracy moved under one point over the last fifth of
the epochs); one with ``overfit_guard`` stops when it collapses (Wong et al. 2020).

A run in an ``out_dir`` that holds a checkpoint of the same configuration resumes from it and
ends with the same weights as an uninterrupted run: every epoch reseeds its randomness
(augmentation, mixup, noise, PGD starts, dropout) from (seed, epoch), and the sampler's order
is a function of (seed, epoch).

Under ``torchrun`` the loop runs DistributedDataParallel (gloo on CPU, nccl on GPU) with a
DistributedSampler; the recipe's batch size is the global batch, and rank r's k-th batch is rows
r::world of the k-th batch one process would see (the sampler permutes with (seed, epoch) and
deals rows out in turn). The randomness does not depend on the number of processes either: the
epoch's generator is seeded alike on every rank, and each per-example draw (crop/flip offsets,
LCAT noise, PGD random starts, including validation's, and ``nn.Dropout`` masks) is drawn for
the global batch, each rank keeping its rows (``_distributed.rank_rows``); with one process these
are the very calls made without torchrun. So on CPU two processes train the weights one
process trains, up to float summation order (DDP averages per-rank mean gradients; PGD's sign
step can turn those last bits into a whole step where an input gradient is near zero, as for
TRADES' KL attack from its 0.001 N start), when:

* the training set divides by the world size: otherwise the sampler pads the last batch by
  repeating examples, and only the batches before it match;
* the objective is a mean of per-example terms and the model has no batch statistics: batch
  norm and LAA's batch terms (a norm over the batch, the gap of two batch means) see the rank's
  batch only (LMA-AT's per-position logit EMA is fine: each rank keeps its positions' rows);
* the recipe has no mixup: mixup (LRM) pairs examples within a batch, and another rank's
  examples are out of reach without exchanging inputs, so it draws its pairing and lambda for
  the rank's batch (the same pairing of positions and lambda on every rank, the generator being
  seeded alike). It advances every rank's generator alike, so the later draws stay in step.

The global RNG (dropout) is seeded from (seed, epoch) too, alike on every rank, which is right
only because ``nn.Dropout`` then draws its mask for the global batch and keeps the rank's rows
(``_dropout_rows``): with torch's own dropout every rank would draw the same mask for its
different examples. The DataLoader's one draw from it per epoch is the same on every rank, so
the RNG stays in step. Any other draw from the global RNG for the rank's batch (Dropout2d,
drop-path: none in the zoo's models) would repeat the same values on every rank. The seed is
the one rank 0 had when seeds included the rank, and alone dropout is torch's own, so
one-process runs (and their checkpoints) draw exactly what they drew before.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
from tqdm import tqdm

from robustbench_logits import losses
from robustbench_logits._allocator import retain_freed_memory
from robustbench_logits._distributed import Process, all_sum, barrier, process_group, rank_rows
from robustbench_logits._files import package_versions, sha256_file, write_json
from robustbench_logits._inner_max import inner_maximisation
from robustbench_logits.attacks import AttackSpec, run_attack
from robustbench_logits.data import DATASETS, load_dataset
from robustbench_logits.errors import UserError
from robustbench_logits.models import create_model
from robustbench_logits.objectives import MixedLabels, Objective, create_objective, hard_labels
from robustbench_logits.recipes import InnerMax, Recipe, Setup, get_recipe
from robustbench_logits.zoo import CONVERGENCE_RULE

__all__ = ["VAL_ATTACKS", "VAL_EPS", "TrainError", "TrainResult", "converged", "train"]

VAL_EPS = {"mnist": 0.3, "fashion_mnist": 0.1, "cifar10": 8 / 255, "cifar100": 8 / 255}
"""L-inf eps of the validation PGD per dataset: the zoo's eps (docs/models.md gives the sources)."""
_VAL_PGD_STEPS = 10  # validation PGD: 10 steps of 2.5 eps / 10 from a uniform start (Madry's step rule)
_VAL_APGD = AttackSpec("apgd-ce-20", "apgd", {"steps": 20, "loss": "ce", "n_restarts": 1})

VAL_ATTACKS = {
    "apgd-ce": "APGD-CE, 20 steps, 1 restart (torchattacks.APGD, seeded)",
    "pgd-10": f"PGD-{_VAL_PGD_STEPS}, step 2.5 eps / {_VAL_PGD_STEPS}, uniform start, CE",
}
"""The attack that scores validation robust accuracy each epoch (selection, convergence, overfit guard).

``apgd-ce`` is the default since session 12: PGD-10 (the zoo's protocol until then; every
shipped model's record names the one it was selected with) scored the masked LMA-AT 4C3F at
93.2 % on the validation subset while APGD-CE with 20 steps scored it 38.0 % (docs/training.md,
"A validation attack the model cannot overfit"). APGD's step size adapts per example, so a loss
surface on which fixed large sign steps land low does not fool it; 20 steps cost about twice
PGD-10's passes. Under torchrun each rank runs APGD on its rows with the same seed, so its
random starts (drawn per batch by torchattacks) differ from a one-process run's: the number can
differ by a few examples, the training does not.
"""
_VAL_ATTACK_NAMES = {description: name for name, description in VAL_ATTACKS.items()}  # a run records the description
_SPLIT_SEED = 0  # the validation split is the same for every run of a dataset
VAL_SIZE = 5000  # training examples held out by default: the split every zoo model was selected on
_CONVERGED_FRACTION = 0.2  # "the last fifth of its epochs"
_CONVERGED_TOLERANCE = 0.01  # "under one point"

_STATE_FILE = "state.json"
_PACKAGES = ("robustbench-logits", "torch", "timm", "torchattacks", "numpy", "safetensors")


class TrainError(UserError):
    """A training run cannot start or resume as asked."""


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: where, the selected weights and their sha256, the per-epoch history,
    and ``model``, this process's model after the last epoch trained (not necessarily the selected one)."""

    out_dir: Path
    model: nn.Module
    weights: Path | None
    sha256: str | None
    epochs_done: int
    finished: bool
    history: list[dict[str, Any]]
    metadata: dict[str, Any]


# --- distributed -------------------------------------------------------------------------


# _Process and the torchrun helpers live in _distributed.py, shared with evaluation/.
_Process, _process_group, _all_sum, _barrier = Process, process_group, all_sum, barrier


# --- configuration ------------------------------------------------------------------------


def _resolve_setup(recipe: Recipe, dataset: str, arch: str, preset: str | None, epochs: int | None, batch_size: int | None) -> Setup:
    """The recipe's setting, with command-line overrides of epochs and batch size.

    Overriding the epochs of a recipe with a CE warm-up (PC-LC) keeps the paper's proportion:
    the warm-up is half the epochs (T of 2T).
    """
    setup = recipe.setup(dataset, arch, preset)
    changes: dict[str, Any] = {}
    if epochs is not None:
        if epochs < 1:
            raise TrainError(f"--epochs must be >= 1, got {epochs}")
        changes["epochs"] = epochs
        if "ce_warmup_epochs" in setup.hyperparameters:
            changes["hyperparameters"] = {**setup.hyperparameters, "ce_warmup_epochs": epochs // 2}
    if batch_size is not None:
        if batch_size < 1:
            raise TrainError(f"--batch-size must be >= 1, got {batch_size}")
        changes["batch_size"] = batch_size
    return dataclasses.replace(setup, **changes) if changes else setup


# Setup fields added after runs were fingerprinted: left out of the fingerprint while unset, so
# a run started before the field existed (all of them had it unset) still resumes.
_FINGERPRINT_SKIPS_NONE = ("augmentation", "lr_schedule", "min_epochs", "overfit_guard")


def _fingerprint(config: dict[str, Any]) -> str:
    setup = {k: v for k, v in config["setup"].items() if not (k in _FINGERPRINT_SKIPS_NONE and v is None)}
    return hashlib.sha256(json.dumps({**config, "setup": setup}, sort_keys=True, default=str).encode()).hexdigest()


# Setup fields that do not steer a run's epochs: its words, and where it stops. A finished run
# whose configuration differs from the requested one only in these continues from its last epoch
# (a raised epoch ceiling), bit-identical to a run started with them -- unless a schedule spans
# all the epochs (``lr_schedule="cyclic"``), where the ceiling shapes every step.
_DESCRIPTIVE_FIELDS = ("budget", "notes", "source")
_CEILING_FIELDS = ("epochs", "min_epochs")


def _trajectory(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` without the setup fields that leave its epochs unchanged."""
    skip = set(_DESCRIPTIVE_FIELDS) | (set(_CEILING_FIELDS) if config["setup"].get("lr_schedule") is None else set())
    return {**config, "setup": {k: v for k, v in config["setup"].items() if k not in skip}}


def _epoch_seed(seed: int, epoch: int) -> int:
    """A seed per (run seed, epoch), the same on every rank, so a resumed epoch replays the same
    randomness. The trailing 0 is the rank the seed once included: one-process seeds are unchanged."""
    return int(hashlib.sha256(f"{seed}/{epoch}/0".encode()).hexdigest()[:15], 16)


# --- pieces a recipe plugs in -------------------------------------------------------------


def _optimizer(setup: Setup, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    if setup.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=setup.lr, momentum=setup.momentum, weight_decay=setup.weight_decay)
    if setup.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=setup.lr, weight_decay=setup.weight_decay)
    raise TrainError(f"unknown optimizer {setup.optimizer!r} in the recipe: use 'sgd' or 'adam'")


def _lr_factor(setup: Setup, steps_per_epoch: int) -> Any:
    """Multiplier of the base lr at a global step: linear warm-up, then step decay at milestones;
    or, for ``lr_schedule="cyclic"``, the triangle 0 -> 1 at 2/5 of training -> 0 (Wong et al. 2020)."""
    warmup_steps = setup.warmup_epochs * steps_per_epoch
    if setup.lr_schedule == "cyclic":
        total = setup.epochs * steps_per_epoch
        peak = 0.4 * total

        def cyclic(step: int) -> float:
            position = step + 1
            return position / peak if position <= peak else max(0.0, (total - position) / (total - peak))

        return cyclic
    if setup.lr_schedule is not None:
        raise TrainError(f"unknown lr_schedule {setup.lr_schedule!r} in the recipe: use 'cyclic' or none")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        epoch = step // steps_per_epoch
        return setup.lr_decay ** sum(epoch >= milestone for milestone in setup.lr_milestones)

    return factor


_CROP_PADDING = 4  # pixels: RandomCrop(32, padding=4) in the TRADES, MART and pytorch-cifar code


def _augment(x: Tensor, kind: str | None, generator: torch.Generator, process: _Process | None = None) -> Tensor:
    """The recipe's label-preserving augmentation of a training batch (Summers & Dinneen sec. 5.1:
    random crops and horizontal flips on CIFAR), or none."""
    if kind is None:
        return x
    if kind == "crop_flip":
        return _random_crop_flip(x, _CROP_PADDING, generator, process)
    raise TrainError(f"unknown augmentation {kind!r} in the recipe: use 'crop_flip' or none")


def _random_crop_flip(x: Tensor, padding: int, generator: torch.Generator, process: _Process | None = None) -> Tensor:
    """Per example: crop an H x W window at a uniform offset of the zero-padded image (a shift by
    (dy, dx) in [-padding, padding]^2 with zeros filling the border), then mirror it left-right
    with probability 1/2, as RandomCrop(padding) then RandomHorizontalFlip.

    Written by hand: torchvision's transforms draw from the global RNG, one example at a time;
    drawing the whole batch's offsets and flips from the epoch's generator keeps a resumed epoch
    bit-identical to an uninterrupted one. Under torchrun (``process``), this rank's rows of the
    global batch's offsets and flips (``rank_rows``).
    """
    n, _, height, width = x.shape
    offsets = rank_rows(lambda shape: torch.randint(0, 2 * padding + 1, shape, generator=generator), (n, 2), process)
    offsets = offsets.to(x.device)
    flips = (rank_rows(lambda shape: torch.rand(shape, generator=generator), (n,), process) < 0.5).to(x.device)
    rows = offsets[:, :1] + torch.arange(height, device=x.device)  # (n, H) rows of the padded image
    columns = torch.arange(width, device=x.device).expand(n, width)
    columns = torch.where(flips[:, None], columns.flip(1), columns) + offsets[:, 1:]  # (n, W)
    padded = F.pad(x, (padding, padding, padding, padding))
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indices around the channel slice put it last: (n, H, W, C)
    return padded[batch, :, rows[:, :, None], columns[:, None, :]].permute(0, 3, 1, 2)


def _mix(x: Tensor, y: Tensor, kind: str | None, generator: torch.Generator) -> tuple[Tensor, Tensor | MixedLabels]:
    """The recipe's input mixing (LRM: VH-mixup on CIFAR, mixup on SVHN/MNIST), or none.

    Pairs examples within this rank's batch: under torchrun, the exception to draws for the
    global batch (module docstring)."""
    if kind is None:
        return x, y
    if kind == "mixup":
        mixed, (y_a, y_b, lam) = losses.mixup_batch(x, y, generator=generator)
    elif kind == "vh_mixup":
        mixed, (y_a, y_b, lam) = losses.vh_mixup_batch(x, y, generator=generator)
    else:
        raise TrainError(f"unknown mixup {kind!r} in the recipe: use 'mixup' or 'vh_mixup'")
    return mixed, MixedLabels(y_a, y_b, lam)


def _perturb(
    setup: Setup, objective: Objective, model: nn.Module, x: Tensor, y: Tensor | MixedLabels,
    generator: torch.Generator, epochs_done: float, process: _Process | None = None,
) -> Tensor | None:
    """x_adv for the objective: PGD examples (recipe attack, eps warm-up applied), uniform noise
    (LCAT NOI), or None; random starts and noise are this rank's rows of the global batch's."""
    if not objective.uses_perturbed:
        return None
    if setup.attack is not None:
        margin = float(setup.hyperparameters.get("margin", 0.9))
        return inner_maximisation(model, x, y, setup.attack.at_progress(epochs_done), generator, margin, process=process)
    if setup.noise is not None:
        return losses.uniform_noise(x, setup.noise, generator, process=process)
    raise TrainError(f"objective {objective.name!r} needs perturbed inputs but the recipe has neither an attack nor noise")


@contextmanager
def _dropout_rows(model: nn.Module, process: _Process) -> Iterator[None]:
    """Under torchrun, every ``nn.Dropout`` of ``model`` keeps this rank's rows of the mask one
    process would draw for the global batch; alone, dropout is left as it is.

    torch's dropout on CPU is ``x * bernoulli(1 - p) / (1 - p)`` from the global RNG; this draws
    the same from the same RNG (seeded alike on every rank) for the global batch (``rank_rows``).
    Other dropout kinds (Dropout2d, drop-path) still draw for the rank's batch.
    """
    dropouts = [m for m in model.modules() if type(m) is nn.Dropout] if process.world_size > 1 else []

    def rows_of_global_mask(module: nn.Dropout, x: Tensor) -> Tensor:
        if not module.training or module.p in (0.0, 1.0) or x.numel() == 0:  # F.dropout draws nothing
            return nn.Dropout.forward(module, x)
        keep = 1.0 - module.p
        draw = lambda shape: torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)  # noqa: E731
        mask = rank_rows(draw, x.shape, process).div_(keep)
        return x.mul_(mask) if module.inplace else x * mask

    for module in dropouts:
        module.forward = functools.partial(rows_of_global_mask, module)
    try:
        yield
    finally:
        for module in dropouts:
            del module.forward  # back to the class's forward


# --- checkpoints --------------------------------------------------------------------------


def _tensors(state: dict[str, Any]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items() if isinstance(v, Tensor)}


def _optimizer_to_files(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Optimizer state as (tensors for safetensors, the rest for JSON): no pickle."""
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, slots in state["state"].items():
        for slot, value in slots.items():
            if isinstance(value, Tensor):
                tensors[f"{index}.{slot}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(index), {})[slot] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_from_files(optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], rest: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, slot = key.split(".", 1)
        state.setdefault(int(index), {})[slot] = value
    for index, slots in rest["scalars"].items():
        state.setdefault(int(index), {}).update(slots)
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})


# --- evaluation ---------------------------------------------------------------------------


@torch.no_grad()
def _clean_accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int, process: _Process) -> float:
    """Clean accuracy of the eval-mode model, each rank scoring its share of the examples."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(process.rank * batch_size, len(x), process.world_size * batch_size):
        xb, yb = x[start : start + batch_size].to(process.device), y[start : start + batch_size].to(process.device)
        correct += int((model(xb).argmax(dim=1) == yb).sum())
    model.train(was_training)
    (total_correct,) = _all_sum([float(correct)], process)
    return total_correct / max(len(x), 1)


@torch.no_grad()
def _accuracy_on(model: nn.Module, x: Tensor, y: Tensor) -> int:
    was_training = model.training
    model.eval()
    correct = int((model(x).argmax(dim=1) == y).sum())
    model.train(was_training)
    return correct


def _robust_accuracy(model: nn.Module, x: Tensor, y: Tensor, eps: float, batch_size: int, seed: int, process: _Process,
                     attack_name: str) -> float:
    """Accuracy of the eval-mode model on validation adversarial examples (``attack_name`` from
    :data:`VAL_ATTACKS`), each rank scoring its share. A selection signal, not a robustness
    claim: the evaluation of a shipped model is AutoAttack's (evaluate.py).

    The examples go in chunks of ``world_size * batch_size`` (one process's chunk); each rank
    attacks rows ``rank::world`` of every chunk from those rows of the chunk's starts, so the
    starts do not depend on the number of processes. A last chunk that does not split evenly is
    attacked whole by one rank."""
    attack = InnerMax(eps=eps, step_size=2.5 * eps / _VAL_PGD_STEPS, steps=_VAL_PGD_STEPS)
    generator = torch.Generator().manual_seed(seed)  # the same starts every epoch
    correct, world, chunk = 0, process.world_size, process.world_size * batch_size
    for start in range(0, len(x), chunk):
        rows, share = slice(start + process.rank, start + chunk, world), process
        if len(x[start : start + chunk]) % world:
            if process.rank != (start // chunk) % world:
                continue
            rows, share = slice(start, start + chunk), None
        xb, yb = x[rows].to(process.device), y[rows].to(process.device)
        if attack_name == "pgd-10":
            x_adv = inner_maximisation(model, xb, yb, attack, generator, process=share)
        else:
            with torch.random.fork_rng(devices=[]):  # run_attack seeds the global RNG: keep the caller's
                x_adv = run_attack(_VAL_APGD, model, xb, yb, eps, "Linf", seed=seed + start)
        correct += _accuracy_on(model, x_adv, yb)
    (total_correct,) = _all_sum([float(correct)], process)
    return total_correct / max(len(x), 1)


def converged(robust_curve: list[float], fraction: float = _CONVERGED_FRACTION, tolerance: float = _CONVERGED_TOLERANCE) -> bool:
    """Whether validation robust accuracy changed by under ``tolerance`` over the last ``fraction`` of
    the epochs: the mean of the last fifth (at least one epoch) against the mean of the fifth before
    it (``zoo.CONVERGENCE_RULE``, the zoo's shipping rule). Needs at least 5 epochs.

    Means, not max - min of the last fifth (the rule until session 4): on 500 validation examples a
    flat curve moves by about 2 points from epoch to epoch (Fashion-MNIST Standard_2C2F at 0-2.2 %
    robust accuracy over its last 7 of 30 epochs never "converged"), while a curve still rising 2
    points between fifths could pass on a lucky flat stretch (Kanai2021BLF_2C2F on Fashion-MNIST
    stopped at epoch 15 of 30). docs/training.md lists what the change did to the zoo.
    """
    if len(robust_curve) < 5:
        return False
    window = max(1, math.ceil(fraction * len(robust_curve)))
    last, before = robust_curve[-window:], robust_curve[-2 * window : -window]
    return abs(sum(last) / window - sum(before) / window) < tolerance


def _select_key(selection: str) -> Any:
    if selection == "best_clean":
        return lambda r: (r["val_clean_accuracy"], r.get("val_robust_accuracy") or 0.0)
    if selection == "best_robust":
        return lambda r: (r.get("val_robust_accuracy") or 0.0, r["val_clean_accuracy"])
    if selection == "last":
        return None
    raise TrainError(f"unknown selection {selection!r} in the recipe: use 'best_clean', 'best_robust' or 'last'")


def _stop_reason(setup: Setup, history: list[dict[str, Any]]) -> str | None:
    """Why training stops after this epoch before ``setup.epochs``, or None."""
    if not math.isfinite(history[-1]["train_loss"]):
        return f"diverged: the training loss of epoch {history[-1]['epoch']} is {history[-1]['train_loss']}"
    curve = [r.get("val_robust_accuracy") for r in history]
    if setup.overfit_guard is not None and curve[-1] is not None:
        best = max(c for c in curve if c is not None)
        if best - curve[-1] > setup.overfit_guard:
            return f"catastrophic-overfitting guard: validation PGD accuracy {curve[-1]:.3f} fell over {setup.overfit_guard:g} below its best {best:.3f}"
    if setup.min_epochs is not None and len(history) >= setup.min_epochs and None not in curve and converged(curve):
        return f"converged: {CONVERGENCE_RULE}"
    return None


def _split(x: Tensor, y: Tensor, size: int) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor], dict[str, Any]]:
    """(train, validation, description): ``size`` training examples held out by a seeded permutation."""
    if not 0 < size < len(x):
        raise TrainError(f"validation split of {size} examples from {len(x)} training examples: pass --val-size between 1 and {len(x) - 1}")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(_SPLIT_SEED))
    held, kept = order[:size].sort().values, order[size:].sort().values
    digest = hashlib.sha256(held.numpy().tobytes()).hexdigest()
    description = {"source": "training set", "size": size, "seed": _SPLIT_SEED, "indices_sha256": digest,
                   "rule": f"torch.randperm(n_train, generator seeded {_SPLIT_SEED})[:size], sorted"}
    return (x[kept], y[kept]), (x[held], y[held]), description


# --- the loop -----------------------------------------------------------------------------


def train(
    recipe: Recipe | str,
    dataset: str,
    arch: str,
    out_dir: str | os.PathLike,
    *,
    preset: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    n_train: int | None = None,
    n_eval: int | None = None,
    data_dir: str | os.PathLike | None = None,
    train_data: tuple[Tensor, Tensor] | None = None,
    eval_data: tuple[Tensor, Tensor] | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    device: str | None = None,
    threads: int | None = None,
    val_size: int = VAL_SIZE,
    n_val_robust: int = 500,
    val_eps: float | None = None,
    val_attack: str = "apgd-ce",
) -> TrainResult:
    """Train ``arch`` on ``dataset`` with ``recipe``; write weights, checkpoints and logs to ``out_dir``.

    ``preset="cpu"`` shrinks the paper setting to the CPU budget; ``epochs``/``batch_size``
    override it. ``val_size`` training examples (seeded, recorded) are held out as the validation
    split that selection and the convergence rule score (the test set is never read; Kanai et al.
    App. B selected on it, we do not); ``n_eval`` caps the validation examples scored for clean
    accuracy, ``n_val_robust`` the first ones attacked with ``val_attack`` (:data:`VAL_ATTACKS`)
    at ``val_eps`` (default: the dataset's zoo eps, ``VAL_EPS``; 0 turns robust validation off). ``n_train`` takes the first
    training examples before the split. ``train_data`` replaces the training file with tensors
    (x in [0, 1] NCHW, y int64); ``eval_data`` then gives the validation split directly. ``stop_after`` ends the call after
    that many epochs in total, as an interruption would; calling again resumes. ``threads`` sets
    torch's intra-op CPU threads (1 is fastest on a machine whose cores are busy with other work).
    """
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    setup = _resolve_setup(recipe, dataset, arch, preset, epochs, batch_size)
    if val_eps is None:
        val_eps = VAL_EPS.get(dataset, 0.0)
    if val_eps < 0 or n_val_robust < 0:
        raise TrainError("--val-eps and --n-val-robust must be >= 0")
    if val_attack not in VAL_ATTACKS:
        raise TrainError(f"unknown validation attack {val_attack!r}: pass --val-attack {' or '.join(VAL_ATTACKS)}")
    *data, validation = _data(dataset, n_train, n_eval, data_dir, train_data, eval_data, val_size)
    validation = {**validation, "n_clean": int(len(data[2])), "n_robust": min(n_val_robust, int(len(data[2]))) if val_eps > 0 else 0,
                  "eps": val_eps, "attack": VAL_ATTACKS[val_attack]}
    retain_freed_memory()  # without it each pass faults its freed activations in again (_allocator)
    with _threads(threads), _process_group(device) as process:
        run = _Run(recipe, setup, Path(out_dir), seed, process, progress, validation)
        return run.run(*data, stop_after=stop_after)


@contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` intra-op CPU threads, then restore the caller's setting."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _data(
    dataset: str,
    n_train: int | None,
    n_eval: int | None,
    data_dir: str | os.PathLike | None,
    train_data: tuple[Tensor, Tensor] | None,
    eval_data: tuple[Tensor, Tensor] | None,
    val_size: int,
) -> tuple[Tensor, Tensor, Tensor, Tensor, int, dict[str, Any]]:
    """Training and validation tensors: the validation split is carved from the training set
    unless ``eval_data`` is given (then it is the caller's held-out data)."""
    x_train, y_train = train_data if train_data is not None else load_dataset(dataset, "train", n_train, data_dir)
    if eval_data is not None:
        (x_eval, y_eval), description = eval_data, {"source": "given by the caller (eval_data)", "size": int(len(eval_data[0]))}
    else:
        (x_train, y_train), (x_eval, y_eval), description = _split(x_train, y_train, val_size)
    if n_eval is not None:
        if n_eval < 1:
            raise TrainError(f"--n-eval must be >= 1, got {n_eval}")
        x_eval, y_eval = x_eval[:n_eval], y_eval[:n_eval]
    num_classes = DATASETS[dataset].num_classes if dataset in DATASETS else int(y_train.max()) + 1
    return x_train, y_train, x_eval, y_eval, num_classes, description


class _Run:
    """One training run's state: model, objective, optimiser, schedule, checkpoints."""

    def __init__(
        self, recipe: Recipe, setup: Setup, out: Path, seed: int, process: _Process, progress: bool, validation: dict[str, Any]
    ) -> None:
        self.recipe, self.setup, self.out, self.seed, self.process = recipe, setup, out, seed, process
        self.progress = progress and process.is_main
        self.validation = validation
        self.select = _select_key(setup.selection)

    def run(
        self, x_train: Tensor, y_train: Tensor, x_eval: Tensor, y_eval: Tensor, num_classes: int, *, stop_after: int | None
    ) -> TrainResult:
        setup, process = self.setup, self.process
        if setup.batch_size % process.world_size:
            raise TrainError(f"batch size {setup.batch_size} is not divisible by {process.world_size} processes: pass --batch-size")
        config = self._config(x_train, x_eval, num_classes)
        torch.manual_seed(self.seed)
        model = create_model(
            setup.arch,
            num_classes,
            int(x_train.shape[1]),
            head=self.recipe.head,
            head_kwargs=dict(self.recipe.head_kwargs) or None,
            img_size=int(x_train.shape[-1]),
        ).to(process.device)
        objective = create_objective(self.recipe.objective, **setup.hyperparameters).to(process.device)
        optimizer = _optimizer(setup, list(model.parameters()))
        sampler = DistributedSampler(
            TensorDataset(x_train, y_train), num_replicas=process.world_size, rank=process.rank, shuffle=True, seed=self.seed
        )
        per_rank_batch = setup.batch_size // process.world_size
        loader = DataLoader(TensorDataset(x_train, y_train), batch_size=per_rank_batch, sampler=sampler)
        if len(loader) == 0:
            raise TrainError("no training examples: pass more examples (--n-train) or a smaller --batch-size")
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(setup, len(loader)))
        trained = DistributedDataParallel(model) if process.world_size > 1 else model

        state = self._resume(config, model, optimizer, scheduler, objective)
        if state["history"]:  # the stop rule is re-read on resume: a run stopped by an older rule goes on if this one would not stop it
            state["stopped"] = _stop_reason(setup, state["history"])
        log_path = self.out / "log.jsonl"
        n_robust, val_eps = self.validation["n_robust"], self.validation["eps"]
        for epoch in range(state["epoch"], setup.epochs):
            if state.get("stopped") or (stop_after is not None and epoch >= stop_after):
                break
            started, cpu_started = time.perf_counter(), time.process_time()
            record = self._epoch(epoch, trained, model, objective, optimizer, scheduler, loader, sampler)
            record["train_seconds"] = time.perf_counter() - started
            record["val_clean_accuracy"] = _clean_accuracy(model, x_eval, y_eval, 2 * per_rank_batch, process)
            record["val_robust_accuracy"] = (
                _robust_accuracy(model, x_eval[:n_robust], y_eval[:n_robust], val_eps, 2 * per_rank_batch, self.seed, process,
                                 _VAL_ATTACK_NAMES[self.validation["attack"]])
                if n_robust else None
            )
            record["seconds"] = time.perf_counter() - started
            # CPU seconds of every rank (= core-seconds at one thread per process): the budget on a shared
            # machine, where wall time also counts the waits for other people's processes.
            (record["cpu_seconds"],) = _all_sum([time.process_time() - cpu_started], process)
            state["wall_time_seconds"] += record["seconds"]
            state["history"].append(record)
            state["stopped"] = _stop_reason(setup, state["history"])
            self._checkpoint(epoch + 1, state, model, optimizer, scheduler, objective)
            if process.is_main:
                with log_path.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
        return self._finish(state, config, model)

    def _continues(self, state: dict[str, Any], config: dict[str, Any]) -> bool:
        """Whether the finished run in ``out`` (its ``metadata.json`` holds the configuration it ran
        with) differs from ``config`` only where :func:`_trajectory` looks away: a raised ceiling."""
        try:
            metadata = json.loads((self.out / "metadata.json").read_text())
            ran = {key: metadata[key] for key in config}
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return _fingerprint(ran) == state.get("fingerprint") and _trajectory(ran) == _trajectory(config)

    def _config(self, x_train: Tensor, x_eval: Tensor, num_classes: int) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed (and what metadata records)."""
        return {
            "recipe": self.recipe.name,
            "objective": self.recipe.objective,
            "head": self.recipe.head,
            "head_kwargs": dict(self.recipe.head_kwargs),
            "setup": self.setup.to_dict(),
            "seed": self.seed,
            "world_size": self.process.world_size,
            "num_classes": num_classes,
            "input_shape": list(x_train.shape[1:]),
            "n_train": int(len(x_train)),
            "n_eval": int(len(x_eval)),
            "validation": self.validation,
        }

    def _epoch(self, epoch, trained, model, objective, optimizer, scheduler, loader, sampler) -> dict[str, Any]:  # noqa: ANN001
        """One pass over the training set; returns the epoch's mean loss and training accuracy."""
        setup, process = self.setup, self.process
        sampler.set_epoch(epoch)
        objective.start_epoch(epoch)
        epoch_seed = _epoch_seed(self.seed, epoch)  # the same on every rank (module docstring)
        torch.manual_seed(epoch_seed)  # dropout (the global batch's masks: _dropout_rows) and any other global-RNG draw
        generator = torch.Generator().manual_seed(epoch_seed)  # augmentation, mixup, noise, PGD starts
        model.train()
        loss_sum = correct = seen = 0.0
        lr = optimizer.param_groups[0]["lr"]
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{setup.epochs}", disable=not self.progress, leave=False)
        with _dropout_rows(model, process):
            for step, (x, y) in enumerate(bar):
                x, y = x.to(process.device), y.to(process.device)
                x = _augment(x, setup.augmentation, generator, process)
                x, labels = _mix(x, y, setup.mixup, generator)
                x_adv = _perturb(setup, objective, model, x, labels, generator, epoch + step / len(loader), process)
                loss, logits = objective(trained, x, labels, x_adv)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                batch = len(x)
                loss_sum += float(loss.detach()) * batch
                correct += float((logits.detach().argmax(dim=1) == hard_labels(labels)).sum())
                seen += batch
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}")
        loss_sum, correct, seen = _all_sum([loss_sum, correct, seen], process)
        return {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / seen, "train_accuracy": correct / seen}

    # --- checkpointing --------------------------------------------------------------------

    def _resume(self, config, model, optimizer, scheduler, objective) -> dict[str, Any]:  # noqa: ANN001
        """Load the newest checkpoint of this configuration, or start a fresh state."""
        fingerprint = _fingerprint(config)
        state_path = self.out / _STATE_FILE
        fresh = {"epoch": 0, "fingerprint": fingerprint, "history": [], "wall_time_seconds": 0.0, "best": None}
        if not state_path.exists():
            _barrier(self.process)  # nobody reads before every rank saw there is nothing to read
            if self.process.is_main:
                self.out.mkdir(parents=True, exist_ok=True)
                (self.out / "log.jsonl").write_text("")
            _barrier(self.process)
            return fresh
        damaged = f"delete {self.out} to start over, or pass a new --out"
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError) as error:  # truncated or unreadable: a sentence, not a traceback
            raise TrainError(f"{state_path} is damaged ({type(error).__name__}): {damaged}") from None
        if not isinstance(state, dict) or (state.get("fingerprint") != fingerprint and not self._continues(state, config)):
            raise TrainError(
                f"{self.out} holds a run with another configuration: pass a new --out, or delete it to start over"
            )
        state["fingerprint"] = fingerprint
        directory = self.out / str(state.get("checkpoint", "<none>"))
        objective_file = directory / f"objective-rank{self.process.rank}.safetensors"
        needed = (directory / "model.safetensors", directory / "optimizer.safetensors", objective_file)
        missing = [path.name for path in needed if not path.is_file()]
        if missing or not {"optimizer", "scheduler"} <= state.keys():
            raise TrainError(f"{self.out}: the checkpoint state.json points at ({directory}) is incomplete "
                             f"(missing {', '.join(missing) or 'optimizer/scheduler state'}): {damaged}")
        try:
            model.load_state_dict(load_file(directory / "model.safetensors", device=str(self.process.device)))
            _optimizer_from_files(optimizer, load_file(directory / "optimizer.safetensors", device=str(self.process.device)), state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            objective.load_state_dict(load_file(objective_file, device=str(self.process.device)))
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as error:
            raise TrainError(f"{directory} cannot be resumed ({type(error).__name__}): {damaged}") from None
        return state

    def _checkpoint(self, epoch, state, model, optimizer, scheduler, objective) -> None:  # noqa: ANN001
        """Write epoch ``epoch``'s checkpoint; update the best weights; point state.json at it."""
        directory = self.out / "checkpoints" / f"epoch-{epoch:04d}"
        if self.process.is_main:
            directory.mkdir(parents=True, exist_ok=True)
        _barrier(self.process)
        save_file(_tensors(objective.state_dict()), directory / f"objective-rank{self.process.rank}.safetensors")
        optimizer_tensors, optimizer_rest = _optimizer_to_files(optimizer)
        latest = state["history"][-1]  # all-reduced: the same on every rank
        improved = self.select is not None and (
            state["best"] is None or self.select(latest) > self.select(state["history"][state["best"]["epoch"] - 1])
        )
        if improved:
            state["best"] = {"epoch": epoch}
        if self.process.is_main:
            save_file(_tensors(model.state_dict()), directory / "model.safetensors")
            save_file(optimizer_tensors, directory / "optimizer.safetensors")
            if improved:
                shutil.copyfile(directory / "model.safetensors", self.out / "checkpoints" / "best.safetensors")
        _barrier(self.process)
        previous = state.get("checkpoint")
        state.update(
            epoch=epoch,
            checkpoint=str(directory.relative_to(self.out)),
            optimizer=optimizer_rest,
            scheduler=scheduler.state_dict(),  # plain numbers; lr_lambdas is [None] for a function
        )
        if self.process.is_main:
            write_json(self.out / _STATE_FILE, state)
            if previous and previous != state["checkpoint"]:
                shutil.rmtree(self.out / previous, ignore_errors=True)
        _barrier(self.process)

    def _finish(self, state: dict[str, Any], config: dict[str, Any], model: nn.Module) -> TrainResult:
        """Write the selected weights and metadata once every epoch is done."""
        finished = state["epoch"] >= self.setup.epochs or bool(state.get("stopped"))
        weights = sha = None
        meta: dict[str, Any] = {}
        if finished:
            best = self.select is not None
            source = self.out / ("checkpoints/best.safetensors" if best else f"{state['checkpoint']}/model.safetensors")
            selected_epoch = state["best"]["epoch"] if best else state["epoch"]
            selected = state["history"][selected_epoch - 1]
            curve = [r.get("val_robust_accuracy") for r in state["history"]]
            weights = self.out / "model.safetensors"
            if self.process.is_main:
                shutil.copyfile(source, weights)
            _barrier(self.process)
            sha = sha256_file(weights)
            meta = {
                **config,
                "recipe_title": self.recipe.title,
                "paper": self.recipe.paper,
                "checkpoint_rule": self.recipe.checkpoint,
                "dataset": self.setup.dataset,
                "arch": self.setup.arch,
                "epochs": self.setup.epochs,
                "epochs_done": state["epoch"],
                "stopped": state.get("stopped"),
                "converged": None not in curve and converged(curve),
                "selection": self.setup.selection,
                "selected_epoch": selected_epoch,
                "selected_val_clean_accuracy": selected["val_clean_accuracy"],
                "selected_val_robust_accuracy": selected.get("val_robust_accuracy"),
                "wall_time_seconds": state["wall_time_seconds"],
                "cpu_seconds": sum(r.get("cpu_seconds", 0.0) for r in state["history"]),
                "versions": package_versions(),
                "weights": weights.name,
                "sha256": sha,
                "history": state["history"],
            }
            if self.process.is_main:
                write_json(self.out / "metadata.json", meta)
        return TrainResult(self.out, model, weights, sha, state["epoch"], finished, state["history"], meta)
