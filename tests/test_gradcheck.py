"""Gradients: torch.autograd.gradcheck (float64 finite differences) for every loss and head, and
one test per stop-gradient the papers require, asserting the gradient itself.

gradcheck compares autograd's gradient with central finite differences of the *value*, so a
stray ``.detach()`` (a term whose value depends on the input but whose gradient was cut) fails
it. Where a paper requires a stop-gradient the finite difference of the value is *not* the
gradient, so those losses get a dedicated test instead: the gradient is checked against the
gradient of the same expression with the stopped factor frozen at its value.

Points are generic (no ties in max/argmax, no hinge exactly at its kink), so every loss is
differentiable there.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from robustbench_logits import losses
from robustbench_logits._inner_max import _attack_loss
from robustbench_logits.heads import HEADS, LearnableBoundedLogitFunction, ScaledTanh, create_head

# Two rows, four classes, distinct entries; Y marks a correctly and a wrongly classified row.
Z_NAT = torch.tensor([[1.3, -0.4, 0.55, 0.1], [0.2, 0.9, -0.65, 1.45]], dtype=torch.float64)
Z_ADV = torch.tensor([[0.35, 0.8, 0.45, -0.25], [0.05, 1.1, 0.6, 0.95]], dtype=torch.float64)
Y = torch.tensor([0, 2])


def leaf(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.clone().requires_grad_(True)


def check(function, *inputs: torch.Tensor) -> None:  # noqa: ANN001
    assert gradcheck(function, tuple(leaf(i) for i in inputs), eps=1e-6, atol=1e-7, rtol=1e-5)


# ------------------------------------------------------------------------------ losses


ONE_ARGUMENT = {
    # name: loss of (logits,) with every hyperparameter away from a value that hides a term
    "cross_entropy": lambda z: losses.cross_entropy(z, Y),
    "pgd_at_loss": lambda z: losses.pgd_at_loss(z, Y),
    "logit_amplitude": losses.logit_amplitude,
    "label_smoothing_cross_entropy": lambda z: losses.label_smoothing_cross_entropy(z, Y, 0.2),
    "logit_squeezing": lambda z: losses.logit_squeezing(z, 0.3),
    "mixup_cross_entropy": lambda z: losses.mixup_cross_entropy(z, Y, torch.tensor([3, 1]), 0.3, smoothing=0.1),
    "mixup_cross_entropy_per_row": lambda z: losses.mixup_cross_entropy(
        z, Y, torch.tensor([3, 1]), torch.tensor([0.2, 0.7], dtype=torch.float64)
    ),
    "focal_loss": lambda z: losses.focal_loss(z, Y, gamma=2.0),  # modulating factor differentiated
    "focal_loss_gamma_half": lambda z: losses.focal_loss(z, Y, gamma=0.5),
    "ice_loss": lambda z: losses.ice_loss(z, Y, 0.1),
    "pc_loss": lambda z: losses.pc_loss(z, Y, margin=0.3),
    "pc_loss_default_margin": lambda z: losses.pc_loss(z, Y),
    "logit_constraint": lambda z: losses.logit_constraint(z, Y, 0.05),
    "pc_lc_loss": lambda z: losses.pc_lc_loss(z, Y),
    "squared_hinge_margin_loss": lambda z: losses.squared_hinge_margin_loss(z, Y, 0.9),
    "boosted_cross_entropy": lambda z: losses.boosted_cross_entropy(z, Y),
    "lma_attack_loss": lambda z: losses.lma_attack_loss(z, Y),
}


@pytest.mark.parametrize("name", sorted(ONE_ARGUMENT))
def test_gradcheck_single_logit_losses(name: str) -> None:
    check(ONE_ARGUMENT[name], Z_NAT)


def test_gradcheck_soft_target_cross_entropy_in_logits_and_targets() -> None:
    targets = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]], dtype=torch.float64)
    check(losses.soft_target_cross_entropy, Z_NAT, targets)


TWO_ARGUMENT = {
    "alp_loss": lambda a, b: losses.alp_loss(a, b, Y, clean_weight=0.3, pairing_weight=0.5),
    "laa_loss": lambda a, b: losses.laa_loss(a, b, Y, weight=15.0, amplitude_target=2.0, gamma=2.0),
    "trades_loss": lambda a, b: losses.trades_loss(a, b, Y, kl_weight=6.0),  # flows through both
    "mart_loss": lambda a, b: losses.mart_loss(a, b, Y, kl_weight=5.0),  # flows through both
    "mhuber_mixed_branches": lambda a, b: losses.mhuber(a, b, 0.4),  # |d| / 0.4 on both sides of pi/2
    "mhuber_cosine_branch": lambda a, b: losses.mhuber(a, b, 5.345),
}


@pytest.mark.parametrize("name", sorted(TWO_ARGUMENT))
def test_gradcheck_paired_losses(name: str) -> None:
    check(TWO_ARGUMENT[name], Z_NAT, Z_ADV)


def test_mhuber_points_really_cover_both_branches() -> None:
    ratio = (Z_NAT - Z_ADV).abs() / 0.4
    assert bool((ratio <= math.pi / 2).any()) and bool((ratio > math.pi / 2).any())


EMA_NAT = torch.tensor([[0.9, -0.1, 0.3, 0.2], [0.1, 0.6, -0.2, 1.0]], dtype=torch.float64)
EMA_ADV = torch.tensor([[0.2, 0.5, 0.4, -0.3], [0.3, 0.7, 0.1, 0.8]], dtype=torch.float64)


@pytest.mark.parametrize(
    "loss",
    [
        lambda adv, nat, ema_n, ema_a: losses.lma_standard_at_loss(adv, Y, ema_n, ema_a, mhuber_weight=3.0, mhuber_alpha=0.3),
        lambda adv, nat, ema_n, ema_a: losses.lma_at_loss(adv, Y, ema_n, ema_a, mhuber_weight=3.0, mhuber_alpha=0.3),
        lambda adv, nat, ema_n, ema_a: losses.lma_trades_loss(nat, adv, Y, ema_n, ema_a, mhuber_weight=3.0, mhuber_alpha=0.3),
        lambda adv, nat, ema_n, ema_a: losses.lma_mart_loss(nat, adv, Y, ema_n, ema_a, mhuber_weight=3.0, mhuber_alpha=0.3),
    ],
    ids=["standard_at_eq14", "lma_at_eq17", "trades_eq16", "mart_table1"],
)
def test_gradcheck_lma_objectives_in_all_four_inputs(loss) -> None:  # noqa: ANN001
    check(loss, Z_ADV, Z_NAT, EMA_NAT, EMA_ADV)


def test_gradcheck_moving_average_step_from_a_stored_state() -> None:
    def step(nat: torch.Tensor, adv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ema = losses.LogitMovingAverage(0.2)
        ema.natural, ema.adversarial = EMA_NAT.clone(), EMA_ADV.clone()
        return ema(nat, adv)

    check(step, Z_NAT, Z_ADV)


def test_gradcheck_input_transforms_with_a_fixed_seed() -> None:
    x = torch.rand(4, 1, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.6 + 0.2
    check(lambda v: losses.uniform_noise(v, 0.1, torch.Generator().manual_seed(1)), x)  # no clipping at 0.2..0.8
    check(lambda v: losses.mixup_batch(v, torch.arange(4), 0.4, torch.Generator().manual_seed(2))[0], x)
    check(lambda v: losses.vh_mixup_batch(v, torch.arange(4), torch.Generator().manual_seed(3))[0], x)


# ------------------------------------------------------------------------------ heads


@pytest.mark.parametrize("name", sorted(HEADS))
def test_gradcheck_every_head(name: str) -> None:
    head = create_head(name)
    check(head, Z_NAT)
    if isinstance(head, ScaledTanh):
        check(head.eval(), Z_NAT / 150.0)  # tanh(100 z), away from saturation


@pytest.mark.parametrize("name", ["blf", "tanh", "sigmoid", "sine", "single_wave"])
def test_gradcheck_scaled_heads_with_gamma(name: str) -> None:
    check(create_head(name, gamma=1.7), Z_NAT)


def test_gradcheck_learnable_blf_in_its_gamma_parameter() -> None:
    def through_parameter(z: torch.Tensor, gamma_tilde: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(LearnableBoundedLogitFunction(), {"gamma_tilde": gamma_tilde}, (z,))

    check(through_parameter, Z_NAT, torch.tensor(-0.4, dtype=torch.float64))


# ------------------------------------------------------------------------------ stop-gradients


def _distribution_ce(z_nat: torch.Tensor, z_adv: torch.Tensor) -> torch.Tensor:
    """h = -mean_i sum_c softmax(z_nat)_c log softmax(z_adv)_c, written here independently."""
    return -(F.softmax(z_nat, 1) * F.log_softmax(z_adv, 1)).sum(1).mean()


def test_lrm_ratio_coefficient_is_a_stop_gradient_sec_4_1() -> None:
    """[LRM] sec. 4.1: c = sg(J~ / h) / ratio. The gradient is that of J~ + c0 h + beta R with c0
    frozen at its value; without the stop-gradient the pairing term c h = J~ / ratio would have
    the gradient of J~ / ratio instead (and none through h)."""
    beta, ratio = 1e-2, 0.125
    z_nat, z_adv = leaf(Z_NAT), leaf(Z_ADV)
    training_loss = losses.label_smoothing_cross_entropy(z_adv, Y, 0.1)
    value = losses.lrm_loss(z_nat, z_adv, training_loss, beta=beta, ratio=ratio)
    grads = torch.autograd.grad(value, (z_nat, z_adv))

    def frozen(zn: torch.Tensor, za: torch.Tensor) -> torch.Tensor:
        j = losses.label_smoothing_cross_entropy(za, Y, 0.1)
        c0 = (float(training_loss.detach()) / float(_distribution_ce(Z_NAT, Z_ADV))) / ratio
        regularisation = (zn.pow(2).sum(1) + za.pow(2).sum(1)).mean()
        return j + c0 * _distribution_ce(zn, za) + beta * regularisation

    zn2, za2 = leaf(Z_NAT), leaf(Z_ADV)
    expected = torch.autograd.grad(frozen(zn2, za2), (zn2, za2))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    # and the un-stopped reading differs: d/dz of J~ (1 + 1/ratio) + beta R
    zn3, za3 = leaf(Z_NAT), leaf(Z_ADV)
    j3 = losses.label_smoothing_cross_entropy(za3, Y, 0.1)
    unstopped = j3 * (1 + 1 / ratio) + beta * (zn3.pow(2).sum(1) + za3.pow(2).sum(1)).mean()
    wrong = torch.autograd.grad(unstopped, (zn3, za3))
    assert (grads[0] - wrong[0]).abs().max() > 1e-2 and (grads[1] - wrong[1]).abs().max() > 1e-2


def test_trades_attack_target_p_of_x_is_detached() -> None:
    """TRADES inner maximisation ascends KL(p(x) || p(x')) in x' only: p(x) is a fixed target.
    Gradient w.r.t. the adversarial logits: (softmax(z') - softmax(z)) / N; none w.r.t. z."""
    z_nat, z_adv = leaf(Z_NAT), leaf(Z_ADV)
    value = losses.trades_attack_loss(z_adv, z_nat)
    grad_adv, grad_nat = torch.autograd.grad(value, (z_adv, z_nat), allow_unused=True)
    assert grad_nat is None
    torch.testing.assert_close(grad_adv, (F.softmax(Z_ADV, 1) - F.softmax(Z_NAT, 1)) / 2, rtol=1e-10, atol=1e-12)


def test_trades_inner_attack_computes_the_clean_target_without_a_graph() -> None:
    """The parameter gradient of the attack loss is that of KL(sg(p(x)) || p(x')): the clean
    target's logits are computed under no_grad, so only the x' path carries a gradient."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 4).double()
    loss_of = _attack_loss("trades_kl", model, Z_NAT, Y, 0.9)
    x_adv = leaf(Z_ADV)
    params = list(model.parameters())
    logits_target = model(Z_NAT).detach()
    expected = losses.trades_attack_loss(model(x_adv), logits_target)
    got_grad = torch.autograd.grad(loss_of(model(x_adv)), params)
    want_grad = torch.autograd.grad(expected, params)
    for got, want in zip(got_grad, want_grad, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def _kl_gradient_in_target(z_nat: torch.Tensor, z_adv: torch.Tensor) -> torch.Tensor:
    """d KL(p || q) / d z_nat per row, derived by hand: p_c (log p_c - log q_c - KL)."""
    p, log_p, log_q = F.softmax(z_nat, 1), F.log_softmax(z_nat, 1), F.log_softmax(z_adv, 1)
    kl = (p * (log_p - log_q)).sum(1, keepdim=True)
    return p * (log_p - log_q - kl)


def test_trades_training_loss_differentiates_through_the_clean_target() -> None:
    """TRADES training (the authors' code, [LMA] eq. 15): the clean distribution is NOT detached
    in the outer minimisation; only the inner attack stops it. Gradient w.r.t. z (clean):
    (p - onehot) / N + kl_weight * p (log p - log q - KL) / N."""
    z_nat, z_adv = leaf(Z_NAT), leaf(Z_ADV)
    (grad_nat,) = torch.autograd.grad(losses.trades_loss(z_nat, z_adv, Y, 6.0), (z_nat,))
    one_hot = F.one_hot(Y, 4).double()
    expected = (F.softmax(Z_NAT, 1) - one_hot) / 2 + 6.0 * _kl_gradient_in_target(Z_NAT, Z_ADV) / 2
    torch.testing.assert_close(grad_nat, expected, rtol=1e-10, atol=1e-12)


def test_mart_weight_and_target_are_differentiated_not_detached() -> None:
    """MART (authors' code; [LMA] Table 1): lambda KL(p(x) || p(x')) (1 - p_y(x)) with the clean
    probabilities in the graph. Gradient w.r.t. z (clean) by the product rule:
    lambda / N [ (1 - p_y) dKL/dz - KL dp_y/dz ], dp_y/dz = p_y (onehot - p)."""
    z_nat, z_adv = leaf(Z_NAT), leaf(Z_ADV)
    (grad_nat,) = torch.autograd.grad(losses.mart_loss(z_nat, z_adv, Y, 5.0), (z_nat,))
    p = F.softmax(Z_NAT, 1)
    one_hot = F.one_hot(Y, 4).double()
    p_y = (p * one_hot).sum(1, keepdim=True)
    kl = (p * (F.log_softmax(Z_NAT, 1) - F.log_softmax(Z_ADV, 1))).sum(1, keepdim=True)
    expected = 5.0 / 2 * ((1 - p_y) * _kl_gradient_in_target(Z_NAT, Z_ADV) - kl * p_y * (one_hot - p))
    torch.testing.assert_close(grad_nat, expected, rtol=1e-10, atol=1e-12)


def test_moving_average_history_is_a_stop_gradient_alg_1() -> None:
    """[LMA] Alg. 1: logit_t = tau logit_{t-1} + (1 - tau) logit. logit_{t-1} is stored state:
    the step-2 average has gradient (1 - tau) w.r.t. the step-2 logits and none w.r.t. step 1's."""
    tau = 0.2
    ema = losses.LogitMovingAverage(tau)
    first_nat, first_adv = leaf(Z_NAT), leaf(Z_ADV)
    ema(first_nat, first_adv)
    second_nat, second_adv = leaf(Z_ADV), leaf(Z_NAT)
    out_nat, out_adv = ema(second_nat, second_adv)
    torch.testing.assert_close(out_nat.detach(), tau * (1 - tau) * Z_NAT + (1 - tau) * Z_ADV)
    grads = torch.autograd.grad(
        (out_nat * Z_NAT).sum() + (out_adv * Z_ADV).sum(),
        (first_nat, first_adv, second_nat, second_adv),
        allow_unused=True,
    )
    assert grads[0] is None and grads[1] is None
    torch.testing.assert_close(grads[2], (1 - tau) * Z_NAT)
    torch.testing.assert_close(grads[3], (1 - tau) * Z_ADV)
    assert not ema.natural.requires_grad and not ema.adversarial.requires_grad


def test_focal_modulating_factor_is_differentiated() -> None:
    """Lin et al.: FL = -(1 - p)^gamma log p, so dFL/dz_y = dFL/dp * dp/dz_y with dp/dz_y = p (1 - p).
    A detached (1 - p)^gamma would give -(1 - p)^(gamma + 1) instead."""
    z = leaf(Z_NAT[:1])
    (grad,) = torch.autograd.grad(losses.focal_loss(z, Y[:1], 2.0), (z,))
    p = float(F.softmax(Z_NAT[:1], 1)[0, 0])
    d_dp = 2.0 * (1 - p) * math.log(p) - (1 - p) ** 2 / p  # d/dp of -(1-p)^2 log p
    assert float(grad[0, 0]) == pytest.approx(d_dp * p * (1 - p), rel=1e-10)
    assert float(grad[0, 0]) != pytest.approx(-((1 - p) ** 3), rel=1e-3)


def test_partial_binding_of_attack_losses_keeps_the_adversarial_argument_first() -> None:
    bound = functools.partial(losses.trades_attack_loss, logits_nat=Z_NAT)
    assert float(bound(Z_ADV)) == pytest.approx(float(losses.trades_attack_loss(Z_ADV, Z_NAT)))
