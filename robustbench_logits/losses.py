"""The five papers' loss formulas: logits (and labels) in, a scalar batch mean out.

Losses take logits, never models; ``objectives.py`` decides which forward pass (clean, noisy,
adversarial, pre-/post-head) feeds which argument. Every argument named ``logits_nat`` is
f(x) on the clean batch, ``logits_adv`` is f(x') on its adversarial counterpart (same rows,
same order), ``logits_noisy`` is f(x + uniform noise). Unless a docstring says otherwise the
result is the mean over the batch of a per-example loss, so the gradient w.r.t. one
example's logits carries a 1/N factor.

Papers (see /work/shared/papers/INDEX.md and docs/methods.md):
[LCAT] Logits Constant Amplitude Training (file 000); [LRM] Summers & Dinneen, Logit
Regularization Methods (file 001); [BLF] Kanai et al., Constraining Logits by Bounded Function
(file 002); [LMA] LMA-AT, margin loss + moving-average logits (file 003); [PC] Li et al.,
Probabilistically Compact loss with logit constraints (file 004); [TRADES] Zhang et al. 2019;
[MART] Wang et al. 2020; [Madry] Madry et al. 2018.

Public names
------------
shared:        cross_entropy, soft_target_cross_entropy, logit_amplitude
[LRM]/[BLF]:   smoothed_targets, label_smoothing_cross_entropy, logit_squeezing,
               mixup_batch, vh_mixup_batch, mixup_cross_entropy, alp_loss, lrm_loss
[LCAT]:        focal_loss, uniform_noise, laa_loss, ice_loss
[PC]:          pc_loss, logit_constraint, pc_lc_loss
[LMA]:         squared_hinge_margin_loss, boosted_cross_entropy, mhuber, LogitMovingAverage,
               lma_standard_at_loss, lma_trades_loss, lma_mart_loss, lma_at_loss,
               lma_attack_loss
baselines:     pgd_at_loss, trades_loss, trades_attack_loss, mart_loss

Inner-maximisation losses (``trades_attack_loss``, ``lma_attack_loss``; plain cross-entropy
for PGD-AT / MART / ALP) take the adversarial logits first so the trainer's PGD can bind the
rest with ``functools.partial``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robustbench_logits._distributed import Process, rank_rows
from robustbench_logits.errors import ModelError, UserError

__all__ = [
    "LogitMovingAverage",
    "alp_loss",
    "ALP_PAIRING_REDUCTIONS",
    "boosted_cross_entropy",
    "cross_entropy",
    "focal_loss",
    "ice_loss",
    "label_smoothing_cross_entropy",
    "laa_loss",
    "lma_at_loss",
    "lma_attack_loss",
    "lma_mart_loss",
    "lma_standard_at_loss",
    "lma_trades_loss",
    "logit_amplitude",
    "logit_constraint",
    "logit_squeezing",
    "lrm_loss",
    "mart_loss",
    "mhuber",
    "mixup_batch",
    "mixup_cross_entropy",
    "pc_lc_loss",
    "pc_loss",
    "pgd_at_loss",
    "smoothed_targets",
    "soft_target_cross_entropy",
    "squared_hinge_margin_loss",
    "trades_attack_loss",
    "trades_loss",
    "uniform_noise",
    "vh_mixup_batch",
]


# --------------------------------------------------------------------------------------------
# argument checks (one-line errors that say what to do)
# --------------------------------------------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


def _check_logits(logits: Tensor, labels: Tensor | None = None) -> None:
    if logits.dim() != 2:
        raise ModelError(
            f"losses expect logits of shape (N, C), got {tuple(logits.shape)}; "
            "make the model return one row of class scores per example"
        )
    if labels is not None and (labels.dim() != 1 or labels.shape[0] != logits.shape[0]):
        raise ModelError(
            f"labels of shape {tuple(labels.shape)} do not match logits {tuple(logits.shape)}; "
            "pass one int64 label per logit row"
        )


def _check_pair(first: Tensor, second: Tensor, what: str) -> None:
    _check_logits(first)
    if first.shape != second.shape:
        raise ModelError(
            f"{what}: shapes {tuple(first.shape)} and {tuple(second.shape)} differ; "
            "pass both forward passes of the same batch, row for row"
        )


def _require_non_negative(value: float, name: str) -> None:
    _require(value >= 0, f"{name} must be >= 0, got {value}; set a non-negative {name}")


def _require_positive(value: float, name: str) -> None:
    _require(value > 0, f"{name} must be > 0, got {value}; set a positive {name}")


# --------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Softmax cross-entropy -log p_y, batch mean ([LMA] eq. 8 / eq. 13; [BLF] eq. 2)."""
    _check_logits(logits, y)
    return F.cross_entropy(logits, y)


