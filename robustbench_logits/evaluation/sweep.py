"""Accuracy against eps (Kanai et al. Fig. 3), through the same attack helper as the cascade."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import torch
import torch.nn as nn

from robustbench_logits.attacks import AttackSpec, run_attack
from robustbench_logits.errors import UserError
from robustbench_logits.evaluation.cascade import derive_seed
from robustbench_logits.evaluation.inputs import check_inputs, eval_mode, resolve_dataset
from robustbench_logits.evaluation.statistics import ci95

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the display-less backend)

__all__ = ["EpsSweep", "eps_sweep"]


@dataclass
class EpsSweep:
    """Accuracy vs eps for one or more attacks (Kanai et al. Fig. 3: PGD-40 on MNIST, eps 0..0.3)."""

    model_name: str
    dataset: str
    threat_model: str
    eps: list[float]
    accuracy: dict[str, list[float]]
    n_examples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with each accuracy's 95 % Clopper-Pearson interval."""
        n = self.n_examples
        return {"model_name": self.model_name, "dataset": self.dataset, "threat_model": self.threat_model,
                "eps": self.eps, "n_examples": n, "accuracy": self.accuracy,
                "accuracy_ci95": {name: [ci95(round(a * n), n) for a in values] for name, values in self.accuracy.items()}}

    def plot(self, path: str | os.PathLike) -> Path:
        """Write the accuracy-vs-eps plot as PNG, with the 95 % intervals as error bars."""
        figure, axes = plt.subplots(figsize=(4.5, 3.5))
        intervals = self.to_dict()["accuracy_ci95"]
        for attack, accuracies in self.accuracy.items():
            low = [100 * (a - ci[0]) for a, ci in zip(accuracies, intervals[attack])]
            high = [100 * (ci[1] - a) for a, ci in zip(accuracies, intervals[attack])]
            axes.errorbar(self.eps, [100 * a for a in accuracies], yerr=[low, high], marker="o", capsize=2, label=attack)
        axes.set_xlabel(f"eps ({self.threat_model})")
        axes.set_ylabel("accuracy (%, 95 % CI)")
        axes.set_ylim(0, 100)
        axes.set_title(f"{self.model_name} on {self.dataset}")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = Path(path)
        figure.savefig(path, format="png", dpi=120)
        plt.close(figure)
        return path


def eps_sweep(
    model: nn.Module,
    dataset: str | tuple[torch.Tensor, torch.Tensor] = "mnist",
    eps_values: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    n_examples: int = 1000,
    attacks: Sequence[AttackSpec] | None = None,
    threat_model: str = "Linf",
    device: str | torch.device | None = None,
    *,
    batch_size: int = 250,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    model_name: str | None = None,
) -> EpsSweep:
    """Accuracy of each attack (default PGD-40, Kanai et al. sec. 5.1) at each eps; eps = 0 is clean."""
    device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
    name, x, y, num_classes = resolve_dataset(dataset, n_examples, data_dir)
    attacks = list(attacks) if attacks is not None else [AttackSpec("pgd-40", "pgd", {"steps": 40})]
    if any(spec.instance is not None for spec in attacks):
        raise UserError("eps_sweep needs attack specs (kind + params): a built attack instance has its own fixed eps")
    if len({spec.name for spec in attacks}) != len(attacks):
        raise UserError("attack names must be unique in an eps sweep: rename the repeated one")
    accuracy: dict[str, list[float]] = {spec.name: [] for spec in attacks}
    model = model.to(device)
    with eval_mode(model):
        check_inputs(model, x, y, num_classes, device)
        for position, spec in enumerate(attacks):
            for eps in eps_values:
                correct = 0
                for chunk, start in enumerate(range(0, x.shape[0], batch_size)):
                    xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
                    if eps > 0:
                        xb = run_attack(spec, model, xb, yb, eps, threat_model, derive_seed(seed, position, chunk))
                    with torch.no_grad():
                        correct += int((model(xb).argmax(1) == yb).sum())
                accuracy[spec.name].append(correct / x.shape[0])
    return EpsSweep(model_name or type(model).__name__, name, threat_model, [float(e) for e in eps_values], accuracy,
                    int(x.shape[0]))
