"""Training objectives: which forward passes feed which of the papers' losses, one per method family.

An objective is called as ``objective(model, x, y, x_adv) -> (loss, logits)``: ``x`` is the
clean batch, ``x_adv`` its perturbed copy (PGD examples from the trainer's inner maximisation,
or LCAT's uniform-noised B*; ``None`` when the recipe has neither), ``loss`` the scalar to
minimise and ``logits`` the model outputs of the examples the classification term is computed
on (the trainer reports training accuracy on them). The loss math itself is in ``losses.py``;
this module only decides the forward passes. "Logits" are the model's outputs, i.e. after a
logit head when the model has one (LCAT defines O as the output of the classifier "with
specific activating function", eq. 6; Kanai et al. apply softmax to gamma g(z), eq. 5).

``y`` is an int64 label tensor, or :class:`MixedLabels` after mixup / VH-mixup (LRM).
Objectives with state (LMA's moving-average logits) keep it in buffers: ``state_dict`` and
``load_state_dict`` checkpoint it; ``start_epoch`` lets phased objectives (PC-LC's CE warm-up)
follow the epoch.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from robustbench_logits import losses
from robustbench_logits.errors import UserError
from robustbench_logits.heads import LogitHead

__all__ = [
    "OBJECTIVES",
    "AdversarialLogitPairing",
    "CrossEntropy",
    "InverseCrossEntropy",
    "LabelSmoothing",
    "LogitRegularizationMethods",
    "LogitSqueezing",
    "LogitsAmplitudeAlignment",
    "MarginMovingAverage",
    "Mart",
    "MixedLabels",
    "Objective",
    "ObjectiveError",
    "ProbabilisticallyCompact",
    "Trades",
    "create_objective",
    "hard_labels",
]


class ObjectiveError(UserError):
    """An objective name or hyperparameter is unknown or invalid."""


class MixedLabels(NamedTuple):
    """Labels of a mixed batch: example i is lam_i parts y_a[i] and 1 - lam_i parts y_b[i] (LRM sec. 4)."""

    y_a: Tensor
    y_b: Tensor
    lam: float | Tensor


def hard_labels(y: Tensor | MixedLabels) -> Tensor:
    """One label per example for accuracy: the label itself, or the larger share of a mix."""
    if isinstance(y, MixedLabels):
        lam = torch.as_tensor(y.lam, device=y.y_a.device).expand(y.y_a.shape)
        return torch.where(lam >= 0.5, y.y_a, y.y_b)
    return y


def _plain(y: Tensor | MixedLabels, objective: str) -> Tensor:
    if isinstance(y, MixedLabels):
        raise ObjectiveError(f"objective {objective!r} does not take mixed labels: remove mixup from the recipe")
    return y


class Objective(nn.Module):
    """Base class: ``objective(model, x, y, x_adv) -> (loss, logits)``.

    ``uses_perturbed`` says whether the objective needs ``x_adv`` (the trainer then runs the
    recipe's inner attack or noise). An ``nn.Module`` so that state lives in buffers.
    """

    name: ClassVar[str] = ""
    uses_perturbed: bool = False

    def start_epoch(self, epoch: int) -> None:
        """Called by the trainer before each epoch (0-based); stateless objectives ignore it."""

    def forward(self, model: nn.Module, x: Tensor, y: Tensor | MixedLabels, x_adv: Tensor | None) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _perturbed(self, x_adv: Tensor | None) -> Tensor:
        if x_adv is None:
            raise ObjectiveError(
                f"objective {self.name!r} needs perturbed inputs: give the recipe an attack or a noise intensity"
            )
        return x_adv


def _check_on(on: str) -> str:
    if on not in ("clean", "perturbed"):
        raise ObjectiveError(f"'on' must be 'clean' or 'perturbed', got {on!r}")
    return on


class CrossEntropy(Objective):
    """Softmax cross-entropy on clean (standard training, Kanai eq. 2) or perturbed inputs.

    ``on="perturbed"`` is PGD-AT (Madry et al.; LMA-AT eq. 1, 13) with PGD examples, BLF+AT with
    a BLF head, and LCAT's CE+NOI rows (Table 2) with uniform-noised inputs.
    """

    name = "cross_entropy"

    def __init__(self, on: str = "clean") -> None:
        super().__init__()
        self.on = _check_on(on)
        self.uses_perturbed = on == "perturbed"

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        inputs = self._perturbed(x_adv) if self.uses_perturbed else x
        logits = model(inputs)
        return losses.cross_entropy(logits, _plain(y, self.name)), logits


class LabelSmoothing(Objective):
    """CE against targets 1 - s (label), s / (C - 1) (others): Summers eq. 8, Kanai sec. 2.1.

    ``on="perturbed"`` is Kanai's label smoothing with adversarial training (sec. 5, AT rows).
    """

    name = "label_smoothing"

    def __init__(self, smoothing: float, on: str = "clean") -> None:
        super().__init__()
        self.smoothing = smoothing
        self.on = _check_on(on)
        self.uses_perturbed = on == "perturbed"

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits = model(self._perturbed(x_adv) if self.uses_perturbed else x)
        return losses.label_smoothing_cross_entropy(logits, _plain(y, self.name), self.smoothing), logits


class LogitSqueezing(Objective):
    """CE + weight / 2 ||z||^2 (Kanai eq. 3, after Kannan et al. 2018).

    ``on="perturbed"`` applies it to PGD examples: Kanai's logit squeezing with adversarial
    training (sec. 5, AT rows).
    """

    name = "logit_squeezing"

    def __init__(self, weight: float, on: str = "clean") -> None:
        super().__init__()
        self.weight = weight
        self.on = _check_on(on)
        self.uses_perturbed = on == "perturbed"

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits = model(self._perturbed(x_adv) if self.uses_perturbed else x)
        labels = _plain(y, self.name)
        return losses.cross_entropy(logits, labels) + losses.logit_squeezing(logits, self.weight), logits


class InverseCrossEntropy(Objective):
    """ICE, LCAT eq. 4: CE(z, y) - lambda sum_i CE(z, i), on clean (ICE row) or noised inputs (ICE+NOI)."""

    name = "ice"

    def __init__(self, weight: float, on: str = "clean") -> None:
        super().__init__()
        self.weight = weight
        self.on = _check_on(on)
        self.uses_perturbed = on == "perturbed"

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        inputs = self._perturbed(x_adv) if self.uses_perturbed else x
        logits = model(inputs)
        return losses.ice_loss(logits, _plain(y, self.name), self.weight), logits


class LogitsAmplitudeAlignment(Objective):
    """LAA, LCAT eq. 6: focal(f(B*)) + lambda (||l(B*) - beta|| + |mean l(B*) - mean l(B)|).

    B* is ``x_adv``: uniform noise for LCAT (LAA+NOI+Tanh), PGD-5 examples for LAA+ADV+Tanh.
    Gradients flow through both forward passes. Reports accuracy on B*. ``norm``, ``mean``
    (``losses.laa_loss``) and ``amplitude_of`` choose among the readings the text leaves open:
    ``"output"`` takes l on the model's output (after the training-time head; the default),
    ``"logits"`` on the pre-head logits z (read off the head's input, so it works under DDP).
    """

    name = "laa"
    uses_perturbed = True

    def __init__(self, weight: float = 15.0, amplitude_target: float = 2.0, gamma: float = 2.0, norm: str = "batch",
                 mean: str = "batch", amplitude_of: str = "output") -> None:
        super().__init__()
        if amplitude_of not in ("output", "logits"):
            raise ObjectiveError(f"LAA amplitude_of={amplitude_of!r}: use 'output' or 'logits'")
        self.weight, self.amplitude_target, self.gamma = weight, amplitude_target, gamma
        self.norm, self.mean, self.amplitude_of = norm, mean, amplitude_of

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        if self.amplitude_of == "output":
            logits_noisy, logits_clean = model(self._perturbed(x_adv)), model(x)
            amplitudes = (None, None)
        else:
            (logits_noisy, z_noisy), (logits_clean, z_clean) = _with_pre_head(model, self._perturbed(x_adv)), \
                _with_pre_head(model, x)
            amplitudes = (losses.logit_amplitude(z_noisy), losses.logit_amplitude(z_clean))
        loss = losses.laa_loss(logits_noisy, logits_clean, _plain(y, self.name), self.weight, self.amplitude_target,
                               self.gamma, self.norm, self.mean, *amplitudes)
        return loss, logits_noisy


def _with_pre_head(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """(output, pre-head logits z) of one forward pass, z captured at the logit head's input."""
    head = getattr(getattr(model, "module", model), "head", None)  # DistributedDataParallel keeps it in .module
    if not isinstance(head, LogitHead):
        raise ObjectiveError("LAA amplitude_of='logits' needs a model with a logit head (LogitHeadModel)")
    seen: list[Tensor] = []
    handle = head.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        out = model(x)
    finally:
        handle.remove()
    return out, seen[0]


class ProbabilisticallyCompact(Objective):
    """PC-LC (Li et al.): CE for ``ce_warmup_epochs`` epochs, then PC loss (eq. 6) + logit constraints (eq. 16).

    The paper warms up with CE for T epochs, then trains T more with eq. 16 (sec. Experiments).
    """

    name = "pc_lc"

    def __init__(self, margin: float = 0.995, weight: float = 0.05, ce_warmup_epochs: int = 0) -> None:
        super().__init__()
        self.margin, self.weight = margin, weight
        self.ce_warmup_epochs = int(ce_warmup_epochs)
        self.epoch = 0

    def start_epoch(self, epoch: int) -> None:  # noqa: D102
        self.epoch = epoch

    @property
    def in_warmup(self) -> bool:
        """True while the CE warm-up phase runs."""
        return self.epoch < self.ce_warmup_epochs

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits = model(x)
        labels = _plain(y, self.name)
        if self.in_warmup:
            return losses.cross_entropy(logits, labels), logits
        return losses.pc_lc_loss(logits, labels, self.margin, self.weight), logits


class AdversarialLogitPairing(Objective):
    """ALP, Summers eq. 2 with eq. 9: alpha CE(x) + (1 - alpha) CE(x') + lambda ||f(x) - f(x')||^2.

    Summers' own baselines train only on adversarial examples, alpha = 0 (sec. 5.2).
    ``pairing_reduction``: ``"sum"`` (eq. 9, default) or ``"mean"`` over the logits (Kannan et
    al.'s code); see ``losses.alp_loss``.
    """

    name = "alp"
    uses_perturbed = True

    def __init__(self, clean_weight: float = 0.0, pairing_weight: float = 0.5, pairing_reduction: str = "sum") -> None:
        super().__init__()
        if pairing_reduction not in losses.ALP_PAIRING_REDUCTIONS:
            raise ObjectiveError(f"ALP pairing_reduction must be 'sum' (eq. 9) or 'mean' (Kannan et al.'s code), "
                                 f"got {pairing_reduction!r}")
        self.clean_weight, self.pairing_weight = clean_weight, pairing_weight
        self.pairing_reduction = pairing_reduction

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits_adv = model(self._perturbed(x_adv))
        logits_nat = model(x)
        loss = losses.alp_loss(logits_nat, logits_adv, _plain(y, self.name), self.clean_weight, self.pairing_weight,
                               self.pairing_reduction)
        return loss, logits_adv


class LogitRegularizationMethods(Objective):
    """LRM, Summers eq. 11 and sec. 5.2: label-smoothed (mixed) CE on x' + ratio-weighted pairing + beta squeeze.

    The adversarial-training loss J~ is the eq. 8 label-smoothed cross-entropy of the
    adversarial logits against the (VH-)mixup targets (alpha = 0: adversarial examples only);
    ``losses.lrm_loss`` adds the decoupled pairing h and beta (||f(x)||^2 + ||f(x')||^2).
    ``x`` is the mixed clean batch, ``x_adv`` its PGD example.
    """

    name = "lrm"
    uses_perturbed = True

    def __init__(self, smoothing: float = 0.1, beta: float = 1e-3, ratio: float = 0.125,
                 max_coefficient: float | None = None) -> None:
        super().__init__()
        self.smoothing, self.beta, self.ratio, self.max_coefficient = smoothing, beta, ratio, max_coefficient

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits_adv = model(self._perturbed(x_adv))
        logits_nat = model(x)
        if isinstance(y, MixedLabels):
            training_loss = losses.mixup_cross_entropy(logits_adv, y.y_a, y.y_b, y.lam, self.smoothing)
        else:
            training_loss = losses.label_smoothing_cross_entropy(logits_adv, y, self.smoothing)
        return losses.lrm_loss(logits_nat, logits_adv, training_loss, self.beta, self.ratio, self.max_coefficient), logits_adv


class Trades(Objective):
    """TRADES, LMA-AT eq. 15: CE(f(x), y) + (1/lambda) KL(f(x) || f(x')). Reports clean accuracy."""

    name = "trades"
    uses_perturbed = True

    def __init__(self, kl_weight: float = 6.0) -> None:
        super().__init__()
        self.kl_weight = kl_weight

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits_nat = model(x)
        logits_adv = model(self._perturbed(x_adv))
        return losses.trades_loss(logits_nat, logits_adv, _plain(y, self.name), self.kl_weight), logits_nat


class Mart(Objective):
    """MART, LCAT eq. 3 / LMA-AT Table 13: BCE(f(x'), y) + lambda KL(f(x) || f(x')) (1 - f_y(x))."""

    name = "mart"
    uses_perturbed = True

    def __init__(self, kl_weight: float = 5.0) -> None:
        super().__init__()
        self.kl_weight = kl_weight

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        logits_adv = model(self._perturbed(x_adv))
        logits_nat = model(x)
        return losses.mart_loss(logits_nat, logits_adv, _plain(y, self.name), self.kl_weight), logits_adv


class MarginMovingAverage(Objective):
    """The LMA-AT family (LMA-AT Table 1): base loss + L'_i (eq. 12) + beta mHuber(EMA', EMA) (sec. 4.3).

    ``base``: ``"at"`` (Standard AT+Ours, eq. 14), ``"trades"`` (TRADES+Ours, eq. 16),
    ``"mart"`` (MART+Ours) or ``"bce"`` (LMA-AT, eq. 17). The moving averages of the natural and
    adversarial logits advance once per training step (Alg. 1) and are checkpointed as buffers.
    """

    name = "lma"
    uses_perturbed = True
    _BASES: ClassVar[tuple[str, ...]] = ("at", "trades", "mart", "bce")

    def __init__(
        self,
        base: str = "bce",
        margin: float = 0.9,
        mhuber_weight: float = 86.0,
        mhuber_alpha: float = 5.345,
        tau: float = 0.2,
        kl_weight: float | None = None,
    ) -> None:
        super().__init__()
        if base not in self._BASES:
            raise ObjectiveError(f"LMA base must be one of {', '.join(self._BASES)}; got {base!r}")
        self.base = base
        self.margin, self.mhuber_weight, self.mhuber_alpha = margin, mhuber_weight, mhuber_alpha
        self.kl_weight = kl_weight
        self.moving_average = losses.LogitMovingAverage(tau)

    def forward(self, model, x, y, x_adv):  # noqa: ANN001, D102
        labels = _plain(y, self.name)
        logits_adv = model(self._perturbed(x_adv))
        logits_nat = model(x)
        ema_nat, ema_adv = self.moving_average(logits_nat, logits_adv)
        terms = {"margin": self.margin, "mhuber_weight": self.mhuber_weight, "mhuber_alpha": self.mhuber_alpha}
        if self.base == "at":
            loss = losses.lma_standard_at_loss(logits_adv, labels, ema_nat, ema_adv, **terms)
        elif self.base == "bce":
            loss = losses.lma_at_loss(logits_adv, labels, ema_nat, ema_adv, **terms)
        else:
            kl = {} if self.kl_weight is None else {"kl_weight": self.kl_weight}
            base_loss = losses.lma_trades_loss if self.base == "trades" else losses.lma_mart_loss
            loss = base_loss(logits_nat, logits_adv, labels, ema_nat, ema_adv, **kl, **terms)
        return loss, logits_adv


OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls
    for cls in (
        CrossEntropy,
        LabelSmoothing,
        LogitSqueezing,
        InverseCrossEntropy,
        LogitsAmplitudeAlignment,
        ProbabilisticallyCompact,
        AdversarialLogitPairing,
        LogitRegularizationMethods,
        Trades,
        Mart,
        MarginMovingAverage,
    )
}
"""Objective name (as recipes write it) -> class."""


def create_objective(name: str, **hyperparameters: Any) -> Objective:
    """Build an objective by its ``OBJECTIVES`` name with the recipe's hyperparameters."""
    if name not in OBJECTIVES:
        raise ObjectiveError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}")
    try:
        return OBJECTIVES[name](**hyperparameters)
    except TypeError as error:
        raise ObjectiveError(f"bad hyperparameters for objective {name!r} ({error}); see {OBJECTIVES[name].__name__}") from None