def soft_target_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """-sum_c p_c log softmax(z)_c for a target distribution p per row ([BLF] eq. 2), batch mean.

    The common core of label smoothing and mixed-example targets ([LRM] sec. 4).
    """
    _check_pair(logits, targets, "soft_target_cross_entropy")
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def logit_amplitude(logits: Tensor) -> Tensor:
    """l(x) = O_max - O_min, the per-example logit amplitude ([LCAT] eq. 6); shape (N,)."""
    _check_logits(logits)
    return logits.amax(dim=1) - logits.amin(dim=1)


def _squared_norm(logits: Tensor) -> Tensor:
    return logits.pow(2).sum(dim=1)


def _kl_per_example(logits_nat: Tensor, logits_adv: Tensor) -> Tensor:
    """KL(p_nat || p_adv) = sum_c p_nat,c (log p_nat,c - log p_adv,c) per row ([TRADES])."""
    return F.kl_div(
        F.log_softmax(logits_adv, dim=1),
        F.log_softmax(logits_nat, dim=1),
        reduction="none",
        log_target=True,
    ).sum(dim=1)


def _true_class_mask(logits: Tensor, y: Tensor) -> Tensor:
    return F.one_hot(y, num_classes=logits.shape[1]).bool()


def _most_probable_false_class(logits: Tensor, y: Tensor) -> Tensor:
    """argmax_{k != y} z_k (softmax is monotone, so also argmax_{k != y} p_k)."""
    return logits.masked_fill(_true_class_mask(logits, y), float("-inf")).argmax(dim=1)


# --------------------------------------------------------------------------------------------
# [LRM] Summers & Dinneen and [BLF] Kanai et al.: label smoothing, logit squeezing, mixup,
# ALP and its decoupled form
# --------------------------------------------------------------------------------------------

#: Readings of the ALP pairing term (eq. 9): "sum" over the logits (the equation), "mean" (Kannan et al.'s code).
ALP_PAIRING_REDUCTIONS = ("sum", "mean")


def smoothed_targets(
    y: Tensor, num_classes: int, smoothing: float, dtype: torch.dtype | None = None
) -> Tensor:
    """Target distribution of [LRM] eq. 8: 1 - s on the label, s / (C - 1) on every other class.

    This is NOT PyTorch's ``cross_entropy(label_smoothing=s)``, which puts 1 - s + s/C on the
    label and s/C elsewhere (mass spread over all C classes, not the C - 1 wrong ones).
    ``dtype``: pass the logits' dtype (default: torch's default dtype).
    """
    _require(num_classes >= 2, f"num_classes must be >= 2, got {num_classes}")
    _require(
        0.0 <= smoothing <= 1.0 - 1.0 / num_classes,
        f"smoothing must lie in [0, 1 - 1/C] = [0, {1 - 1 / num_classes:.4g}] ([LRM] eq. 8), "
        f"got {smoothing}",
    )
    off_target = smoothing / (num_classes - 1)
    # Built in the logits' dtype: float32 targets would cost a float64 loss ~1e-8 of accuracy.
    targets = torch.full((y.shape[0], num_classes), off_target, dtype=dtype, device=y.device)
    return targets.scatter_(1, y.unsqueeze(1), 1.0 - smoothing)


def label_smoothing_cross_entropy(logits: Tensor, y: Tensor, smoothing: float) -> Tensor:
    """Cross-entropy against the [LRM] eq. 8 smoothed targets (s = 0.1 in LRM, sec. 5.2)."""
    _check_logits(logits, y)
    targets = smoothed_targets(y, logits.shape[1], smoothing, dtype=logits.dtype)
    return soft_target_cross_entropy(logits, targets)


def logit_squeezing(logits: Tensor, weight: float) -> Tensor:
    """Logit squeezing term of [BLF] eq. 3: (1/N) sum_i (weight/2) ||z_i||_2^2.

    Add it to the cross-entropy; its gradient w.r.t. z_i is weight * z_i / N.
    """
    _check_logits(logits)
    _require_non_negative(weight, "logit squeezing weight")
    return 0.5 * weight * _squared_norm(logits).mean()


def _rng_device(generator: torch.Generator | None, data_device: torch.device) -> torch.device:
    # A seeded generator draws on its own device (results then move to the data's device);
    # without one, draw directly where the data is.
    return generator.device if generator is not None else data_device


def _seed_from(generator: torch.Generator | None) -> int:
    device = _rng_device(generator, torch.device("cpu"))
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=device))


