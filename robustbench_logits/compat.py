"""What the pinned upstream packages need to work together.

robustbench 1.1.1 was written against AutoAttack's GitHub package, imported as
``autoattack``, which is not on PyPI. PyPI has it as ``pyautoattack`` 0.2.0, with the same
attacks but another interface. :func:`install` (run once, on package import) registers a
small ``autoattack`` module that speaks robustbench's dialect and delegates to pyautoattack:

* ``AutoAttack(model, norm=, eps=, version=, device=, log_path=, seed=)``: keyword names as
  robustbench passes them. ``seed`` defaults to 0 instead of the wall clock, so a
  RobustBench evaluation is reproducible and equals our own ``benchmark`` (also seed 0).
* ``run_standard_evaluation(x, y, bs=, state_path=)`` returns ``x_adv`` alone, as robustbench
  expects, where pyautoattack returns ``(x_adv, y_adv)``.
* ``autoattack.state.EvaluationState`` is pyautoattack's.

It also routes robustbench's CIFAR-10/100 test loaders through :func:`data.load_dataset`, so a
``cifar-10-batches-py`` dir is read without torchvision's download-and-md5 step (which fails
offline and rejects small fixtures); when that dir is missing, robustbench's own loader (and
download) runs as before. Nothing here is needed once robustbench depends on pyautoattack.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import types
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["RobustBenchAutoAttack", "install"]

_installed = False


class RobustBenchAutoAttack:
    """pyautoattack's AutoAttack behind the constructor and call robustbench 1.1.1 use."""

    def __init__(
        self,
        model: torch.nn.Module,
        norm: str = "Linf",
        eps: float = 0.3,
        version: str = "standard",
        device: torch.device | str = "cpu",
        log_path: str | None = None,
        seed: int | None = 0,
        **kwargs: Any,
    ) -> None:
        from pyautoattack import AutoAttack

        self.attack = AutoAttack(model, eps=eps, norm=norm, version=version, device=device, seed=seed, **kwargs)
        if log_path is not None:
            self.attack.logger.addHandler(logging.FileHandler(log_path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["attack"], name)

    def run_standard_evaluation(
        self, x_orig: torch.Tensor, y_orig: torch.Tensor, bs: int = 250, state_path: Path | None = None, **_: Any
    ) -> torch.Tensor:
        state = Path(state_path) if state_path is not None else None
        x_adv, _y_adv = self.attack.run_standard_evaluation(x_orig, y_orig, batch_size=bs, state_path=state)
        return x_adv


def _offline_first(name: str, original: Callable) -> Callable:
    def load(n_examples: int | None, data_dir: str, prepr: Callable) -> tuple[torch.Tensor, torch.Tensor]:
        from robustbench_logits.data import load_dataset
        from robustbench_logits.errors import DatasetError

        try:
            return load_dataset(name, split="test", n_examples=n_examples, data_dir=data_dir)
        except DatasetError:
            return original(n_examples, data_dir, prepr)

    return load


def _patch_robustbench_data(rb_data: types.ModuleType) -> None:
    from robustbench.model_zoo.enums import BenchmarkDataset

    for dataset, name in ((BenchmarkDataset.cifar_10, "cifar10"), (BenchmarkDataset.cifar_100, "cifar100")):
        rb_data._clean_dataset_loaders[dataset] = _offline_first(name, rb_data._clean_dataset_loaders[dataset])


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patch ``robustbench.data`` right after it is first imported: importing robustbench
    eagerly would add seconds (pandas, gdown) to every ``import robustbench_logits``."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "robustbench.data":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        execute = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            execute(module)
            _patch_robustbench_data(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Register the ``autoattack`` shim and the offline CIFAR loaders (idempotent)."""
    global _installed
    if _installed:
        return
    if "autoattack" not in sys.modules:
        import pyautoattack.state

        shim = types.ModuleType("autoattack", "robustbench_logits.compat: AutoAttack's GitHub API on pyautoattack")
        shim.AutoAttack = RobustBenchAutoAttack
        shim.state = pyautoattack.state
        shim.__path__ = []  # a package, so `from autoattack.state import ...` resolves
        sys.modules["autoattack"] = shim
        sys.modules["autoattack.state"] = pyautoattack.state
    if "robustbench.data" in sys.modules:
        _patch_robustbench_data(sys.modules["robustbench.data"])
    else:
        sys.meta_path.insert(0, _PatchOnImport())
    _installed = True
