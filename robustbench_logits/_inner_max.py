"""The inner maximisation of adversarial training: L-inf PGD with a random start and a pluggable loss.

x^(t+1) = Proj_{B_eps(x) cap [0,1]}(x^(t) + alpha sign(grad_x g'(f(x^(t)), y))) (LMA-AT eq. 2,
Madry et al. 2018). Written by hand because torchattacks' PGD hard-codes cross-entropy, and the
recipes ascend three losses: CE (PGD-AT, MART, ALP, LRM, LAA+ADV), TRADES' KL(p(x) || p(x'))
and LMA-AT's CE + L'_i (eq. 12). Evaluation attacks are in ``attacks.py``; this one only makes
training examples.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

from robustbench_logits import losses
from robustbench_logits._distributed import Process, rank_rows
from robustbench_logits.heads import LogitHead
from robustbench_logits.objectives import MixedLabels
from robustbench_logits.recipes import InnerMax, RecipeError

__all__ = ["ATTACK_LOSSES", "inner_maximisation"]

ATTACK_LOSSES = ("ce", "trades_kl", "ce_margin")
"""Losses the inner PGD can ascend (``InnerMax.loss``)."""

# LMA-AT's margin delta is a hyperparameter of its objective; the attack uses the same value.
_DEFAULT_MARGIN = 0.9


def _attack_loss(
    name: str, model: nn.Module, x: Tensor, y: Tensor | MixedLabels, margin: float
) -> Callable[[Tensor], Tensor]:
    """The function of the adversarial logits that PGD ascends."""
    if name == "ce":
        if isinstance(y, MixedLabels):
            return lambda logits: losses.mixup_cross_entropy(logits, y.y_a, y.y_b, y.lam)
        return lambda logits: losses.cross_entropy(logits, y)
    if isinstance(y, MixedLabels):
        raise RecipeError(f"inner attack loss {name!r} does not take mixed labels: use 'ce' or drop mixup")
    if name == "trades_kl":
        with torch.no_grad():
            logits_nat = model(x)
        return lambda logits: losses.trades_attack_loss(logits, logits_nat)
    if name == "ce_margin":
        return lambda logits: losses.lma_attack_loss(logits, y, margin)
    raise RecipeError(f"unknown inner attack loss {name!r}: choose one of {', '.join(ATTACK_LOSSES)}")


@contextlib.contextmanager
def _attack_mode(model: nn.Module) -> Iterator[None]:
    """Attack the training-time function with batch-norm statistics frozen and dropout off.

    The model is put in eval mode (as the TRADES and MART reference code do), except its logit
    head, which keeps its training form: S-Tanh (LCAT eq. 7) is tanh(z) while training and
    tanh(100 z) in eval mode, and the inner attack must ascend the loss being trained (the
    steep form would mask its gradient). Modes are restored afterwards.
    """
    modes = [(module, module.training) for module in model.modules()]
    # Only a logit head (LogitHeadModel.head) keeps its mode: many timm classifiers also have a
    # ``head`` attribute (with dropout), which must go to eval mode with the rest.
    head = getattr(model, "head", None)
    logit_head = head if isinstance(head, LogitHead) else None
    head_training = logit_head.training if logit_head is not None else False
    model.eval()
    if logit_head is not None:
        logit_head.train(head_training)
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _random_start(x: Tensor, attack: InnerMax, generator: torch.Generator, process: Process | None = None) -> Tensor:
    """x plus the start noise; under torchrun, this rank's rows of the global batch's noise (``rank_rows``)."""
    if attack.start == "uniform":  # Madry et al.: U(-eps, eps)
        noise = (2.0 * rank_rows(lambda shape: torch.rand(shape, generator=generator), x.shape, process) - 1.0) * attack.eps
    elif attack.start == "normal":  # TRADES code, LMA-AT Alg. 1: 0.001 N(0, I)
        noise = 0.001 * rank_rows(lambda shape: torch.randn(shape, generator=generator), x.shape, process)
    else:
        raise RecipeError(f"unknown PGD start {attack.start!r}: use 'uniform' or 'normal'")
    return (x + noise.to(device=x.device, dtype=x.dtype)).clamp(0.0, 1.0)


def inner_maximisation(
    model: nn.Module,
    x: Tensor,
    y: Tensor | MixedLabels,
    attack: InnerMax,
    generator: torch.Generator,
    margin: float = _DEFAULT_MARGIN,
    *,
    process: Process | None = None,
) -> Tensor:
    """PGD training examples x' in B_eps(x) cap [0, 1] that ascend ``attack.loss`` (LMA-AT eq. 2).

    ``model`` is the plain module (not the DDP wrapper: the attack must not trigger gradient
    synchronisation). Only input gradients are computed; parameter ``.grad`` is untouched.
    Under torchrun, pass ``process``: ``x`` is then this rank's rows ``rank::world`` of the global
    batch and the random start is those rows of the global batch's start (``rank_rows``).
    """
    # B_eps(x) cap [0, 1] as one box, computed once: per step a sign, an add and a clamp (three
    # elementwise passes instead of eight). The same numbers: x in [0, 1] makes lower <= upper, and
    # step_size * sign(g) is exact, so a fused add rounds as the separate multiply and add did.
    lower, upper = (x - attack.eps).clamp_min(0.0), (x + attack.eps).clamp_max(1.0)
    with _attack_mode(model):
        loss_of = _attack_loss(attack.loss, model, x, y, margin)
        x_adv = _random_start(x, attack, generator, process)
        for _ in range(attack.steps):
            x_adv.requires_grad_(True)
            loss = loss_of(model(x_adv))
            (grad,) = torch.autograd.grad(loss, [x_adv])
            x_adv = torch.clamp(torch.add(x_adv.detach(), grad.sign(), alpha=attack.step_size), lower, upper)
    return x_adv.detach()