def mixup_batch(
    x: Tensor, y: Tensor, alpha: float = 1.0, generator: torch.Generator | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor, float]]:
    """mixup (Zhang et al. 2018, used by [LRM] sec. 4 and on SVHN in sec. 5.2).

    x~ = lam x + (1 - lam) x[perm], lam ~ Beta(alpha, alpha) once per batch, partner rows a
    random permutation of the batch. Returns ``(x_mixed, (y_a, y_b, lam))`` for
    :func:`mixup_cross_entropy`. alpha = 1 (lam uniform) is the default because [LRM] gives
    no alpha and the authors' mixed-example code draws the mixup coefficient uniformly.
    """
    _require_positive(alpha, "mixup alpha")
    # torch has no generator-aware Beta sampler: draw a seed from the (seedable) torch
    # generator and sample Beta with numpy, so runs stay reproducible from one torch seed.
    lam = float(np.random.default_rng(_seed_from(generator)).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=generator, device=_rng_device(generator, x.device))
    perm = perm.to(x.device)
    return lam * x + (1.0 - lam) * x[perm], (y, y[perm], lam)


def vh_mixup_batch(
    x: Tensor, y: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """VH-mixup (Summers & Dinneen, WACV 2019), the mixed-example method [LRM] sec. 4 and 5.2 use.

    [LRM] cites but does not define it; this follows the authors' reference implementation
    (github.com/ceciliaresearch/MixedExample, ``mixed_example.vh_mixup``). For each pair
    (a, b): V = rows [0, h) of a over rows [h, H) of b, h ~ U{0..H-1}; Hz = columns [0, w) of
    a beside columns [w, W) of b, w ~ U{0..W-1}; x~ = m V + (1 - m) Hz with m ~ U(0, 1). The
    label weight of a is lam = m h/H + (1 - m) w/W (the fraction of a's pixels). Partners are
    a random permutation of the batch (the reference pairs consecutive shuffled examples).
    Returns ``(x_mixed, (y_a, y_b, lam))`` with one lam per example, shape (N,).
    """
    if x.dim() != 4:
        raise UserError(f"vh_mixup_batch expects NCHW images, got shape {tuple(x.shape)}")
    n, _, height, width = x.shape
    rng_device = _rng_device(generator, x.device)
    perm = torch.randperm(n, generator=generator, device=rng_device).to(x.device)
    rows_from_a = torch.randint(0, height, (n,), generator=generator, device=rng_device)
    cols_from_a = torch.randint(0, width, (n,), generator=generator, device=rng_device)
    rows_from_a, cols_from_a = rows_from_a.to(x.device), cols_from_a.to(x.device)
    mix = torch.rand(n, generator=generator, device=rng_device).to(x.device, x.dtype)
    partner = x[perm]
    row_index = torch.arange(height, device=x.device).view(1, 1, height, 1)
    col_index = torch.arange(width, device=x.device).view(1, 1, 1, width)
    row_mask = row_index < rows_from_a.view(n, 1, 1, 1)
    col_mask = col_index < cols_from_a.view(n, 1, 1, 1)
    vertical = torch.where(row_mask, x, partner)
    horizontal = torch.where(col_mask, x, partner)
    m = mix.view(n, 1, 1, 1)
    x_mixed = m * vertical + (1.0 - m) * horizontal
    lam = mix * rows_from_a.to(x.dtype) / height + (1.0 - mix) * cols_from_a.to(x.dtype) / width
    return x_mixed, (y, y[perm], lam)


def mixup_cross_entropy(
    logits: Tensor, y_a: Tensor, y_b: Tensor, lam: float | Tensor, smoothing: float = 0.0
) -> Tensor:
    """Cross-entropy against the mixed target lam * t(y_a) + (1 - lam) * t(y_b) ([LRM] sec. 4).

    t is the one-hot target, or the [LRM] eq. 8 smoothed target when ``smoothing`` > 0 (LRM
    combines both, sec. 5.2). ``lam`` is a float (mixup) or one weight per row (VH-mixup).
    By linearity of cross-entropy in the target this is the lam-weighted sum of the two CEs.
    """
    _check_logits(logits, y_a)
    num_classes = logits.shape[1]
    lam_column = torch.as_tensor(lam, dtype=logits.dtype, device=logits.device).reshape(-1, 1)
    targets_a = smoothed_targets(y_a, num_classes, smoothing, dtype=logits.dtype)
    targets_b = smoothed_targets(y_b, num_classes, smoothing, dtype=logits.dtype)
    return soft_target_cross_entropy(logits, lam_column * targets_a + (1 - lam_column) * targets_b)


def alp_loss(
    logits_nat: Tensor,
    logits_adv: Tensor,
    y: Tensor,
    clean_weight: float = 0.5,
    pairing_weight: float = 0.5,
    pairing_reduction: str = "sum",
) -> Tensor:
    """Adversarial logit pairing, [LRM] eq. 2 with the L2 pairing loss of eq. 9.

    (1/m) sum_i alpha CE(x_i) + (1 - alpha) CE(x'_i) + lambda ||f(x_i) - f(x'_i)||_2^2, with
    alpha = ``clean_weight`` (0.5, sec. 2; LRM's own baselines use 0, sec. 5.2) and lambda =
    ``pairing_weight`` (0.5 on CIFAR-10, 5.0 on CIFAR-100, sec. 5.1). Eq. 9 (squared norm, no
    1/2) is used, not the per-coordinate 1/2 (.)^2 of the illustrative eq. 3.

    ``pairing_reduction``: the two readings of the pairing term. ``"sum"`` (default) is eq. 9 as
    written, the squared L2 norm summed over the C logits. ``"mean"`` averages over the C logits
    instead, as a mean-squared-error loss does in Kannan et al.'s code, where the coefficient 0.5
    comes from: the same lambda is then C times weaker (10x on 10 classes).
    """
    _check_pair(logits_nat, logits_adv, "alp_loss")
    _require(0.0 <= clean_weight <= 1.0, f"clean_weight must be in [0, 1], got {clean_weight}")
    _require_non_negative(pairing_weight, "ALP pairing_weight")
    _require(pairing_reduction in ALP_PAIRING_REDUCTIONS,
             f"ALP pairing_reduction must be 'sum' (eq. 9) or 'mean' (Kannan et al.'s code), got {pairing_reduction!r}")
    clean_loss = cross_entropy(logits_nat, y)
    training_loss = clean_weight * clean_loss + (1.0 - clean_weight) * cross_entropy(logits_adv, y)
    pairing = _squared_norm(logits_nat - logits_adv)
    if pairing_reduction == "mean":
        pairing = pairing / logits_nat.shape[1]
    return training_loss + pairing_weight * pairing.mean()


def _distribution_cross_entropy(logits_nat: Tensor, logits_adv: Tensor) -> Tensor:
    """h = -sum_c softmax(z)_c log softmax(z')_c, batch mean ([LRM] eq. 11, sec. 4.1)."""
    return -(F.softmax(logits_nat, dim=1) * F.log_softmax(logits_adv, dim=1)).sum(dim=1).mean()


def lrm_loss(
    logits_nat: Tensor,
    logits_adv: Tensor,
    training_loss: Tensor,
    beta: float = 1e-3,
    ratio: float = 0.125,
    max_coefficient: float | None = None,
) -> Tensor:
    """Decoupled logit pairing, the LRM objective ([LRM] eq. 2 with L replaced by eq. 11).

    training_loss + c * h(f(x), f(x')) + beta * (1/m) sum_i (||f(x_i)||^2 + ||f(x'_i)||^2),
    where ``training_loss`` is the adversarial-training loss J~ of eq. 1 (built by the
    objective: CE with label smoothing / mixup on the adversarial logits, alpha = 0 in sec.
    5.2) and h is the cross-entropy between the two softmax distributions (sec. 4.1).

    Sec. 4.1 sets c = constant * stop_gradient(ratio of the losses); sec. 5.2 sets "the ratio
    between the adversarial training loss and the pairing loss" to 0.125 (CIFAR-10) or 0.95
    (CIFAR-100, SVHN), and says 0.125 focuses on pairing. So c = sg(J~ / h) / ratio: the
    weighted pairing term always equals J~ / ratio in value. beta: 1e-3 CIFAR-10, 3e-5
    CIFAR-100, 1e-4 SVHN.

    ``max_coefficient`` (not in the paper; None: the paper's eq.) caps c. The gradient of the
    ratio-set term is (J~ / ratio) times that of log h, unbounded as h -> 0, and h falls to 0 when
    both softmaxes turn one-hot on the same class, right or wrong: on 2C2F it collapsed training to
    a constant classifier at both of the paper's ratios (docs/models.md). Under the cap the term is
    c_max * h once J~ / (ratio h) exceeds c_max, whose gradient stays bounded.
    """
    _check_pair(logits_nat, logits_adv, "lrm_loss")
    _require_positive(ratio, "LRM ratio")
    _require_non_negative(beta, "LRM beta")
    if max_coefficient is not None:
        _require_positive(max_coefficient, "LRM max_coefficient")
    pairing = _distribution_cross_entropy(logits_nat, logits_adv)
    # h >= entropy(p_nat) > 0 except for exactly one-hot softmax; the clamp only guards 0/0.
    coefficient = (training_loss / pairing.clamp_min(1e-12)).detach() / ratio
    if max_coefficient is not None:
        coefficient = coefficient.clamp_max(max_coefficient)
    regularization = (_squared_norm(logits_nat) + _squared_norm(logits_adv)).mean()
    return training_loss + coefficient * pairing + beta * regularization


# --------------------------------------------------------------------------------------------
# [LCAT] logits amplitude alignment
# --------------------------------------------------------------------------------------------


def focal_loss(logits: Tensor, y: Tensor, gamma: float = 2.0) -> Tensor:
    """Focal loss -(1 - p_y)^gamma log p_y (Lin et al. 2017), batch mean: "focal" in [LCAT] eq. 6.

    [LCAT] gives no gamma; 2 is Lin et al.'s default. gamma = 0 is cross-entropy.
    """
    _check_logits(logits, y)
    _require_non_negative(gamma, "focal gamma")
    log_p_true = F.log_softmax(logits, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    return -((1.0 - log_p_true.exp()).pow(gamma) * log_p_true).mean()


def uniform_noise(
    x: Tensor, intensity: float, generator: torch.Generator | None = None, *, process: Process | None = None
) -> Tensor:
    """B* of [LCAT] eq. 6: x + u, u ~ U[-intensity, intensity] per pixel, clipped to [0, 1].

    Intensity 20/255 on CIFAR-10 / Tiny-ImageNet, 0.8 on MNIST ([LCAT] sec. 4.2). An input
    transform rather than a loss; it lives here beside :func:`laa_loss`, its only user. Under
    torchrun, pass ``process``: ``x`` is then this rank's rows ``rank::world`` of the global batch
    and ``u`` is those rows of the global batch's noise (``_distributed.rank_rows``).
    """
    _require_non_negative(intensity, "noise intensity")
    rng_device = _rng_device(generator, x.device)
    noise = rank_rows(
        lambda shape: torch.rand(shape, generator=generator, dtype=x.dtype, device=rng_device), x.shape, process
    ).to(x.device)
    # x + (2u - 1) * intensity, clamped, in place on the fresh draw: the same operations in the same order
    # (bit-identical), without three temporaries the size of the batch
    return noise.mul_(2.0).sub_(1.0).mul_(intensity).add_(x).clamp_(0.0, 1.0)


#: The readings of [LCAT] eq. 6 the text leaves open (docs/methods.md): how ||l(B*) - beta|| reduces over
#: the batch, and whether "mean l" is a batch mean or a per-example difference.
LAA_NORMS = ("batch", "example")
LAA_MEANS = ("batch", "example")


def laa_loss(
    logits_noisy: Tensor,
    logits_clean: Tensor,
    y: Tensor,
    weight: float = 15.0,
    amplitude_target: float = 2.0,
    gamma: float = 2.0,
    norm: str = "batch",
    mean: str = "batch",
    amplitude_noisy: Tensor | None = None,
    amplitude_clean: Tensor | None = None,
) -> Tensor:
    """Logits amplitude alignment, [LCAT] eq. 6, for one batch B and its noised copy B*.

    focal(f(B*), y) + lambda (||l(B*) - beta||_2 + |mean l(B*) - mean l(B)|), l = amplitude.
    Default reading: the first norm is the Euclidean norm over the batch vector l(B*) (not a
    mean), the second is the absolute value of a scalar; focal is a batch mean. lambda =
    ``weight`` (15 MNIST / CIFAR-10, 0.1 Tiny-ImageNet, sec. 4.2). beta = ``amplitude_target``
    is not given in the paper: 2 is the full range of the tanh head LCAT trains with (eq. 7,
    s = 1 in training), i.e. the saturated amplitude the paper says S-Tanh pushes logits to.
    Gradients flow through both forward passes.

    The other readings the text allows: ``norm="example"`` takes the mean over examples of
    |l(x*) - beta| (a per-example norm, independent of the batch size); ``mean="example"`` the
    mean over examples of |l(x*) - l(x)| (pairs, not batch means). ``amplitude_noisy`` /
    ``amplitude_clean`` give l from other logits than the ones the focal loss sees (the pre-head
    logits z: ``objectives.LogitsAmplitudeAlignment(amplitude_of="logits")``).
    """
    _check_pair(logits_noisy, logits_clean, "laa_loss")
    _require_non_negative(weight, "LAA weight (lambda)")
    _require(norm in LAA_NORMS and mean in LAA_MEANS,
             f"LAA reading norm={norm!r}, mean={mean!r}: use norm and mean from {LAA_NORMS}")
    amplitude_noisy = logit_amplitude(logits_noisy) if amplitude_noisy is None else amplitude_noisy
    amplitude_clean = logit_amplitude(logits_clean) if amplitude_clean is None else amplitude_clean
    gap = amplitude_noisy - amplitude_target
    target_term = torch.linalg.vector_norm(gap) if norm == "batch" else gap.abs().mean()
    if mean == "batch":
        mean_term = (amplitude_noisy.mean() - amplitude_clean.mean()).abs()
    else:
        mean_term = (amplitude_noisy - amplitude_clean).abs().mean()
    return focal_loss(logits_noisy, y, gamma) + weight * (target_term + mean_term)


def ice_loss(logits: Tensor, y: Tensor, weight: float) -> Tensor:
    """Inverse cross-entropy, [LCAT] eq. 4: CE(z, y) - lambda sum_{i=1}^C CE(z, i), batch mean.

    The sum runs over all C classes (the true one included), as written. [LCAT] gives no
    lambda, so ``weight`` has no default. The loss is unbounded below on unbounded logits.
    """
    _check_logits(logits, y)
    _require_non_negative(weight, "ICE weight (lambda)")
    log_probs = F.log_softmax(logits, dim=1)
    return cross_entropy(logits, y) + weight * log_probs.sum(dim=1).mean()


# --------------------------------------------------------------------------------------------
# [PC] probabilistically compact loss with logit constraints
# --------------------------------------------------------------------------------------------


def pc_loss(logits: Tensor, y: Tensor, margin: float = 0.995) -> Tensor:
    """PC loss, [PC] eq. 6: (1/N) sum_i sum_{y' != y_i} max(0, f_y'(x_i) + xi - f_y_i(x_i)).

    f are softmax probabilities, xi = ``margin`` = 0.995 (sec. Experiments). Its gradient
    w.r.t. a_y of one active term is -f_y (1 - f_y + f_y') (eq. 7, which checks out).
    """
    _check_logits(logits, y)
    _require_positive(margin, "PC probability margin xi")
    probs = F.softmax(logits, dim=1)
    p_true = probs.gather(1, y.unsqueeze(1))
    violations = (probs + margin - p_true).clamp_min(0.0)
    return violations.masked_fill(_true_class_mask(logits, y), 0.0).sum(dim=1).mean()


def logit_constraint(logits: Tensor, y: Tensor, weight: float = 0.05) -> Tensor:
    """Logit constraint of [PC] eq. 16: (lambda/N) sum_x d_yj, d_yj = max(0, a_y - a_j).

    j is the most probable false class, lambda = ``weight`` = 0.05. The constant -C' of eq. 16
    is dropped: the paper gives no value and it does not change the gradient.
    """
    _check_logits(logits, y)
    _require_non_negative(weight, "logit constraint weight (lambda)")
    logit_true = logits.gather(1, y.unsqueeze(1)).squeeze(1)
    logit_false = logits.gather(1, _most_probable_false_class(logits, y).unsqueeze(1)).squeeze(1)
    return weight * (logit_true - logit_false).clamp_min(0.0).mean()


def pc_lc_loss(logits: Tensor, y: Tensor, margin: float = 0.995, weight: float = 0.05) -> Tensor:
    """PC-LC objective, [PC] eq. 16: PC loss (eq. 6) + logit constraints, on clean logits.

    The paper warms up with cross-entropy for T epochs first; that schedule is the recipe's.
    """
    return pc_loss(logits, y, margin) + logit_constraint(logits, y, weight)


# --------------------------------------------------------------------------------------------
# [LMA] margin loss, BCE, mHuber and moving-average logits
# --------------------------------------------------------------------------------------------


def squared_hinge_margin_loss(logits: Tensor, y: Tensor, margin: float = 0.9) -> Tensor:
    """L'_i of [LMA] eq. 12: sum_{j != y} max(0, f_j - f_y + delta)^2 on logits, batch mean.

    delta = ``margin`` = 0.9 (sec. 5.1). Zero once the true logit leads every other by delta.
    """
    _check_logits(logits, y)
    _require_non_negative(margin, "margin delta")
    logit_true = logits.gather(1, y.unsqueeze(1))
    hinge = (logits - logit_true + margin).clamp_min(0.0).pow(2)
    return hinge.masked_fill(_true_class_mask(logits, y), 0.0).sum(dim=1).mean()


def boosted_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """BCE of [LMA] eq. 7 / [MART]: -log p_y - log(1 - max_{k != y} p_k), batch mean.

    log(1 - p_k*) is computed exactly as logsumexp_{c != k*} z_c - logsumexp_c z_c, instead
    of MART's log(1.0001 - p), so no epsilon enters the value.
    """
    _check_logits(logits, y)
    false_class = _most_probable_false_class(logits, y)
    false_mask = F.one_hot(false_class, logits.shape[1]).bool()
    without_false = logits.masked_fill(false_mask, float("-inf"))
    log_one_minus_p_false = torch.logsumexp(without_false, dim=1) - torch.logsumexp(logits, dim=1)
    return cross_entropy(logits, y) - log_one_minus_p_false.mean()


def mhuber(u: Tensor, v: Tensor, alpha: float) -> Tensor:
    """mHuber(u, v, alpha) of [LMA] sec. 3: mean over all elements of H.

    H = alpha^2 (1 - cos((u - v)/alpha)) where |u - v|/alpha <= pi/2, else
    alpha |u - v| + (1 - pi/2) alpha^2; both branches meet (value alpha^2, slope alpha) at
    the switch. "mean(H)" is taken over every element of the (N, C) tensors.
    """
    _check_pair(u, v, "mhuber")
    _require_positive(alpha, "mHuber alpha")
    difference = u - v
    inside = difference.abs() / alpha <= math.pi / 2
    cosine_branch = alpha**2 * (1.0 - torch.cos(difference / alpha))
    linear_branch = alpha * difference.abs() + (1.0 - math.pi / 2) * alpha**2
    return torch.where(inside, cosine_branch, linear_branch).mean()


class LogitMovingAverage(nn.Module):
    """EMA of natural and adversarial logits, [LMA] sec. 4.3 and Alg. 1.

    logit_t = tau * logit_{t-1} + (1 - tau) * f(x), started at logit_0 = 0, tau = 0.2; Alg. 1
    (not the reversed convention of appendix eq. 18, under which tau = 0 would not mean "no
    averaging" as sec. 6 says). The EMA is per batch position, as in Alg. 1. Calling the
    module returns (logit_t, logit'_t) with gradient through the current logits only (the
    history is stored detached) and advances the state: call it once per training step,
    never inside the attack.

    A batch of another size: a shorter batch (the last one of an epoch) uses and updates the
    first N stored rows and leaves the rest; rows beyond the stored history start at 0, as
    logit_0 does. The state is in buffers, so ``state_dict`` resumes it.
    """

    natural: Tensor
    adversarial: Tensor

    def __init__(self, tau: float = 0.2) -> None:
        super().__init__()
        _require(0.0 <= tau < 1.0, f"moving-average tau must be in [0, 1), got {tau}")
        self.tau = tau
        self.register_buffer("natural", torch.zeros(0, 0))
        self.register_buffer("adversarial", torch.zeros(0, 0))

    def forward(self, logits_nat: Tensor, logits_adv: Tensor) -> tuple[Tensor, Tensor]:
        """Advance both EMAs by one step; return (natural EMA, adversarial EMA), each (N, C)."""
        _check_pair(logits_nat, logits_adv, "LogitMovingAverage")
        return self._advance("natural", logits_nat), self._advance("adversarial", logits_adv)

    def _advance(self, name: str, logits: Tensor) -> Tensor:
        stored: Tensor = getattr(self, name)
        n, num_classes = logits.shape
        if stored.numel() and stored.shape[1] != num_classes:
            raise ModelError(
                f"moving-average state has {stored.shape[1]} classes, logits have {num_classes}; "
                "use one LogitMovingAverage per model"
            )
        stored = stored.to(device=logits.device, dtype=logits.dtype)
        history = torch.zeros_like(logits)
        rows_kept = min(n, stored.shape[0])
        if rows_kept:
            history[:rows_kept] = stored[:rows_kept]
        average = self.tau * history + (1.0 - self.tau) * logits
        if n >= stored.shape[0]:
            updated = average.detach().clone()
        else:
            updated = stored.clone()
            updated[:n] = average.detach()
        setattr(self, name, updated)
        return average

    def _load_from_state_dict(
        self, state_dict: dict[str, Tensor], prefix: str, *args: object, **kwargs: object
    ) -> None:
        # The state's shape depends on the batch size seen so far; resize before loading.
        for name in ("natural", "adversarial"):
            saved = state_dict.get(prefix + name)
            if saved is not None:
                setattr(self, name, torch.empty_like(saved, device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _lma_terms(
    logits_adv: Tensor,
    y: Tensor,
    ema_nat: Tensor,
    ema_adv: Tensor,
    margin: float,
    mhuber_weight: float,
    mhuber_alpha: float,
) -> Tensor:
    """L'_i(x') + beta * mHuber(logit'_t, logit_t, alpha): the "+Ours" terms of [LMA] Table 1."""
    _require_non_negative(mhuber_weight, "mHuber weight (beta)")
    return squared_hinge_margin_loss(logits_adv, y, margin) + mhuber_weight * mhuber(
        ema_adv, ema_nat, mhuber_alpha
    )


def lma_standard_at_loss(
    logits_adv: Tensor,
    y: Tensor,
    ema_nat: Tensor,
    ema_adv: Tensor,
    margin: float = 0.9,
    mhuber_weight: float = 86.0,
    mhuber_alpha: float = 5.345,
) -> Tensor:
    """Standard AT+Ours, [LMA] eq. 14 / Table 1: L'_i + CE(x') + beta mHuber(EMA', EMA).

    ``ema_nat``/``ema_adv`` come from :class:`LogitMovingAverage`. Defaults are the paper's
    ResNet-18 CIFAR-10 values (delta 0.9, beta 86, alpha 5.345; alpha 2.345 on WRN-34-10).
    """
    return cross_entropy(logits_adv, y) + _lma_terms(
        logits_adv, y, ema_nat, ema_adv, margin, mhuber_weight, mhuber_alpha
    )


def lma_trades_loss(
    logits_nat: Tensor,
    logits_adv: Tensor,
    y: Tensor,
    ema_nat: Tensor,
    ema_adv: Tensor,
    kl_weight: float = 6.0,
    margin: float = 0.9,
    mhuber_weight: float = 86.0,
    mhuber_alpha: float = 5.345,
) -> Tensor:
    """TRADES+Ours, [LMA] eq. 16 / Table 1.

    L'_i + CE(x) + (1/lambda) KL(p(x)||p(x')) + beta mHuber(EMA', EMA, alpha).
    """
    return trades_loss(logits_nat, logits_adv, y, kl_weight) + _lma_terms(
        logits_adv, y, ema_nat, ema_adv, margin, mhuber_weight, mhuber_alpha
    )


def lma_mart_loss(
    logits_nat: Tensor,
    logits_adv: Tensor,
    y: Tensor,
    ema_nat: Tensor,
    ema_adv: Tensor,
    kl_weight: float = 5.0,
    margin: float = 0.9,
    mhuber_weight: float = 86.0,
    mhuber_alpha: float = 5.345,
) -> Tensor:
    """MART+Ours, [LMA] Table 1: L'_i + BCE(x') + lambda KL (1 - p_y(x)) + beta mHuber."""
    return mart_loss(logits_nat, logits_adv, y, kl_weight) + _lma_terms(
        logits_adv, y, ema_nat, ema_adv, margin, mhuber_weight, mhuber_alpha
    )


def lma_at_loss(
    logits_adv: Tensor,
    y: Tensor,
    ema_nat: Tensor,
    ema_adv: Tensor,
    margin: float = 0.9,
    mhuber_weight: float = 86.0,
    mhuber_alpha: float = 5.345,
) -> Tensor:
    """LMA-AT, [LMA] eq. 17 / Table 1 / Alg. 1: L'_i + BCE(x') + beta mHuber(EMA', EMA).

    beta = 86 on CIFAR-10, 96 on CIFAR-100 and Tiny-ImageNet (sec. 5.1).
    """
    return boosted_cross_entropy(logits_adv, y) + _lma_terms(
        logits_adv, y, ema_nat, ema_adv, margin, mhuber_weight, mhuber_alpha
    )


def lma_attack_loss(logits_adv: Tensor, y: Tensor, margin: float = 0.9) -> Tensor:
    """Inner maximisation of every [LMA] method (Alg. 1, sec. 4.4): CE(x') + L'_i(x')."""
    return cross_entropy(logits_adv, y) + squared_hinge_margin_loss(logits_adv, y, margin)


# --------------------------------------------------------------------------------------------
# baselines: PGD-AT, TRADES, MART
# --------------------------------------------------------------------------------------------


def pgd_at_loss(logits_adv: Tensor, y: Tensor) -> Tensor:
    """PGD adversarial training [Madry] ([LMA] eq. 1 / 13): CE on the adversarial logits.

    Its attack loss is the same cross-entropy.
    """
    return cross_entropy(logits_adv, y)


def trades_loss(
    logits_nat: Tensor, logits_adv: Tensor, y: Tensor, kl_weight: float = 6.0
) -> Tensor:
    """TRADES [TRADES], [LMA] eq. 15: CE(p(x), y) + (1/lambda) KL(p(x) || p(x')).

    KL direction and reduction as in the TRADES code: sum over classes, mean over the batch
    ("batchmean"); gradients flow through both passes. 1/lambda = ``kl_weight`` = 6.
    """
    _check_pair(logits_nat, logits_adv, "trades_loss")
    _require_non_negative(kl_weight, "TRADES kl_weight (1/lambda)")
    return cross_entropy(logits_nat, y) + kl_weight * _kl_per_example(logits_nat, logits_adv).mean()


def trades_attack_loss(logits_adv: Tensor, logits_nat: Tensor) -> Tensor:
    """TRADES inner maximisation: KL(p(x) || p(x')) with p(x) held fixed (detached).

    Batch mean; the TRADES code sums over the batch instead, which only rescales the gradient
    and leaves sign (L-inf) and per-example-normalised (L2) PGD steps unchanged.
    """
    _check_pair(logits_nat, logits_adv, "trades_attack_loss")
    return _kl_per_example(logits_nat.detach(), logits_adv).mean()


def mart_loss(
    logits_nat: Tensor, logits_adv: Tensor, y: Tensor, kl_weight: float = 5.0
) -> Tensor:
    """MART [MART], [LMA] Table 1: BCE(p(x'), y) + lambda KL(p(x)||p(x')) (1 - p_y(x)).

    BCE is :func:`boosted_cross_entropy` (the max non-true class), as MART defines it;
    [LCAT] eq. 3 abbreviates it to CE. KL summed over classes, weighted per example, batch
    mean; lambda = ``kl_weight`` = 5 as [LMA] sec. 5.1 states. Attack loss: cross-entropy.
    """
    _check_pair(logits_nat, logits_adv, "mart_loss")
    _require_non_negative(kl_weight, "MART kl_weight (lambda)")
    p_true_nat = F.softmax(logits_nat, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    robust = (_kl_per_example(logits_nat, logits_adv) * (1.0 - p_true_nat)).mean()
    return boosted_cross_entropy(logits_adv, y) + kl_weight * robust
