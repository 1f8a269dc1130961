"""LMA-AT: CE + squared multi-class hinge L'_i (eq. 12) in the inner maximisation and the loss,
plus beta mHuber between moving averages of adversarial and natural logits (sec. 4.3).

Table 1: Standard AT+Ours (eq. 14), TRADES+Ours (eq. 16), MART+Ours, LMA-AT (eq. 17). Every
variant attacks with CE + L'_i from x + 0.001 N(0, I) (Alg. 1). Sec. 5.1: delta 0.9, tau 0.2,
beta 86 (CIFAR-10) / 96 (CIFAR-100), alpha 5.345 (ResNet-18) / 2.345 (WRN-34-10), 1/lambda 6
(TRADES), lambda 5 (MART).
"""

from __future__ import annotations

from dataclasses import replace

from robustbench_logits.recipes._base import InnerMax, Recipe, Setup
from robustbench_logits.recipes._settings import LMA, MNIST_PGD40, adapted_mnist, lma_cifar

_CIFAR_ATTACK = InnerMax(eps=8 / 255, step_size=2 / 255, steps=10, loss="ce_margin", start="normal")
_MNIST_ATTACK = replace(MNIST_PGD40, loss="ce_margin", start="normal")


def _setups() -> tuple[Setup, ...]:
    """Sec. 5.1 settings: RN18 on CIFAR-10/100, WRN-34-10 on CIFAR-10; adapted MNIST."""
    return (
        replace(lma_cifar("cifar10", "resnet18_cifar"), attack=_CIFAR_ATTACK),
        replace(lma_cifar("cifar10", "wide_resnet34_10", mhuber_alpha=2.345), attack=_CIFAR_ATTACK),
        replace(lma_cifar("cifar100", "resnet18_cifar", mhuber_weight=96.0), attack=_CIFAR_ATTACK),
        adapted_mnist("cnn2c2f", attack=_MNIST_ATTACK),
    )


_COMMON = {"margin": 0.9, "mhuber_weight": 86.0, "mhuber_alpha": 5.345, "tau": 0.2}
_CHECKPOINT = "the last epoch (the paper states no selection rule); adapted MNIST: the best clean epoch"


def _variant(name: str, title: str, base: str, **hp: float) -> Recipe:
    return Recipe(
        name=name,
        title=title,
        paper=f"{LMA} (Table 1)",
        objective="lma",
        hyperparameters={"base": base, **_COMMON, **hp},
        setups=_setups(),
        checkpoint=_CHECKPOINT,
    )


AT_OURS = _variant("at-ours", "Standard AT+Ours: L' + CE(x') + beta mHuber (eq. 14)", "at")
TRADES_OURS = _variant("trades-ours", "TRADES+Ours: L' + CE(x) + (1/lambda) KL + beta mHuber (eq. 16)", "trades", kl_weight=6.0)
MART_OURS = _variant("mart-ours", "MART+Ours: L' + BCE(x') + lambda KL (1 - p_y(x)) + beta mHuber", "mart", kl_weight=5.0)
LMA_AT = _variant("lma-at", "LMA-AT: L' + BCE(x') + beta mHuber (eq. 17, Alg. 1)", "bce")

RECIPES = (AT_OURS, TRADES_OURS, MART_OURS, LMA_AT)
