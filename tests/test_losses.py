"""Loss values and gradients against hand-derived numpy formulas at fixed small tensors."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robustbench_logits import losses
from robustbench_logits.errors import ModelError, UserError

Z_NAT = np.array(
    [[2.0, -1.0, 0.5, 0.0], [0.3, 1.2, -0.7, 2.1], [-0.5, 0.0, 0.4, -1.3]], dtype=np.float64
)
Z_ADV = np.array(
    [[0.4, 0.9, 0.5, -0.2], [0.1, 1.0, 0.6, 1.1], [0.8, -0.3, 0.2, 0.3]], dtype=np.float64
)
Y = np.array([0, 3, 1])


def t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def labels(array: np.ndarray = Y) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.int64)


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_ce_rows(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -np.log(np_softmax(z)[np.arange(len(y)), y])


def np_kl_rows(z_nat: np.ndarray, z_adv: np.ndarray) -> np.ndarray:
    p, q = np_softmax(z_nat), np_softmax(z_adv)
    return (p * (np.log(p) - np.log(q))).sum(axis=1)


def np_bce_rows(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np_softmax(z)
    rows = []
    for i, label in enumerate(y):
        p_false_max = max(p[i, k] for k in range(z.shape[1]) if k != label)
        rows.append(-math.log(p[i, label]) - math.log(1.0 - p_false_max))
    return np.array(rows)


def np_squared_hinge_rows(z: np.ndarray, y: np.ndarray, delta: float) -> np.ndarray:
    return np.array(
        [
            sum(
                max(0.0, z[i, j] - z[i, label] + delta) ** 2
                for j in range(z.shape[1])
                if j != label
            )
            for i, label in enumerate(y)
        ]
    )


def np_mhuber(u: np.ndarray, v: np.ndarray, alpha: float) -> float:
    d = u - v
    values = np.where(
        np.abs(d) / alpha <= math.pi / 2,
        alpha**2 * (1 - np.cos(d / alpha)),
        alpha * np.abs(d) + (1 - math.pi / 2) * alpha**2,
    )
    return float(values.mean())


# ------------------------------------------------------------------------------ shared / LRM


def test_cross_entropy_matches_formula() -> None:
    expected = np_ce_rows(Z_NAT, Y).mean()
    assert losses.cross_entropy(t(Z_NAT), labels()).item() == pytest.approx(expected)


def test_smoothed_targets_follow_eq8_not_pytorch() -> None:
    targets = losses.smoothed_targets(torch.tensor([2, 0]), num_classes=4, smoothing=0.3)
    expected = [[0.1, 0.1, 0.7, 0.1], [0.7, 0.1, 0.1, 0.1]]
    assert torch.allclose(targets, torch.tensor(expected))
    smoothed = losses.label_smoothing_cross_entropy(t(Z_NAT), labels(), 0.3).item()
    p = np.full((3, 4), 0.1)
    p[np.arange(3), Y] = 0.7
    assert smoothed == pytest.approx(-(p * np.log(np_softmax(Z_NAT))).sum(axis=1).mean())
    pytorch_smoothed = F.cross_entropy(t(Z_NAT), labels(), label_smoothing=0.3).item()
    assert abs(smoothed - pytorch_smoothed) > 1e-3


@pytest.mark.parametrize("smoothing", [-0.1, 0.8])
def test_smoothing_outside_eq8_range_is_a_user_error(smoothing: float) -> None:
    with pytest.raises(UserError, match="smoothing"):
        losses.smoothed_targets(torch.tensor([0]), num_classes=4, smoothing=smoothing)


def test_logit_squeezing_value_and_gradient() -> None:
    z = t(Z_NAT, grad=True)
    value = losses.logit_squeezing(z, weight=0.3)
    value.backward()
    assert value.item() == pytest.approx(0.3 / 2 * (Z_NAT**2).sum(axis=1).mean())
    assert np.allclose(z.grad.numpy(), 0.3 * Z_NAT / len(Z_NAT))


def test_alp_loss_matches_eq2_with_eq9_pairing() -> None:
    value = losses.alp_loss(t(Z_NAT), t(Z_ADV), labels(), clean_weight=0.25, pairing_weight=0.5)
    expected = (
        0.25 * np_ce_rows(Z_NAT, Y).mean()
        + 0.75 * np_ce_rows(Z_ADV, Y).mean()
        + 0.5 * ((Z_NAT - Z_ADV) ** 2).sum(axis=1).mean()
    )
    assert value.item() == pytest.approx(expected)


def test_lrm_loss_value_and_stop_gradient_coefficient() -> None:
    beta, ratio = 0.01, 0.125
    z_nat, z_adv = t(Z_NAT, grad=True), t(Z_ADV, grad=True)
    training_loss = losses.cross_entropy(z_adv, labels())
    value = losses.lrm_loss(z_nat, z_adv, training_loss, beta=beta, ratio=ratio)
    value.backward()

    n = len(Y)
    p_nat, p_adv = np_softmax(Z_NAT), np_softmax(Z_ADV)
    ce = np_ce_rows(Z_ADV, Y).mean()
    h = -(p_nat * np.log(p_adv)).sum(axis=1).mean()
    reg = ((Z_NAT**2).sum(axis=1) + (Z_ADV**2).sum(axis=1)).mean()
    # The weighted pairing term equals J~ / ratio in value.
    assert value.item() == pytest.approx(ce + ce / ratio + beta * reg)

    coefficient = ce / h / ratio  # a constant for the gradient
    one_hot = np.eye(4)[Y]
    grad_adv = (p_adv - one_hot) / n + coefficient * (p_adv - p_nat) / n + 2 * beta * Z_ADV / n
    log_q = np.log(p_adv)
    dh_dz_nat = -p_nat * (log_q - (p_nat * log_q).sum(axis=1, keepdims=True))
    grad_nat = coefficient * dh_dz_nat / n + 2 * beta * Z_NAT / n
    assert np.allclose(z_adv.grad.numpy(), grad_adv)
    assert np.allclose(z_nat.grad.numpy(), grad_nat)


def test_lrm_max_coefficient_caps_c_in_value_and_gradient() -> None:
    z_nat, z_adv = t(Z_NAT, grad=True), t(Z_ADV, grad=True)
    training_loss = losses.cross_entropy(z_adv, labels())
    p_nat, p_adv = np_softmax(Z_NAT), np_softmax(Z_ADV)
    ce = np_ce_rows(Z_ADV, Y).mean()
    h = -(p_nat * np.log(p_adv)).sum(axis=1).mean()
    cap = 0.5 * ce / h / 0.125  # below the paper's c: the cap applies
    value = losses.lrm_loss(z_nat, z_adv, training_loss, beta=0.0, ratio=0.125, max_coefficient=cap)
    value.backward()
    assert value.item() == pytest.approx(ce + cap * h)
    n, one_hot = len(Y), np.eye(4)[Y]
    assert np.allclose(z_adv.grad.numpy(), (p_adv - one_hot) / n + cap * (p_adv - p_nat) / n)
    above = losses.lrm_loss(t(Z_NAT), t(Z_ADV), losses.cross_entropy(t(Z_ADV), labels()), beta=0.0, ratio=0.125,
                            max_coefficient=10 * cap)  # above the paper's c: the paper's value
    assert above.item() == pytest.approx(ce + ce / 0.125)


def test_mixup_batch_pairs_inputs_and_labels_consistently() -> None:
    y = torch.arange(6)
    x = (y.float() / 10).view(6, 1, 1, 1).expand(6, 3, 4, 4).clone()
    x_mixed, (y_a, y_b, lam) = losses.mixup_batch(x, y, 1.0, torch.Generator().manual_seed(3))
    assert 0.0 <= lam <= 1.0
    assert torch.equal(y_a, y)
    assert sorted(y_b.tolist()) == y.tolist()
    expected = (lam * y_a.double() + (1 - lam) * y_b.double()) / 10
    assert torch.allclose(x_mixed[:, 0, 0, 0].double(), expected, atol=1e-6)
    again, (_, y_b_again, lam_again) = losses.mixup_batch(
        x, y, 1.0, torch.Generator().manual_seed(3)
    )
    assert lam_again == lam and torch.equal(y_b_again, y_b) and torch.equal(again, x_mixed)


def test_vh_mixup_label_weight_is_the_fraction_of_pixels_from_the_first_image() -> None:
    y = torch.arange(8)
    x = (y.float() / 10).view(8, 1, 1, 1).expand(8, 2, 5, 7).clone()
    x_mixed, (y_a, y_b, lam) = losses.vh_mixup_batch(x, y, torch.Generator().manual_seed(0))
    assert lam.shape == (8,) and bool(((lam >= 0) & (lam <= 1)).all())
    assert torch.equal(y_a, y) and sorted(y_b.tolist()) == y.tolist()
    # mean over pixels of w * c_a + (1 - w) * c_b equals lam * c_a + (1 - lam) * c_b
    expected = (lam * y_a.float() + (1 - lam) * y_b.float()) / 10
    assert torch.allclose(x_mixed.mean(dim=(1, 2, 3)), expected, atol=1e-6)
    # bottom-right pixel: row H-1 and column W-1 always come from the partner (h < H, w < W)
    assert torch.allclose(x_mixed[:, 0, -1, -1], y_b.float() / 10)


def test_mixup_cross_entropy_with_and_without_smoothing() -> None:
    y_b = np.array([2, 0, 1])
    lam = 0.3
    value = losses.mixup_cross_entropy(t(Z_NAT), labels(), labels(y_b), lam)
    expected = lam * np_ce_rows(Z_NAT, Y).mean() + (1 - lam) * np_ce_rows(Z_NAT, y_b).mean()
    assert value.item() == pytest.approx(expected)

    per_row = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)
    smoothed = losses.mixup_cross_entropy(t(Z_NAT), labels(), labels(y_b), per_row, smoothing=0.3)
    target = np.zeros((3, 4))
    for i in range(3):
        t_a = np.full(4, 0.1)
        t_a[Y[i]] = 0.7
        t_b = np.full(4, 0.1)
        t_b[y_b[i]] = 0.7
        target[i] = per_row[i].item() * t_a + (1 - per_row[i].item()) * t_b
    expected_smoothed = -(target * np.log(np_softmax(Z_NAT))).sum(axis=1).mean()
    assert smoothed.item() == pytest.approx(expected_smoothed)


# ------------------------------------------------------------------------------ LCAT


def test_focal_loss_formula_and_gamma_zero_is_cross_entropy() -> None:
    p_true = np_softmax(Z_NAT)[np.arange(3), Y]
    expected = (-((1 - p_true) ** 2) * np.log(p_true)).mean()
    assert losses.focal_loss(t(Z_NAT), labels(), gamma=2.0).item() == pytest.approx(expected)
    assert losses.focal_loss(t(Z_NAT), labels(), gamma=0.0).item() == pytest.approx(
        np_ce_rows(Z_NAT, Y).mean()
    )


def test_logit_amplitude_is_max_minus_min() -> None:
    assert np.allclose(losses.logit_amplitude(t(Z_NAT)).numpy(), Z_NAT.max(1) - Z_NAT.min(1))


def test_laa_alignment_term_vanishes_when_amplitudes_equal_target_and_means_match() -> None:
    noisy = t(np.array([[1.0, -1.0, 0.2], [0.5, -1.5, 0.0]]), grad=True)  # amplitudes 2, 2
    clean = t(np.array([[0.75, -0.75, 0.0], [2.0, -0.5, 0.1]]), grad=True)  # 1.5, 2.5: mean 2
    y = labels(np.array([0, 1]))
    total = losses.laa_loss(noisy, clean, y, weight=15.0, amplitude_target=2.0, gamma=2.0)
    p_true = np_softmax(noisy.detach().numpy())[[0, 1], [0, 1]]
    focal = (-((1 - p_true) ** 2) * np.log(p_true)).mean()
    assert total.item() == pytest.approx(focal, rel=1e-12)  # the alignment term is exactly 0
    total.backward()
    assert torch.isfinite(noisy.grad).all() and torch.isfinite(clean.grad).all()


def test_laa_loss_value_uses_euclidean_norm_over_batch_and_abs_of_mean_gap() -> None:
    value = losses.laa_loss(
        t(Z_ADV), t(Z_NAT), labels(), weight=15.0, amplitude_target=2.0, gamma=2.0
    )
    amp_noisy, amp_clean = Z_ADV.max(1) - Z_ADV.min(1), Z_NAT.max(1) - Z_NAT.min(1)
    p_true = np_softmax(Z_ADV)[np.arange(3), Y]
    focal = (-((1 - p_true) ** 2) * np.log(p_true)).mean()
    alignment = np.sqrt(((amp_noisy - 2.0) ** 2).sum()) + abs(amp_noisy.mean() - amp_clean.mean())
    assert value.item() == pytest.approx(focal + 15.0 * alignment)


def test_laa_readings_of_eq6_by_hand() -> None:
    # gamma = 0 makes focal the CE, subtracted below: only the alignment term is compared.
    # noisy amplitudes l(B*) = (3, 1), clean amplitudes l(B) = (0, 2), beta = 2:
    #   target term, batch norm:      ||(3 - 2, 1 - 2)||_2 = sqrt(2);   per example: (|1| + |-1|) / 2 = 1
    #   mean term, batch means:       |mean(3, 1) - mean(0, 2)| = |2 - 1| = 1;   per example: (|3 - 0| + |1 - 2|) / 2 = 2
    noisy = t(np.array([[0.0, 3.0, 0.0], [0.0, 1.0, 0.0]]))
    clean = t(np.array([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    y = labels(np.array([0, 0]))
    focal = losses.laa_loss(noisy, clean, y, weight=0.0, gamma=0.0).item()

    def alignment(**reading: str) -> float:
        return losses.laa_loss(noisy, clean, y, weight=1.0, amplitude_target=2.0, gamma=0.0, **reading).item() - focal

    assert alignment() == pytest.approx(np.sqrt(2) + 1)
    assert alignment(norm="example") == pytest.approx(1 + 1)
    assert alignment(mean="example") == pytest.approx(np.sqrt(2) + 2)
    assert alignment(norm="example", mean="example") == pytest.approx(1 + 2)
    with pytest.raises(UserError, match="LAA reading"):
        losses.laa_loss(noisy, clean, y, norm="l1")


def test_laa_amplitudes_can_come_from_other_logits_than_the_focal_term() -> None:
    noisy, clean, y = t(Z_ADV), t(Z_NAT), labels()
    focal = losses.laa_loss(noisy, clean, y, weight=0.0).item()
    # amplitudes given: (2, 2, 2) noisy against the target 2 and the clean mean 2 -> the alignment is 0
    two = torch.full((3,), 2.0, dtype=torch.float64)
    given = losses.laa_loss(noisy, clean, y, weight=15.0, amplitude_noisy=two, amplitude_clean=two)
    assert given.item() == pytest.approx(focal)


def test_ice_loss_subtracts_cross_entropy_to_every_class() -> None:
    log_p = np.log(np_softmax(Z_NAT))
    expected = (np_ce_rows(Z_NAT, Y) - 0.1 * (-log_p).sum(axis=1)).mean()
    assert losses.ice_loss(t(Z_NAT), labels(), weight=0.1).item() == pytest.approx(expected)


def test_uniform_noise_is_bounded_clipped_and_reproducible() -> None:
    x = torch.tensor([[[[0.0, 0.5, 1.0, 0.02]]]]).expand(2, 3, 4, 4).clone()
    noisy = losses.uniform_noise(x, 20 / 255, torch.Generator().manual_seed(1))
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert (noisy - x).abs().max() <= 20 / 255 + 1e-7
    assert not torch.equal(noisy, x)
    assert torch.equal(noisy, losses.uniform_noise(x, 20 / 255, torch.Generator().manual_seed(1)))


# ------------------------------------------------------------------------------ PC-LC


def test_pc_loss_value() -> None:
    p = np_softmax(Z_NAT)
    expected = np.mean(
        [
            sum(max(0.0, p[i, j] + 0.995 - p[i, Y[i]]) for j in range(4) if j != Y[i])
            for i in range(3)
        ]
    )
    assert losses.pc_loss(t(Z_NAT), labels()).item() == pytest.approx(expected)


def test_pc_loss_gradient_matches_eq7_for_one_active_term() -> None:
    probs = np.array([0.6, 0.35, 0.05])  # with xi = 0.3 only y' = 1 violates the margin
    z = t(np.log(probs)[None, :], grad=True)
    losses.pc_loss(z, labels(np.array([0])), margin=0.3).backward()
    f_y, f_j, f_k = probs
    assert z.grad[0, 0].item() == pytest.approx(-f_y * (1 - f_y + f_j))  # eq. 7
    assert z.grad[0, 1].item() == pytest.approx(f_j * (1 - f_j + f_y))  # "similarly computed"
    assert z.grad[0, 2].item() == pytest.approx(-f_k * f_j + f_k * f_y)


def test_pc_loss_gradient_sums_eq7_over_all_violating_classes() -> None:
    probs = np.array([0.5, 0.2, 0.2, 0.1])  # xi = 0.995: every false class violates
    z = t(np.log(probs)[None, :], grad=True)
    losses.pc_loss(z, labels(np.array([0]))).backward()
    f_y = probs[0]
    assert z.grad[0, 0].item() == pytest.approx(sum(-f_y * (1 - f_y + f_j) for f_j in probs[1:]))


def test_logit_constraint_uses_most_probable_false_class() -> None:
    rows = [
        max(0.0, Z_NAT[i, Y[i]] - max(Z_NAT[i, k] for k in range(4) if k != Y[i]))
        for i in range(3)
    ]
    assert rows[2] == 0.0  # row 2 is misclassified: no constraint
    value = losses.logit_constraint(t(Z_NAT), labels(), weight=0.05)
    assert value.item() == pytest.approx(0.05 * np.mean(rows))
    p = np_softmax(Z_NAT)
    pc_rows = [sum(max(0.0, p[i, j] + 0.995 - p[i, Y[i]]) for j in range(4) if j != Y[i]) for i in range(3)]
    total = losses.pc_lc_loss(t(Z_NAT), labels())  # eq. 16 without the constant C'
    assert total.item() == pytest.approx(np.mean(pc_rows) + 0.05 * np.mean(rows))


# ------------------------------------------------------------------------------ LMA-AT


def test_squared_hinge_paper_example_and_zero_when_margin_met() -> None:
    cat = labels(np.array([0]))
    example = losses.squared_hinge_margin_loss(t(np.array([[12.0, -6.0, 11.0]])), cat, 8.0)
    assert example.item() == pytest.approx(49.0)  # [LMA] sec. 4.2: hinge 0 + 7, squared 49
    satisfied = losses.squared_hinge_margin_loss(t(np.array([[5.0, 1.0, 4.0]])), cat, 0.9)
    assert satisfied.item() == 0.0
    batch = losses.squared_hinge_margin_loss(t(Z_NAT), labels(), 0.9)
    assert batch.item() == pytest.approx(np_squared_hinge_rows(Z_NAT, Y, 0.9).mean())


def test_boosted_cross_entropy_matches_eq7() -> None:
    assert losses.boosted_cross_entropy(t(Z_ADV), labels()).item() == pytest.approx(
        np_bce_rows(Z_ADV, Y).mean()
    )


def test_mhuber_branches_and_continuity_at_half_pi() -> None:
    alpha = 2.0
    switch = alpha * math.pi / 2

    def value(d: float) -> float:
        return losses.mhuber(t(np.array([[d]])), t(np.array([[0.0]])), alpha).item()

    inside, outside = 0.7 * switch, 1.4 * switch
    assert value(inside) == pytest.approx(alpha**2 * (1 - math.cos(inside / alpha)))
    assert value(-outside) == pytest.approx(alpha * outside + (1 - math.pi / 2) * alpha**2)
    assert value(switch) == pytest.approx(alpha**2)
    assert value(switch - 1e-9) == pytest.approx(value(switch + 1e-9), abs=1e-7)
    batch = losses.mhuber(t(Z_NAT), t(Z_ADV), 0.5)
    assert batch.item() == pytest.approx(np_mhuber(Z_NAT, Z_ADV, 0.5))


def test_logit_moving_average_recursion_over_steps() -> None:
    tau = 0.2
    ema = losses.LogitMovingAverage(tau)
    rng = np.random.default_rng(0)
    steps = [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4))) for _ in range(3)]
    expected_nat, expected_adv = np.zeros((3, 4)), np.zeros((3, 4))
    for nat, adv in steps:
        z_nat, z_adv = t(nat, grad=True), t(adv, grad=True)
        out_nat, out_adv = ema(z_nat, z_adv)
        expected_nat = tau * expected_nat + (1 - tau) * nat
        expected_adv = tau * expected_adv + (1 - tau) * adv
        assert np.allclose(out_nat.detach().numpy(), expected_nat)
        assert np.allclose(out_adv.detach().numpy(), expected_adv)
        (out_nat.sum() + out_adv.sum()).backward()
        assert np.allclose(z_nat.grad.numpy(), 1 - tau) and np.allclose(z_adv.grad.numpy(), 1 - tau)
    assert np.allclose(ema.natural.numpy(), expected_nat) and not ema.natural.requires_grad


def test_logit_moving_average_short_and_long_batches_and_resume() -> None:
    ema = losses.LogitMovingAverage(0.5)
    ones = torch.ones(4, 3, dtype=torch.float64)
    ema(ones, ones)  # state: 0.5 everywhere
    short_nat, _ = ema(torch.full((2, 3), 3.0, dtype=torch.float64), ones[:2])
    assert torch.allclose(short_nat, torch.full((2, 3), 1.75, dtype=torch.float64))
    assert torch.allclose(ema.natural[2:], torch.full((2, 3), 0.5, dtype=torch.float64))

    resumed = losses.LogitMovingAverage(0.5)
    resumed.load_state_dict(ema.state_dict())
    assert torch.equal(resumed.natural, ema.natural)

    long_nat, _ = resumed(
        torch.full((6, 3), 2.0, dtype=torch.float64), torch.ones(6, 3, dtype=torch.float64)
    )
    expected = 0.5 * torch.tensor([1.75, 1.75, 0.5, 0.5, 0.0, 0.0]).view(6, 1) + 0.5 * 2.0
    assert torch.allclose(long_nat.float(), expected.expand(6, 3))

    with pytest.raises(ModelError, match="classes"):
        resumed(torch.ones(6, 5), torch.ones(6, 5))
    with pytest.raises(UserError, match="tau"):
        losses.LogitMovingAverage(1.0)


def np_lma_terms(ema_nat: np.ndarray, ema_adv: np.ndarray) -> float:
    return np_squared_hinge_rows(Z_ADV, Y, 0.9).mean() + 86.0 * np_mhuber(ema_adv, ema_nat, 5.345)


def test_lma_objectives_match_table1() -> None:
    ema_nat, ema_adv = 0.8 * Z_NAT, 0.8 * Z_ADV + 0.1
    args = (t(Z_ADV), labels(), t(ema_nat), t(ema_adv))
    extra = np_lma_terms(ema_nat, ema_adv)
    kl = np_kl_rows(Z_NAT, Z_ADV)
    p_true_nat = np_softmax(Z_NAT)[np.arange(3), Y]

    standard = losses.lma_standard_at_loss(*args)
    assert standard.item() == pytest.approx(np_ce_rows(Z_ADV, Y).mean() + extra)
    lma_at = losses.lma_at_loss(*args)
    assert lma_at.item() == pytest.approx(np_bce_rows(Z_ADV, Y).mean() + extra)
    trades = losses.lma_trades_loss(t(Z_NAT), *args)
    assert trades.item() == pytest.approx(np_ce_rows(Z_NAT, Y).mean() + 6.0 * kl.mean() + extra)
    mart = losses.lma_mart_loss(t(Z_NAT), *args)
    expected_mart = np_bce_rows(Z_ADV, Y).mean() + 5.0 * (kl * (1 - p_true_nat)).mean() + extra
    assert mart.item() == pytest.approx(expected_mart)


def test_lma_attack_loss_is_cross_entropy_plus_margin() -> None:
    expected = np_ce_rows(Z_ADV, Y).mean() + np_squared_hinge_rows(Z_ADV, Y, 0.9).mean()
    assert losses.lma_attack_loss(t(Z_ADV), labels()).item() == pytest.approx(expected)


# ------------------------------------------------------------------------------ baselines


def test_pgd_at_loss_is_cross_entropy_on_adversarial_logits() -> None:
    expected = np_ce_rows(Z_ADV, Y).mean()
    assert losses.pgd_at_loss(t(Z_ADV), labels()).item() == pytest.approx(expected)


def test_trades_loss_and_attack_loss_match_direct_computation() -> None:
    kl = np_kl_rows(Z_NAT, Z_ADV)
    value = losses.trades_loss(t(Z_NAT), t(Z_ADV), labels(), kl_weight=6.0)
    assert value.item() == pytest.approx(np_ce_rows(Z_NAT, Y).mean() + 6.0 * kl.mean())
    z_nat, z_adv = t(Z_NAT, grad=True), t(Z_ADV, grad=True)
    attack = losses.trades_attack_loss(z_adv, z_nat)
    attack.backward()
    assert attack.item() == pytest.approx(kl.mean())
    assert z_nat.grad is None
    assert np.allclose(z_adv.grad.numpy(), (np_softmax(Z_ADV) - np_softmax(Z_NAT)) / 3)


def test_mart_loss_matches_direct_computation() -> None:
    p_true_nat = np_softmax(Z_NAT)[np.arange(3), Y]
    weighted_kl = np_kl_rows(Z_NAT, Z_ADV) * (1 - p_true_nat)
    expected = np_bce_rows(Z_ADV, Y).mean() + 5.0 * weighted_kl.mean()
    value = losses.mart_loss(t(Z_NAT), t(Z_ADV), labels(), kl_weight=5.0)
    assert value.item() == pytest.approx(expected)


# ------------------------------------------------------------------------------ bad input


def test_bad_input_raises_one_line_errors() -> None:
    with pytest.raises(ModelError, match="shapes"):
        losses.trades_loss(t(Z_NAT), t(Z_ADV[:2]), labels())
    with pytest.raises(ModelError, match="labels"):
        losses.cross_entropy(t(Z_NAT), labels(np.array([0, 1])))
    with pytest.raises(UserError, match="weight"):
        losses.logit_squeezing(t(Z_NAT), weight=-1.0)
    with pytest.raises(UserError, match="ratio"):
        losses.lrm_loss(t(Z_NAT), t(Z_ADV), torch.tensor(1.0), ratio=0.0)


# ------------------------------------------------------------------------------ contracts
# Exact error messages (one line, saying what to do), the papers' default hyperparameters,
# and full float64 precision: each pins a behaviour a plausible edit could change silently.

A, B = t(Z_NAT), t(Z_ADV)
SHORT = labels(np.array([0, 1]))  # one label short of the three rows


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: losses.logit_squeezing(A, -1.0), "logit squeezing weight must be >= 0, got -1.0; set a non-negative logit squeezing weight"),
        (lambda: losses.mixup_batch(A, labels(), alpha=0.0), "mixup alpha must be > 0, got 0.0; set a positive mixup alpha"),
        (lambda: losses.alp_loss(A, B, labels(), clean_weight=1.5), r"clean_weight must be in \[0, 1\], got 1.5"),
        (lambda: losses.alp_loss(A, B, labels(), clean_weight=-0.1), r"clean_weight must be in \[0, 1\], got -0.1"),
        (lambda: losses.alp_loss(A, B, labels(), pairing_weight=-1.0), "ALP pairing_weight must be >= 0"),
        (lambda: losses.lrm_loss(A, B, torch.tensor(1.0), beta=-1.0), "LRM beta must be >= 0"),
        (lambda: losses.lrm_loss(A, B, torch.tensor(1.0), ratio=0.0), "LRM ratio must be > 0"),
        (lambda: losses.focal_loss(A, labels(), gamma=-1.0), "focal gamma must be >= 0"),
        (lambda: losses.uniform_noise(A, -0.1), "noise intensity must be >= 0"),
        (lambda: losses.laa_loss(A, B, labels(), weight=-1.0), r"LAA weight \(lambda\) must be >= 0"),
        (lambda: losses.ice_loss(A, labels(), weight=-1.0), r"ICE weight \(lambda\) must be >= 0"),
        (lambda: losses.pc_loss(A, labels(), margin=0.0), "PC probability margin xi must be > 0"),
        (lambda: losses.logit_constraint(A, labels(), weight=-1.0), r"logit constraint weight \(lambda\) must be >= 0"),
        (lambda: losses.squared_hinge_margin_loss(A, labels(), margin=-1.0), "margin delta must be >= 0"),
        (lambda: losses.mhuber(A, B, 0.0), "mHuber alpha must be > 0"),
        (lambda: losses.lma_at_loss(B, labels(), A, B, mhuber_weight=-1.0), r"mHuber weight \(beta\) must be >= 0"),
        (lambda: losses.trades_loss(A, B, labels(), kl_weight=-1.0), r"TRADES kl_weight \(1/lambda\) must be >= 0"),
        (lambda: losses.mart_loss(A, B, labels(), kl_weight=-1.0), r"MART kl_weight \(lambda\) must be >= 0"),
        (lambda: losses.smoothed_targets(labels(), 1, 0.0), "num_classes must be >= 2, got 1"),
        (lambda: losses.LogitMovingAverage(-0.1), r"moving-average tau must be in \[0, 1\), got -0.1"),
        (lambda: losses.vh_mixup_batch(A, labels()), r"vh_mixup_batch expects NCHW images, got shape \(3, 4\)"),
    ],
)
def test_bad_hyperparameters_raise_the_exact_one_line_message(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(UserError, match=f"^{message}") as error:
        call()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "name, call",
    [
        ("soft_target_cross_entropy", lambda: losses.soft_target_cross_entropy(A, B[:2])),
        ("alp_loss", lambda: losses.alp_loss(A, B[:2], labels())),
        ("lrm_loss", lambda: losses.lrm_loss(A, B[:2], torch.tensor(1.0))),
        ("laa_loss", lambda: losses.laa_loss(A, B[:2], labels())),
        ("mhuber", lambda: losses.mhuber(A, B[:2], 1.0)),
        ("LogitMovingAverage", lambda: losses.LogitMovingAverage()(A, B[:2])),
        ("trades_loss", lambda: losses.trades_loss(A, B[:2], labels())),
        ("trades_attack_loss", lambda: losses.trades_attack_loss(B[:2], A)),
        ("mart_loss", lambda: losses.mart_loss(A, B[:2], labels())),
    ],
)
def test_mismatched_passes_name_the_loss(name: str, call) -> None:  # noqa: ANN001
    with pytest.raises(ModelError, match=rf"^{name}: shapes \(3, 4\) and \(2, 4\) differ; pass both forward passes of the same batch, row for row$"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: losses.cross_entropy(A, SHORT),
        lambda: losses.label_smoothing_cross_entropy(A, SHORT, 0.1),
        lambda: losses.mixup_cross_entropy(A, SHORT, SHORT, 0.5),
        lambda: losses.focal_loss(A, SHORT),
        lambda: losses.ice_loss(A, SHORT, 0.1),
        lambda: losses.pc_loss(A, SHORT),
        lambda: losses.logit_constraint(A, SHORT),
        lambda: losses.squared_hinge_margin_loss(A, SHORT),
        lambda: losses.boosted_cross_entropy(A, SHORT),
    ],
)
def test_labels_that_do_not_match_the_rows_are_refused(call) -> None:  # noqa: ANN001
    # each message says what was wrong and what to do about it
    with pytest.raises(
        ModelError, match=r"^labels of shape \(2,\) do not match logits \(3, 4\); pass one int64 label per logit row$"
    ):
        call()
    with pytest.raises(
        ModelError,
        match=r"^losses expect logits of shape \(N, C\), got \(12,\); make the model return one row of class scores per example$",
    ):
        losses.cross_entropy(A.reshape(-1), labels())


def test_default_hyperparameters_are_the_papers() -> None:
    def defaults(function) -> dict:  # noqa: ANN001
        return {k: p.default for k, p in inspect.signature(function).parameters.items() if p.default is not p.empty}

    alp = defaults(losses.alp_loss)
    assert {k: alp[k] for k in ("clean_weight", "pairing_weight")} == {"clean_weight": 0.5, "pairing_weight": 0.5}  # [LRM] sec. 2, 5.1
    assert alp.get("pairing_reduction", "sum") == "sum"  # eq. 9 as written
    assert defaults(losses.lrm_loss) == {"beta": 1e-3, "ratio": 0.125, "max_coefficient": None}  # [LRM] sec. 5.2, CIFAR-10; no cap
    assert defaults(losses.focal_loss) == {"gamma": 2.0}  # Lin et al.
    assert defaults(losses.laa_loss) == {"weight": 15.0, "amplitude_target": 2.0, "gamma": 2.0,  # [LCAT] sec. 4.2
                                         "norm": "batch", "mean": "batch",  # the package's reading of eq. 6
                                         "amplitude_noisy": None, "amplitude_clean": None}
    assert defaults(losses.pc_loss) == {"margin": 0.995}  # [PC] experiments
    assert defaults(losses.logit_constraint) == {"weight": 0.05}
    assert defaults(losses.pc_lc_loss) == {"margin": 0.995, "weight": 0.05}
    assert defaults(losses.squared_hinge_margin_loss) == {"margin": 0.9}  # [LMA] sec. 5.1
    assert defaults(losses.lma_attack_loss) == {"margin": 0.9}
    lma = {"margin": 0.9, "mhuber_weight": 86.0, "mhuber_alpha": 5.345}
    assert defaults(losses.lma_at_loss) == lma and defaults(losses.lma_standard_at_loss) == lma
    assert defaults(losses.lma_trades_loss) == {"kl_weight": 6.0, **lma}
    assert defaults(losses.lma_mart_loss) == {"kl_weight": 5.0, **lma}
    assert defaults(losses.trades_loss) == {"kl_weight": 6.0} and defaults(losses.mart_loss) == {"kl_weight": 5.0}
    assert defaults(losses.mixup_batch) == {"alpha": 1.0, "generator": None}
    assert losses.LogitMovingAverage().tau == 0.2
    # and the defaults reach the value: a call with them equals the call spelled out
    assert float(losses.alp_loss(A, B, labels())) == float(losses.alp_loss(A, B, labels(), 0.5, 0.5))


def test_non_default_hyperparameters_reach_the_inner_terms() -> None:
    # gamma of LAA's focal term, xi and lambda of PC-LC, delta of the LMA attack loss
    p_true = np_softmax(Z_ADV)[np.arange(3), Y]
    focal_half = (-((1 - p_true) ** 0.5) * np.log(p_true)).mean()
    amp_noisy, amp_clean = Z_ADV.max(1) - Z_ADV.min(1), Z_NAT.max(1) - Z_NAT.min(1)
    alignment = np.sqrt(((amp_noisy - 1.0) ** 2).sum()) + abs(amp_noisy.mean() - amp_clean.mean())
    value = losses.laa_loss(B, A, labels(), weight=0.1, amplitude_target=1.0, gamma=0.5)
    assert float(value) == pytest.approx(focal_half + 0.1 * alignment, rel=1e-12)
    p = np_softmax(Z_NAT)
    pc = np.mean([sum(max(0.0, p[i, j] + 0.3 - p[i, Y[i]]) for j in range(4) if j != Y[i]) for i in range(3)])
    lc = np.mean([max(0.0, Z_NAT[i, Y[i]] - max(Z_NAT[i, k] for k in range(4) if k != Y[i])) for i in range(3)])
    assert float(losses.pc_lc_loss(A, labels(), margin=0.3, weight=0.7)) == pytest.approx(pc + 0.7 * lc, rel=1e-12)
    attack = np_ce_rows(Z_ADV, Y).mean() + np_squared_hinge_rows(Z_ADV, Y, 0.2).mean()
    assert float(losses.lma_attack_loss(B, labels(), margin=0.2)) == pytest.approx(attack, rel=1e-12)


def test_mixup_targets_keep_float64_precision() -> None:
    # lam = 0.3 and s = 0.1 are not exact in float32: building targets or lam in float32 moves
    # the float64 loss by ~1e-8 relative, far above float64 rounding.
    y_b = np.array([2, 0, 1])
    lam, s = 0.3, 0.1
    t_a = np.full((3, 4), s / 3)
    t_a[np.arange(3), Y] = 1 - s
    t_b = np.full((3, 4), s / 3)
    t_b[np.arange(3), y_b] = 1 - s
    expected = -((lam * t_a + (1 - lam) * t_b) * np.log(np_softmax(Z_NAT))).sum(axis=1).mean()
    value = losses.mixup_cross_entropy(A, labels(), labels(y_b), lam, smoothing=s)
    assert float(value) == pytest.approx(expected, rel=1e-13)
    smoothed = losses.label_smoothing_cross_entropy(A, labels(), s)
    assert float(smoothed) == pytest.approx(-(t_a * np.log(np_softmax(Z_NAT))).sum(axis=1).mean(), rel=1e-13)


def test_alp_clean_weight_bounds_are_inclusive() -> None:
    # alpha = 0 is LRM's baselines (sec. 5.2), alpha = 1 pure clean training with pairing
    zero = losses.alp_loss(A, B, labels(), clean_weight=0.0, pairing_weight=0.0)
    one = losses.alp_loss(A, B, labels(), clean_weight=1.0, pairing_weight=0.0)
    assert float(zero) == pytest.approx(np_ce_rows(Z_ADV, Y).mean()) and float(one) == pytest.approx(np_ce_rows(Z_NAT, Y).mean())


def test_seeded_draws_ignore_the_global_generator() -> None:
    x = torch.rand(6, 2, 5, 7, generator=torch.Generator().manual_seed(0))
    y = torch.arange(6)
    outputs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        outputs.append(
            (
                losses.vh_mixup_batch(x, y, torch.Generator().manual_seed(4)),
                losses.mixup_batch(x, y, 0.7, torch.Generator().manual_seed(4)),
                losses.uniform_noise(x, 0.3, torch.Generator().manual_seed(4)),
            )
        )
    (vh1, mix1, noise1), (vh2, mix2, noise2) = outputs
    assert torch.equal(vh1[0], vh2[0]) and torch.equal(vh1[1][1], vh2[1][1]) and torch.equal(vh1[1][2], vh2[1][2])
    assert torch.equal(mix1[0], mix2[0]) and mix1[1][2] == mix2[1][2] and torch.equal(noise1, noise2)


def test_vh_mixup_cut_rows_and_columns_cover_zero() -> None:
    # h ~ U{0..H-1}, w ~ U{0..W-1} (the reference draws include 0). With image a = 1 and its
    # partner 0: pixel (0, W-1) = m [h >= 1] (Hz column W-1 is always the partner's), so it is 0
    # exactly when h = 0, probability 1/H; pixel (H-1, 0) = (1 - m) [w >= 1]: 0 when w = 0, 1/W.
    height = width = 4
    x = torch.stack([torch.ones(1, height, width), torch.zeros(1, height, width)])
    generator = torch.Generator().manual_seed(9)
    top_right_zero, bottom_left_zero, swapped = 0, 0, 0
    for _ in range(3000):
        mixed, (_, y_b, _) = losses.vh_mixup_batch(x, torch.tensor([0, 1]), generator)
        if int(y_b[0]) != 1:
            continue
        swapped += 1
        top_right_zero += float(mixed[0, 0, 0, width - 1]) == 0.0
        bottom_left_zero += float(mixed[0, 0, height - 1, 0]) == 0.0
    se = math.sqrt(0.25 * 0.75 / swapped)
    assert abs(top_right_zero / swapped - 1 / height) < 5 * se
    assert abs(bottom_left_zero / swapped - 1 / width) < 5 * se


def test_defaults_reach_the_value() -> None:
    # A default is part of the formula when the caller leaves it out; each call below omits it
    # and is compared with the value at the paper's number, written out here.
    p_true = np_softmax(Z_NAT)[np.arange(3), Y]
    assert float(losses.focal_loss(A, labels())) == pytest.approx((-((1 - p_true) ** 2) * np.log(p_true)).mean(), rel=1e-12)
    amp_b, amp_a = Z_ADV.max(1) - Z_ADV.min(1), Z_NAT.max(1) - Z_NAT.min(1)
    q_true = np_softmax(Z_ADV)[np.arange(3), Y]
    laa = (-((1 - q_true) ** 2) * np.log(q_true)).mean() + 15.0 * (
        np.sqrt(((amp_b - 2.0) ** 2).sum()) + abs(amp_b.mean() - amp_a.mean()))
    assert float(losses.laa_loss(B, A, labels())) == pytest.approx(laa, rel=1e-12)
    p = np_softmax(Z_NAT)
    pc = np.mean([sum(max(0.0, p[i, j] + 0.995 - p[i, Y[i]]) for j in range(4) if j != Y[i]) for i in range(3)])
    lc = np.mean([max(0.0, Z_NAT[i, Y[i]] - max(Z_NAT[i, k] for k in range(4) if k != Y[i])) for i in range(3)])
    assert float(losses.pc_loss(A, labels())) == pytest.approx(pc, rel=1e-12)
    assert float(losses.logit_constraint(A, labels())) == pytest.approx(0.05 * lc, rel=1e-12)
    assert float(losses.pc_lc_loss(A, labels())) == pytest.approx(pc + 0.05 * lc, rel=1e-12)
    hinge = np_squared_hinge_rows(Z_ADV, Y, 0.9).mean()
    assert float(losses.squared_hinge_margin_loss(B, labels())) == pytest.approx(hinge, rel=1e-12)
    assert float(losses.lma_attack_loss(B, labels())) == pytest.approx(np_ce_rows(Z_ADV, Y).mean() + hinge, rel=1e-12)
    kl = np_kl_rows(Z_NAT, Z_ADV)
    assert float(losses.trades_loss(A, B, labels())) == pytest.approx(np_ce_rows(Z_NAT, Y).mean() + 6.0 * kl.mean(), rel=1e-12)
    mart = np_bce_rows(Z_ADV, Y).mean() + 5.0 * (kl * (1 - p_true)).mean()
    assert float(losses.mart_loss(A, B, labels())) == pytest.approx(mart, rel=1e-12)
    alp = 0.5 * np_ce_rows(Z_NAT, Y).mean() + 0.5 * np_ce_rows(Z_ADV, Y).mean() + 0.5 * ((Z_NAT - Z_ADV) ** 2).sum(1).mean()
    assert float(losses.alp_loss(A, B, labels())) == pytest.approx(alp, rel=1e-12)
    ce_b = np_ce_rows(Z_ADV, Y).mean()
    reg = ((Z_NAT**2).sum(1) + (Z_ADV**2).sum(1)).mean()
    lrm = losses.lrm_loss(A, B, torch.tensor(ce_b, dtype=torch.float64))
    assert float(lrm) == pytest.approx(ce_b + ce_b / 0.125 + 1e-3 * reg, rel=1e-12)
    ema_n, ema_a = 0.8 * Z_NAT, 0.8 * Z_ADV
    extra = hinge + 86.0 * np_mhuber(ema_a, ema_n, 5.345)
    value = losses.lma_at_loss(B, labels(), t(ema_n), t(ema_a))
    assert float(value) == pytest.approx(np_bce_rows(Z_ADV, Y).mean() + extra, rel=1e-12)
    value = losses.lma_standard_at_loss(B, labels(), t(ema_n), t(ema_a))
    assert float(value) == pytest.approx(ce_b + extra, rel=1e-12)
    value = losses.lma_trades_loss(A, B, labels(), t(ema_n), t(ema_a))
    assert float(value) == pytest.approx(np_ce_rows(Z_NAT, Y).mean() + 6.0 * kl.mean() + extra, rel=1e-12)
    value = losses.lma_mart_loss(A, B, labels(), t(ema_n), t(ema_a))
    assert float(value) == pytest.approx(mart + extra, rel=1e-12)
    ema = losses.LogitMovingAverage()
    assert float(ema(A, B)[0][0, 0]) == pytest.approx(0.8 * Z_NAT[0, 0])  # tau = 0.2 from logit_0 = 0


def test_boundary_hyperparameters_are_accepted() -> None:
    # s = 1 - 1/C is the uniform target (eq. 8's range is closed); tau = 0 is "no averaging" ([LMA] sec. 6)
    uniform = losses.smoothed_targets(labels(), 4, 0.75, dtype=torch.float64)
    assert torch.equal(uniform, torch.full((3, 4), 0.25, dtype=torch.float64))
    out_nat, _ = losses.LogitMovingAverage(0.0)(A, B)
    assert torch.equal(out_nat, A)
    assert float(losses.smoothed_targets(labels(), 4, 0.0).sum()) == 3.0


def test_losses_raise_no_warnings() -> None:
    ema = losses.LogitMovingAverage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. an implicit softmax dimension
        losses.lrm_loss(A, B, torch.tensor(1.0, dtype=torch.float64))
        losses.trades_loss(A, B, labels())
        losses.mart_loss(A, B, labels())
        losses.ice_loss(A, labels(), 0.1)
        losses.pc_lc_loss(A, labels())
        losses.laa_loss(A, B, labels())
        losses.boosted_cross_entropy(A, labels())
        losses.label_smoothing_cross_entropy(A, labels(), 0.1)
        losses.mixup_cross_entropy(A, labels(), labels(), 0.3)
        ema(A, B)


def test_alp_pairing_reduction_readings() -> None:
    # "sum": eq. 9 as written; "mean": over the C = 4 logits (Kannan et al.'s code), 4x weaker
    pairing = ((Z_NAT - Z_ADV) ** 2).sum(1).mean()
    base = np_ce_rows(Z_ADV, Y).mean()
    assert float(losses.alp_loss(A, B, labels(), 0.0, 0.5, "sum")) == pytest.approx(base + 0.5 * pairing, rel=1e-12)
    assert float(losses.alp_loss(A, B, labels(), 0.0, 0.5, "mean")) == pytest.approx(base + 0.5 * pairing / 4, rel=1e-12)
    with pytest.raises(UserError, match=r"^ALP pairing_reduction must be 'sum' \(eq. 9\) or 'mean' \(Kannan et al.'s code\), got 'max'$"):
        losses.alp_loss(A, B, labels(), pairing_reduction="max")


def test_smoothing_out_of_range_message_states_the_bound() -> None:
    # The upper bound 1 - 1/C is written out: 0.75 for C = 4, 0.9 for C = 10.
    for num_classes, bound in ((4, "0.75"), (10, "0.9")):
        with pytest.raises(UserError) as error:
            losses.smoothed_targets(labels(), num_classes, 0.95)
        assert str(error.value) == f"smoothing must lie in [0, 1 - 1/C] = [0, {bound}] ([LRM] eq. 8), got 0.95"


def test_distribution_cross_entropy_is_the_batch_mean_of_eq11() -> None:
    # Private helper of lrm_loss. lrm_loss's value and gradient do not depend on h's scale
    # (c = sg(J~ / h) / ratio), except where the 1e-12 clamp acts, so h is pinned directly.
    # Row 1: p = (1/2, 1/2), q = (1/4, 3/4): h1 = ln 2 + (1/2) ln(4/3).
    # Row 2: p = (3/4, 1/4), q = (1/2, 1/2): h2 = ln 2.   Batch mean = ln 2 + (1/4) ln(4/3).
    ln3 = math.log(3.0)
    z_nat = torch.tensor([[0.0, 0.0], [ln3, 0.0]], dtype=torch.float64)
    z_adv = torch.tensor([[0.0, ln3], [0.0, 0.0]], dtype=torch.float64)
    h = losses._distribution_cross_entropy(z_nat, z_adv)
    assert h.shape == () and float(h) == pytest.approx(math.log(2.0) + 0.25 * math.log(4.0 / 3.0), rel=1e-14)


def test_logit_moving_average_class_mismatch_message_says_what_to_do() -> None:
    ema = losses.LogitMovingAverage()
    ema(A, B)  # 4 classes
    with pytest.raises(ModelError) as error:
        ema(torch.ones(3, 5, dtype=torch.float64), torch.ones(3, 5, dtype=torch.float64))
    assert str(error.value) == "moving-average state has 4 classes, logits have 5; use one LogitMovingAverage per model"


def test_logit_moving_average_short_batch_of_at_least_c_rows_keeps_the_other_rows() -> None:
    # C = 2 classes, 4 stored rows; a short batch of 2 rows (2 >= C) updates rows 0-1 only.
    ema = losses.LogitMovingAverage(0.5)
    ema(torch.ones(4, 2, dtype=torch.float64), torch.ones(4, 2, dtype=torch.float64))  # state 0.5
    ema(torch.full((2, 2), 3.0, dtype=torch.float64), torch.ones(2, 2, dtype=torch.float64))  # rows 0-1: 1.75
    out_nat, _ = ema(torch.full((4, 2), 2.0, dtype=torch.float64), torch.ones(4, 2, dtype=torch.float64))
    # rows 0-1: 0.5 * 1.75 + 0.5 * 2 = 1.875; rows 2-3: 0.5 * 0.5 + 0.5 * 2 = 1.25
    expected = torch.tensor([1.875, 1.875, 1.25, 1.25], dtype=torch.float64).view(4, 1).expand(4, 2)
    assert torch.equal(out_nat, expected)


def test_logit_moving_average_history_follows_the_logits_dtype_on_a_short_batch() -> None:
    # A float32 state (e.g. resumed from a float32 run) continued in float64 with a short batch:
    # the kept history is float64 from then on, so 0.3 (not exact in float32) is not rounded.
    saved = losses.LogitMovingAverage(0.5)
    saved(torch.ones(2, 2), torch.ones(2, 2))  # float32 state 0.5 (exact)
    ema = losses.LogitMovingAverage(0.5)
    ema.load_state_dict(saved.state_dict())
    row = torch.full((1, 2), 0.1, dtype=torch.float64)
    out, _ = ema(row, row)  # row 0: 0.5 * 0.5 + 0.5 * 0.1 = 0.3
    assert out.dtype == torch.float64 and float(out[0, 0]) == pytest.approx(0.3, abs=1e-15)
    zero = torch.zeros(1, 2, dtype=torch.float64)
    out, _ = ema(zero, zero)  # row 0: 0.5 * 0.3 = 0.15; float32(0.3) / 2 would be off by 6e-9
    assert float(out[0, 0]) == pytest.approx(0.15, abs=1e-15)


def test_logit_moving_average_accepts_an_empty_batch() -> None:
    # An empty batch (N = 0) returns an empty (0, C) average and leaves the stored rows alone,
    # whether it comes first or after a full batch.
    empty = torch.zeros(0, 4, dtype=torch.float64)
    ema = losses.LogitMovingAverage(0.5)
    out_nat, out_adv = ema(empty, empty)
    assert out_nat.shape == (0, 4) and out_adv.shape == (0, 4)
    out_nat, _ = ema(A, B)  # from logit_0 = 0: 0.5 * A
    assert torch.equal(out_nat, 0.5 * A)
    ema(empty, empty)
    assert torch.equal(ema.natural, 0.5 * A)


def test_lma_losses_pass_a_non_default_margin_and_mhuber_terms_in_their_places() -> None:
    # delta = 0.2, beta = 3, alpha = 0.7 (not the defaults 0.9, 86, 5.345) must reach L'_i and
    # mHuber in every LMA objective ([LMA] Table 1): L'_i(x') + beta mHuber(EMA', EMA, alpha).
    ema_n, ema_a = 0.8 * Z_NAT, 0.8 * Z_ADV + 0.1
    extra = np_squared_hinge_rows(Z_ADV, Y, 0.2).mean() + 3.0 * np_mhuber(ema_a, ema_n, 0.7)
    assert np_squared_hinge_rows(Z_ADV, Y, 0.2).mean() != pytest.approx(np_squared_hinge_rows(Z_ADV, Y, 0.9).mean())
    terms = {"margin": 0.2, "mhuber_weight": 3.0, "mhuber_alpha": 0.7}
    args = (B, labels(), t(ema_n), t(ema_a))
    kl = np_kl_rows(Z_NAT, Z_ADV)
    p_true_nat = np_softmax(Z_NAT)[np.arange(3), Y]
    expected = {
        "lma_standard_at_loss": (losses.lma_standard_at_loss(*args, **terms), np_ce_rows(Z_ADV, Y).mean()),
        "lma_at_loss": (losses.lma_at_loss(*args, **terms), np_bce_rows(Z_ADV, Y).mean()),
        "lma_trades_loss": (losses.lma_trades_loss(A, *args, **terms), np_ce_rows(Z_NAT, Y).mean() + 6.0 * kl.mean()),
        "lma_mart_loss": (
            losses.lma_mart_loss(A, *args, **terms),
            np_bce_rows(Z_ADV, Y).mean() + 5.0 * (kl * (1 - p_true_nat)).mean(),
        ),
    }
    for name, (value, base) in expected.items():
        assert float(value) == pytest.approx(base + extra, rel=1e-12), name


def test_mixup_lam_is_numpys_beta_at_a_seed_drawn_from_the_torch_generator() -> None:
    # The documented scheme that keeps mixup reproducible from one torch seed: the generator's
    # first draw is a seed uniform on [0, 2^62), numpy's Beta(alpha, alpha) at that seed is lam,
    # and the generator's next draw is the partner permutation. Pinned, so a recorded run's
    # mixup coefficients stay the same for the same seed.
    g = torch.Generator().manual_seed(11)
    seed = int(torch.randint(0, 2**62, (1,), generator=g))
    expected_lam = float(np.random.default_rng(seed).beta(0.7, 0.7))
    expected_perm = torch.randperm(6, generator=g)
    x = torch.rand(6, 2, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mixed, (y_a, y_b, lam) = losses.mixup_batch(x, torch.arange(6), 0.7, torch.Generator().manual_seed(11))
    assert lam == expected_lam
    assert torch.equal(y_a, torch.arange(6)) and torch.equal(y_b, expected_perm)
    assert torch.allclose(mixed, expected_lam * x + (1 - expected_lam) * x[expected_perm], rtol=0, atol=1e-15)


def test_uniform_noise_is_the_generators_next_uniforms_mapped_onto_plus_minus_intensity() -> None:
    # u = 2 U - 1 with U the generator's next torch.rand draws in x's dtype (full float64
    # resolution for float64 images), scaled by the intensity and added: x + (2U - 1) * i.
    # x = 0.5, i = 0.25 keeps every pixel inside [0, 1], so no clipping.
    x = torch.full((2, 3, 4, 4), 0.5, dtype=torch.float64)
    draws = torch.rand(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    noisy = losses.uniform_noise(x, 0.25, torch.Generator().manual_seed(3))
    assert noisy.dtype == torch.float64
    assert torch.allclose(noisy, 0.5 + (2.0 * draws - 1.0) * 0.25, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_vh_mixup_and_uniform_noise_keep_a_half_precision_input_dtype(dtype: torch.dtype) -> None:
    # Images in half precision come out in half precision: the mixed images, VH-mixup's per-row
    # label weights lam and the noised images are all in x's dtype (no silent float32 upcast).
    x = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(0)).to(dtype)
    mixed, (_, _, lam) = losses.vh_mixup_batch(x, torch.arange(4), torch.Generator().manual_seed(1))
    assert mixed.dtype == dtype and lam.dtype == dtype
    assert bool(((lam >= 0) & (lam <= 1)).all())
    noisy = losses.uniform_noise(x, 0.1, torch.Generator().manual_seed(2))
    assert noisy.dtype == dtype and noisy.min() >= 0 and noisy.max() <= 1


def test_unseeded_draws_come_from_the_global_generator() -> None:
    # generator=None is the default: mixup, VH-mixup and the LAA noise then draw from torch's
    # global generator, so torch.manual_seed makes them reproducible, and they stay valid draws.
    x = torch.rand(6, 2, 5, 7, generator=torch.Generator().manual_seed(0))
    y = torch.arange(6)
    outputs = []
    for _ in range(2):
        torch.manual_seed(7)
        outputs.append((losses.mixup_batch(x, y), losses.vh_mixup_batch(x, y), losses.uniform_noise(x, 0.3)))
    (mix1, vh1, noise1), (mix2, vh2, noise2) = outputs
    x_mixed, (y_a, y_b, lam) = mix1
    assert torch.equal(y_a, y) and sorted(y_b.tolist()) == y.tolist() and 0.0 <= lam <= 1.0  # y_b: a permutation
    torch.testing.assert_close(x_mixed, lam * x + (1.0 - lam) * x[y_b])  # partner row i is row y_b[i] (y = arange)
    assert torch.equal(mix1[0], mix2[0]) and mix1[1][2] == mix2[1][2] and torch.equal(mix1[1][1], mix2[1][1])
    assert sorted(vh1[1][1].tolist()) == y.tolist() and torch.equal(vh1[0], vh2[0]) and torch.equal(vh1[1][2], vh2[1][2])
    assert torch.equal(noise1, noise2) and float((noise1 - x).abs().max()) <= 0.3 + 1e-6 and not torch.equal(noise1, x)
    # the draws are the global generator's own: a generator seeded alike gives them, another seed does not
    for draw in (lambda g: losses.uniform_noise(x, 0.3, g), lambda g: losses.mixup_batch(x, y, generator=g)[0],
                 lambda g: losses.vh_mixup_batch(x, y, g)[0]):
        torch.manual_seed(7)
        global_draw = draw(None)
        assert torch.equal(global_draw, draw(torch.Generator().manual_seed(7)))
        torch.manual_seed(8)
        assert not torch.equal(draw(None), global_draw)
