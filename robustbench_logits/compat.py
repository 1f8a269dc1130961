"""AutoAttack's GitHub API, and robustbench's offline CIFAR loading, on the PyPI packages we pin.

robustbench was written against AutoAttack's GitHub package, imported as ``autoattack``, which
is not on PyPI. PyPI has it as ``pyautoattack``, with the same attacks behind another
interface (keyword-only arguments, ``attacks=`` instead of ``attacks_to_run``, ``(x_adv, y_adv)``
returns). When no real ``autoattack`` is installed, :mod:`robustbench_logits._import_hooks`
makes ``import autoattack`` give a module built here, whose :class:`RobustBenchAutoAttack`
speaks the GitHub dialect that robustbench and AutoAttack's README use:

* ``AutoAttack(model, norm=, eps=, version=, attacks_to_run=, device=, log_path=, seed=,
  verbose=)``, versions ``standard``, ``plus``, ``rand`` and ``custom``;
* attributes read *and written* on the wrapped attack: ``adversary.attacks_to_run = [...]``,
  ``adversary.apgd.n_restarts = 2``, ``adversary.seed = 0`` behave as in the README;
* ``run_standard_evaluation(x, y, bs=, return_labels=, state_path=)`` returns ``x_adv`` (or
  ``(x_adv, y_adv)`` with ``return_labels``); ``run_standard_evaluation_individual(x, y, bs=)``
  returns ``{attack: x_adv}``;
* ``autoattack.state`` is ``pyautoattack.state``.

Differences, chosen: ``seed`` defaults to 0 instead of the wall clock (a RobustBench evaluation
is then reproducible and equals our own ``benchmark``, also seed 0); ``device`` defaults to the
model's device instead of ``"cuda"``; TensorFlow models (``is_tf_model``) are refused, as
pyautoattack has no TensorFlow path.

:func:`patch_robustbench_data` routes robustbench's CIFAR-10/100 test loaders through
:func:`robustbench_logits.data.load_dataset`, so a ``cifar-10-batches-py`` dir is read without
torchvision's download-and-md5 step (which fails offline and rejects small fixtures); when that
dir is missing, robustbench's own loader (and download) runs as before.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyautoattack.state
import torch
from pyautoattack import AutoAttack as _PyAutoAttack

from robustbench_logits.data import load_dataset
from robustbench_logits.errors import DatasetError, UserError

__all__ = ["AutoAttackUsageError", "RobustBenchAutoAttack", "fill_autoattack_module", "patch_robustbench_data"]

VERSIONS = ("standard", "plus", "rand", "custom")


class AutoAttackUsageError(UserError, ValueError):
    """An AutoAttack call that the GitHub API would also reject (or that pyautoattack cannot run)."""


def _model_device(model: torch.nn.Module) -> torch.device:
    parameter = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    return parameter.device if parameter is not None else torch.device("cpu")


class RobustBenchAutoAttack:
    """pyautoattack's AutoAttack behind the constructor, attributes and calls of AutoAttack's GitHub API."""

    def __init__(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        norm: str = "Linf",
        eps: float = 0.3,
        seed: int | None = 0,
        verbose: bool = True,
        attacks_to_run: list[str] | None = None,
        version: str = "standard",
        is_tf_model: bool = False,
        device: torch.device | str | None = None,
        log_path: str | None = None,
    ) -> None:
        if is_tf_model:
            raise AutoAttackUsageError("TensorFlow models are not supported (pyautoattack is PyTorch only); "
                                       "wrap the model as a torch.nn.Module")
        if version not in VERSIONS:
            raise AutoAttackUsageError(f"unknown AutoAttack version {version!r}: use one of {', '.join(VERSIONS)}")
        if version != "custom" and attacks_to_run:
            raise AutoAttackUsageError("attacks_to_run is only used with version='custom'")
        attack = _PyAutoAttack(model, eps=eps, norm=norm, version=version, seed=seed,
                               device=device if device is not None else _model_device(model),
                               attacks=list(attacks_to_run) if version == "custom" and attacks_to_run else None)
        attack.verbose = verbose
        if version == "custom" and not attacks_to_run:
            attack.attacks_to_run = []
        if log_path is not None:
            attack.logger.addHandler(logging.FileHandler(log_path))
        object.__setattr__(self, "attack", attack)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["attack"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        # README: ``adversary.attacks_to_run = [...]``, ``adversary.seed = 0`` configure the attack itself.
        setattr(self.__dict__["attack"], name, value)

    def _check_attacks(self) -> None:
        if not self.attack.attacks_to_run:
            raise AutoAttackUsageError("no attacks to run: with version='custom' set e.g. "
                                       "adversary.attacks_to_run = ['apgd-ce', 'apgd-t']")

    def run_standard_evaluation(
        self,
        x_orig: torch.Tensor,
        y_orig: torch.Tensor,
        bs: int = 250,
        return_labels: bool = False,
        state_path: str | Path | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The cascade of ``attacks_to_run``; ``x_adv`` (and ``y_adv`` with ``return_labels``)."""
        self._check_attacks()
        state = Path(state_path) if state_path is not None else None
        x_adv, y_adv = self.attack.run_standard_evaluation(x_orig, y_orig, batch_size=bs, state_path=state)
        return (x_adv, y_adv) if return_labels else x_adv

    def run_standard_evaluation_individual(
        self, x_orig: torch.Tensor, y_orig: torch.Tensor, bs: int = 250, return_labels: bool = False
    ) -> dict[str, Any]:
        """Each attack on every example: ``{attack: x_adv}`` (``(x_adv, y_adv)`` with ``return_labels``)."""
        self._check_attacks()
        attacks, verbose = list(self.attack.attacks_to_run), self.attack.verbose
        try:
            results = self.attack.run_standard_evaluation_individual(x_orig, y_orig, batch_size=bs)
        finally:  # pyautoattack 0.2.0 leaves attacks_to_run at the last attack and verbose off
            self.attack.attacks_to_run, self.attack.verbose = attacks, verbose
        return {name: pair if return_labels else pair[0] for name, pair in results.items()}


def fill_autoattack_module(module: types.ModuleType) -> None:
    """Give a fresh ``autoattack`` module the GitHub package's public names."""
    module.__doc__ = "AutoAttack's GitHub API on pyautoattack (robustbench_logits.compat)"
    module.AutoAttack = RobustBenchAutoAttack  # type: ignore[attr-defined]
    module.state = pyautoattack.state  # type: ignore[attr-defined]


def _offline_first(name: str, original: Callable) -> Callable:
    def load(n_examples: int | None, data_dir: str, prepr: Callable) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return load_dataset(name, split="test", n_examples=n_examples, data_dir=data_dir)
        except DatasetError:
            return original(n_examples, data_dir, prepr)

    return load


def patch_robustbench_data(rb_data: types.ModuleType) -> None:
    """Read CIFAR-10/100 from a local ``cifar-*-batches-py`` dir before robustbench downloads."""
    # Called while robustbench.data executes, so robustbench is importing anyway; importing it at
    # the top would add seconds (pandas, gdown) to every ``import autoattack``.
    from robustbench.model_zoo.enums import BenchmarkDataset

    for dataset, name in ((BenchmarkDataset.cifar_10, "cifar10"), (BenchmarkDataset.cifar_100, "cifar100")):
        rb_data._clean_dataset_loaders[dataset] = _offline_first(name, rb_data._clean_dataset_loaders[dataset])
