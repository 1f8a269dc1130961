"""Objectives: which forward pass feeds which loss, checked against numpy formulas at fixed points.

The "model" is the identity, so the inputs are the logits and every expected value is written
out by hand from the papers' equations (not computed with losses.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from robustbench_logits import losses
from robustbench_logits.errors import UserError
from robustbench_logits.heads import LogitHead
from robustbench_logits.models.logit_head import LogitHeadModel
from robustbench_logits.objectives import (
    MixedLabels,
    ObjectiveError,
    create_objective,
    hard_labels,
)

Z = np.array([[2.0, -1.0, 0.5], [0.2, 0.3, -0.4], [-1.5, 2.5, 1.0]])
Z_ADV = np.array([[0.5, 1.0, 0.0], [1.2, -0.3, 0.4], [0.5, 0.5, -2.0]])
Y = np.array([0, 2, 1])
IDENTITY = nn.Identity()


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _ce(z: np.ndarray, y: np.ndarray) -> float:
    return float(-_log_softmax(z)[np.arange(len(y)), y].mean())


def _kl_rows(z_nat: np.ndarray, z_adv: np.ndarray) -> np.ndarray:
    p = np.exp(_log_softmax(z_nat))
    return (p * (_log_softmax(z_nat) - _log_softmax(z_adv))).sum(axis=1)


def _bce(z: np.ndarray, y: np.ndarray) -> float:
    p = np.exp(_log_softmax(z))
    total = 0.0
    for i, label in enumerate(y):
        p_false = max(p[i, k] for k in range(z.shape[1]) if k != label)
        total += -np.log(p[i, label]) - np.log(1.0 - p_false)
    return total / len(y)


def _squared_hinge(z: np.ndarray, y: np.ndarray, delta: float) -> float:
    total = 0.0
    for i, label in enumerate(y):
        total += sum(max(0.0, z[i, j] - z[i, label] + delta) ** 2 for j in range(z.shape[1]) if j != label)
    return total / len(y)


def _mhuber(u: np.ndarray, v: np.ndarray, alpha: float) -> float:
    d = u - v
    h = np.where(np.abs(d) / alpha <= np.pi / 2, alpha**2 * (1 - np.cos(d / alpha)), alpha * np.abs(d) + (1 - np.pi / 2) * alpha**2)
    return float(h.mean())


def _run(name: str, x_adv: np.ndarray | None = Z_ADV, y: object = None, **hp: object) -> tuple[float, torch.Tensor]:
    objective = create_objective(name, **hp)
    loss, logits = objective(IDENTITY, _t(Z), _t(Y).long() if y is None else y, None if x_adv is None else _t(x_adv))
    return float(loss), logits


def test_cross_entropy_reads_the_pass_it_is_told_to() -> None:
    clean, logits_clean = _run("cross_entropy", on="clean")
    perturbed, logits_perturbed = _run("cross_entropy", on="perturbed")
    assert clean == pytest.approx(_ce(Z, Y), abs=1e-12)
    assert perturbed == pytest.approx(_ce(Z_ADV, Y), abs=1e-12)  # PGD-AT, CE+NOI
    assert torch.equal(logits_clean, _t(Z)) and torch.equal(logits_perturbed, _t(Z_ADV))


def test_label_smoothing_uses_s_over_c_minus_1() -> None:
    s = 0.3
    targets = np.full(Z.shape, s / 2)
    targets[np.arange(3), Y] = 1 - s
    expected = float(-(targets * _log_softmax(Z)).sum(axis=1).mean())  # Summers eq. 8
    # the targets are built in the logits' dtype: full float64 agreement
    assert _run("label_smoothing", smoothing=s)[0] == pytest.approx(expected, abs=1e-12)


def test_logit_squeezing_value_and_gradient() -> None:
    weight = 0.4
    expected = _ce(Z, Y) + weight / 2 * float((Z**2).sum(axis=1).mean())  # Kanai eq. 3
    z = _t(Z).requires_grad_(True)
    loss, _ = create_objective("logit_squeezing", weight=weight)(IDENTITY, z, _t(Y).long(), None)
    loss.backward()
    one_hot = np.eye(3)[Y]
    expected_grad = (np.exp(_log_softmax(Z)) - one_hot) / 3 + weight * Z / 3
    assert float(loss.detach()) == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), expected_grad, atol=1e-12)


def test_ice_subtracts_lambda_times_the_ce_of_every_class() -> None:
    weight = 0.2
    ce_all_classes = -_log_softmax(Z_ADV).sum(axis=1)  # sum_i CE(z, i), LCAT eq. 4
    expected = _ce(Z_ADV, Y) - weight * float(ce_all_classes.mean())
    assert _run("ice", weight=weight, on="perturbed")[0] == pytest.approx(expected, abs=1e-12)


def test_laa_focal_on_noisy_plus_amplitude_alignment() -> None:
    lam, beta, gamma = 15.0, 2.0, 2.0
    log_p = _log_softmax(Z_ADV)[np.arange(3), Y]
    focal = float(-(((1 - np.exp(log_p)) ** gamma) * log_p).mean())
    amp_noisy, amp_clean = Z_ADV.max(1) - Z_ADV.min(1), Z.max(1) - Z.min(1)
    expected = focal + lam * (np.linalg.norm(amp_noisy - beta) + abs(amp_noisy.mean() - amp_clean.mean()))  # LCAT eq. 6
    loss, logits = _run("laa", weight=lam, amplitude_target=beta, gamma=gamma)
    assert loss == pytest.approx(expected, abs=1e-10)
    assert torch.equal(logits, _t(Z_ADV))


def test_pc_lc_is_cross_entropy_during_warmup_then_pc_plus_constraint() -> None:
    xi, lam = 0.995, 0.05
    objective = create_objective("pc_lc", margin=xi, weight=lam, ce_warmup_epochs=1)
    objective.start_epoch(0)
    assert float(objective(IDENTITY, _t(Z), _t(Y).long(), None)[0]) == pytest.approx(_ce(Z, Y), abs=1e-12)
    objective.start_epoch(1)
    p = np.exp(_log_softmax(Z))
    pc = lc = 0.0
    for i, label in enumerate(Y):
        others = [k for k in range(3) if k != label]
        pc += sum(max(0.0, p[i, k] + xi - p[i, label]) for k in others)  # Li et al. eq. 6
        j = max(others, key=lambda k: Z[i, k])
        lc += max(0.0, Z[i, label] - Z[i, j])  # eq. 16, d_yj
    expected = pc / 3 + lam * lc / 3
    assert float(objective(IDENTITY, _t(Z), _t(Y).long(), None)[0]) == pytest.approx(expected, abs=1e-12)


def test_alp_pairs_clean_and_adversarial_logits() -> None:
    alpha, lam = 0.25, 0.5
    expected = alpha * _ce(Z, Y) + (1 - alpha) * _ce(Z_ADV, Y) + lam * float(((Z - Z_ADV) ** 2).sum(axis=1).mean())
    assert _run("alp", clean_weight=alpha, pairing_weight=lam)[0] == pytest.approx(expected, abs=1e-12)


def test_lrm_value_and_detached_ratio_coefficient() -> None:
    s, beta, ratio = 0.1, 1e-3, 0.125
    targets = np.full(Z.shape, s / 2)
    targets[np.arange(3), Y] = 1 - s
    j_adv = float(-(targets * _log_softmax(Z_ADV)).sum(axis=1).mean())
    h = float(-(np.exp(_log_softmax(Z)) * _log_softmax(Z_ADV)).sum(axis=1).mean())
    squeeze = float(((Z**2).sum(1) + (Z_ADV**2).sum(1)).mean())
    # Summers eq. 11, sec. 5.2: the pairing term is set to J / ratio in value
    expected = j_adv + (j_adv / h) / ratio * h + beta * squeeze
    assert _run("lrm", smoothing=s, beta=beta, ratio=ratio)[0] == pytest.approx(expected, rel=1e-6)


def test_lrm_takes_mixed_labels() -> None:
    lam = 0.7
    mixed = MixedLabels(_t(Y).long(), torch.tensor([1, 0, 2]), lam)
    targets = lam * np.eye(3)[Y] + (1 - lam) * np.eye(3)[[1, 0, 2]]
    j_adv = float(-(targets * _log_softmax(Z_ADV)).sum(axis=1).mean())
    squeeze = float(((Z**2).sum(1) + (Z_ADV**2).sum(1)).mean())
    expected = j_adv + j_adv / 0.5 + 0.0 * squeeze
    assert _run("lrm", y=mixed, smoothing=0.0, beta=0.0, ratio=0.5)[0] == pytest.approx(expected, rel=1e-6)
    assert hard_labels(mixed).tolist() == Y.tolist()


def test_trades_reports_clean_logits() -> None:
    expected = _ce(Z, Y) + 6.0 * float(_kl_rows(Z, Z_ADV).mean())  # LMA-AT eq. 15
    loss, logits = _run("trades", kl_weight=6.0)
    assert loss == pytest.approx(expected, abs=1e-12)
    assert torch.equal(logits, _t(Z))


def test_mart_weights_kl_by_clean_misclassification() -> None:
    p_true = np.exp(_log_softmax(Z))[np.arange(3), Y]
    expected = _bce(Z_ADV, Y) + 5.0 * float((_kl_rows(Z, Z_ADV) * (1 - p_true)).mean())  # LCAT eq. 3
    assert _run("mart", kl_weight=5.0)[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("base", ["at", "trades", "mart", "bce"])
def test_lma_family_two_steps_of_moving_average(base: str) -> None:
    delta, beta, alpha, tau, kl = 0.9, 86.0, 5.345, 0.2, 3.0
    hp = {"base": base, "margin": delta, "mhuber_weight": beta, "mhuber_alpha": alpha, "tau": tau}
    if base in ("trades", "mart"):
        hp["kl_weight"] = kl
    objective = create_objective("lma", **hp)
    y = _t(Y).long()
    objective(IDENTITY, _t(Z), y, _t(Z_ADV))  # step 1: EMA = (1 - tau) f
    z2, z2_adv = Z * 0.5 + 0.1, Z_ADV - 0.2
    loss = float(objective(IDENTITY, _t(z2), y, _t(z2_adv))[0])
    ema_nat = tau * (1 - tau) * Z + (1 - tau) * z2  # Alg. 1 from logit_0 = 0
    ema_adv = tau * (1 - tau) * Z_ADV + (1 - tau) * z2_adv
    p_true = np.exp(_log_softmax(z2))[np.arange(3), Y]
    base_value = {
        "at": _ce(z2_adv, Y),  # eq. 14
        "trades": _ce(z2, Y) + kl * float(_kl_rows(z2, z2_adv).mean()),  # eq. 16
        "mart": _bce(z2_adv, Y) + kl * float((_kl_rows(z2, z2_adv) * (1 - p_true)).mean()),
        "bce": _bce(z2_adv, Y),  # eq. 17
    }[base]
    expected = base_value + _squared_hinge(z2_adv, Y, delta) + beta * _mhuber(ema_adv, ema_nat, alpha)
    assert loss == pytest.approx(expected, rel=1e-10)


def test_lma_state_round_trips_through_state_dict() -> None:
    first = create_objective("lma", base="bce")
    y = _t(Y).long()
    first(IDENTITY, _t(Z), y, _t(Z_ADV))
    second = create_objective("lma", base="bce")
    second.load_state_dict(first.state_dict())
    assert float(first(IDENTITY, _t(Z_ADV), y, _t(Z))[0]) == float(second(IDENTITY, _t(Z_ADV), y, _t(Z))[0])


def test_errors_say_what_to_do() -> None:
    with pytest.raises(ObjectiveError, match="attack or a noise"):
        _run("trades", x_adv=None)
    with pytest.raises(ObjectiveError, match="mixed labels"):
        _run("trades", y=MixedLabels(_t(Y).long(), _t(Y).long(), 0.5))
    with pytest.raises(ObjectiveError, match="choose one of"):
        create_objective("nope")
    with pytest.raises(ObjectiveError, match="bad hyperparameters"):
        create_objective("trades", beta=1.0)
    with pytest.raises(UserError, match="'on'"):
        create_objective("cross_entropy", on="adversarial")


def test_label_smoothing_and_logit_squeezing_at_read_the_perturbed_pass() -> None:
    """Kanai's AT rows (LSM + AT, LSQ + AT): the same losses on the PGD examples."""
    s, weight = 0.3, 0.4
    targets = np.full(Z_ADV.shape, s / 2)
    targets[np.arange(3), Y] = 1 - s
    expected_lsm = float(-(targets * _log_softmax(Z_ADV)).sum(axis=1).mean())
    assert _run("label_smoothing", smoothing=s, on="perturbed")[0] == pytest.approx(expected_lsm, abs=1e-12)
    expected_lsq = _ce(Z_ADV, Y) + weight / 2 * float((Z_ADV**2).sum(axis=1).mean())
    assert _run("logit_squeezing", weight=weight, on="perturbed")[0] == pytest.approx(expected_lsq, abs=1e-12)
    assert _run("logit_squeezing", weight=weight)[0] != pytest.approx(expected_lsq, abs=1e-6)


# --- defaults are the papers' numbers, flags and messages the trainer relies on --------------


def _pc(z: np.ndarray, y: np.ndarray, xi: float, lam: float) -> float:
    p = np.exp(_log_softmax(z))
    pc = lc = 0.0
    for i, label in enumerate(y):
        others = [k for k in range(z.shape[1]) if k != label]
        pc += sum(max(0.0, p[i, k] + xi - p[i, label]) for k in others)
        lc += max(0.0, z[i, label] - max(z[i, k] for k in others))
    return (pc + lam * lc) / len(y)


def _smoothed_ce(z: np.ndarray, y: np.ndarray, s: float) -> float:
    targets = np.full(z.shape, s / (z.shape[1] - 1))
    targets[np.arange(len(y)), y] = 1 - s
    return float(-(targets * _log_softmax(z)).sum(axis=1).mean())


def _focal(z: np.ndarray, y: np.ndarray, gamma: float) -> float:
    log_p = _log_softmax(z)[np.arange(len(y)), y]
    return float(-(((1 - np.exp(log_p)) ** gamma) * log_p).mean())


def test_default_hyperparameters_are_the_papers() -> None:
    amp_adv, amp_nat = Z_ADV.max(1) - Z_ADV.min(1), Z.max(1) - Z.min(1)
    # LCAT sec. 4.2: lambda = 15; beta = 2 (the tanh head's range), focal gamma = 2 (Lin et al.)
    laa = _focal(Z_ADV, Y, 2.0) + 15.0 * (np.linalg.norm(amp_adv - 2.0) + abs(amp_adv.mean() - amp_nat.mean()))
    assert _run("laa")[0] == pytest.approx(laa, abs=1e-10)
    # PC: xi = 0.995, lambda = 0.05, no warm-up unless the recipe asks
    assert _run("pc_lc")[0] == pytest.approx(_pc(Z, Y, 0.995, 0.05), abs=1e-10)
    # ALP as Summers' baselines: alpha = 0, lambda = 0.5
    alp = _ce(Z_ADV, Y) + 0.5 * float(((Z - Z_ADV) ** 2).sum(axis=1).mean())
    assert _run("alp")[0] == pytest.approx(alp, abs=1e-10)
    # LRM CIFAR-10: s = 0.1, beta = 1e-3, ratio 0.125
    j = _smoothed_ce(Z_ADV, Y, 0.1)
    lrm = j + j / 0.125 + 1e-3 * float(((Z**2).sum(1) + (Z_ADV**2).sum(1)).mean())
    assert _run("lrm")[0] == pytest.approx(lrm, rel=1e-12)
    # TRADES 1/lambda = 6, MART lambda = 5
    assert _run("trades")[0] == pytest.approx(_ce(Z, Y) + 6.0 * float(_kl_rows(Z, Z_ADV).mean()), abs=1e-10)
    p_true = np.exp(_log_softmax(Z))[np.arange(3), Y]
    mart = _bce(Z_ADV, Y) + 5.0 * float((_kl_rows(Z, Z_ADV) * (1 - p_true)).mean())
    assert _run("mart")[0] == pytest.approx(mart, abs=1e-10)
    # LMA-AT (base BCE), delta 0.9, beta 86, alpha 5.345, tau 0.2: one step from logit_0 = 0
    lma = _bce(Z_ADV, Y) + _squared_hinge(Z_ADV, Y, 0.9) + 86.0 * _mhuber(0.8 * Z_ADV, 0.8 * Z, 5.345)
    assert _run("lma")[0] == pytest.approx(lma, rel=1e-10)
    # the clean pass unless told otherwise
    assert _run("cross_entropy")[0] == pytest.approx(_ce(Z, Y), abs=1e-12)
    assert _run("ice", weight=0.2)[0] == pytest.approx(_ce(Z, Y) + 0.2 * float(_log_softmax(Z).sum(1).mean()), abs=1e-12)
    assert _run("label_smoothing", smoothing=0.3)[0] == pytest.approx(_smoothed_ce(Z, Y, 0.3), abs=1e-12)
    assert _run("logit_squeezing", weight=0.4)[0] == pytest.approx(_ce(Z, Y) + 0.2 * float((Z**2).sum(1).mean()), abs=1e-12)


@pytest.mark.parametrize("base, kl", [("trades", 6.0), ("mart", 5.0)])
def test_lma_trades_and_mart_bases_default_to_their_papers_kl_weight(base: str, kl: float) -> None:
    loss = _run("lma", base=base)[0]
    p_true = np.exp(_log_softmax(Z))[np.arange(3), Y]
    base_value = (
        _ce(Z, Y) + kl * float(_kl_rows(Z, Z_ADV).mean())
        if base == "trades"
        else _bce(Z_ADV, Y) + kl * float((_kl_rows(Z, Z_ADV) * (1 - p_true)).mean())
    )
    expected = base_value + _squared_hinge(Z_ADV, Y, 0.9) + 86.0 * _mhuber(0.8 * Z_ADV, 0.8 * Z, 5.345)
    assert loss == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    "name, hp, perturbed",
    [
        ("cross_entropy", {}, False), ("cross_entropy", {"on": "perturbed"}, True),
        ("label_smoothing", {"smoothing": 0.1}, False), ("label_smoothing", {"smoothing": 0.1, "on": "perturbed"}, True),
        ("logit_squeezing", {"weight": 0.1}, False), ("logit_squeezing", {"weight": 0.1, "on": "perturbed"}, True),
        ("ice", {"weight": 0.1}, False), ("ice", {"weight": 0.1, "on": "perturbed"}, True),
        ("laa", {}, True), ("pc_lc", {}, False), ("alp", {}, True), ("lrm", {}, True),
        ("trades", {}, True), ("mart", {}, True), ("lma", {}, True),
    ],
)
def test_uses_perturbed_tells_the_trainer_whether_to_attack(name: str, hp: dict, perturbed: bool) -> None:
    objective = create_objective(name, **hp)
    assert objective.uses_perturbed is perturbed and objective.name == name
    if not perturbed:  # it never reads x_adv: a None is fine
        assert np.isfinite(float(objective(IDENTITY, _t(Z), _t(Y).long(), None)[0]))


@pytest.mark.parametrize("name, hp", [("cross_entropy", {}), ("label_smoothing", {"smoothing": 0.1}),
                                      ("logit_squeezing", {"weight": 0.1}), ("ice", {"weight": 0.1}), ("laa", {}),
                                      ("pc_lc", {}), ("alp", {}), ("trades", {}), ("mart", {}), ("lma", {})])
def test_mixed_labels_are_refused_naming_the_objective(name: str, hp: dict) -> None:
    mixed = MixedLabels(_t(Y).long(), _t(Y).long(), 0.5)
    with pytest.raises(ObjectiveError, match=f"objective '{name}' does not take mixed labels"):
        create_objective(name, **hp)(IDENTITY, _t(Z), mixed, _t(Z_ADV))


@pytest.mark.parametrize("name", ["laa", "alp", "lrm", "trades", "mart", "lma"])
def test_a_missing_perturbed_batch_is_refused_naming_the_objective(name: str) -> None:
    with pytest.raises(ObjectiveError, match=f"objective '{name}' needs perturbed inputs"):
        create_objective(name)(IDENTITY, _t(Z), _t(Y).long(), None)


def test_pc_lc_warmup_lasts_exactly_ce_warmup_epochs() -> None:
    objective = create_objective("pc_lc", ce_warmup_epochs=2)
    y = _t(Y).long()
    assert objective.in_warmup  # before the trainer calls start_epoch: epoch 0
    for epoch, expected in [(0, _ce(Z, Y)), (1, _ce(Z, Y)), (2, _pc(Z, Y, 0.995, 0.05)), (3, _pc(Z, Y, 0.995, 0.05))]:
        objective.start_epoch(epoch)
        assert float(objective(IDENTITY, _t(Z), y, None)[0]) == pytest.approx(expected, abs=1e-10), epoch
    assert not create_objective("pc_lc").in_warmup


def test_hard_labels_take_the_larger_share_per_row() -> None:
    y_a, y_b = torch.tensor([0, 1, 2]), torch.tensor([2, 0, 1])
    assert hard_labels(MixedLabels(y_a, y_b, torch.tensor([0.7, 0.5, 0.2]))).tolist() == [0, 1, 1]
    assert hard_labels(MixedLabels(y_a, y_b, 0.5)).tolist() == [0, 1, 2]  # a tie goes to y_a
    assert hard_labels(MixedLabels(y_a, y_b, 0.49)).tolist() == [2, 0, 1]
    assert hard_labels(y_a) is y_a


@pytest.mark.parametrize("name", ["cross_entropy", "label_smoothing", "logit_squeezing", "ice"])
def test_clean_or_perturbed_is_checked(name: str) -> None:
    hp = {"smoothing": 0.1} if name == "label_smoothing" else {"weight": 0.1} if name in ("logit_squeezing", "ice") else {}
    with pytest.raises(ObjectiveError, match="'on' must be 'clean' or 'perturbed'"):
        create_objective(name, on="adv", **hp)
    assert create_objective(name, **hp).on == "clean"


def test_lma_base_is_checked_and_state_is_a_buffer() -> None:
    with pytest.raises(ObjectiveError, match="LMA base must be one of at, trades, mart, bce"):
        create_objective("lma", base="pgd")
    objective = create_objective("lma", tau=0.5)
    assert objective.moving_average.tau == 0.5
    objective(IDENTITY, _t(Z), _t(Y).long(), _t(Z_ADV))
    assert set(objective.state_dict()) == {"moving_average.natural", "moving_average.adversarial"}
    np.testing.assert_allclose(objective.state_dict()["moving_average.natural"].numpy(), 0.5 * Z)


def test_pc_lc_starts_in_warmup_before_the_first_start_epoch() -> None:
    objective = create_objective("pc_lc", ce_warmup_epochs=1)  # epoch 0 until the trainer says otherwise
    assert objective.in_warmup
    assert float(objective(IDENTITY, _t(Z), _t(Y).long(), None)[0]) == pytest.approx(_ce(Z, Y), abs=1e-12)


def test_lrm_smooths_mixed_targets() -> None:
    lam, s = 0.7, 0.1
    y_b = np.array([1, 0, 2])
    mixed = MixedLabels(_t(Y).long(), torch.tensor(y_b), lam)
    t_a, t_b = np.full(Z.shape, s / 2), np.full(Z.shape, s / 2)
    t_a[np.arange(3), Y] = 1 - s
    t_b[np.arange(3), y_b] = 1 - s
    j_adv = float(-((lam * t_a + (1 - lam) * t_b) * _log_softmax(Z_ADV)).sum(axis=1).mean())
    assert _run("lrm", y=mixed, smoothing=s, beta=0.0, ratio=0.5)[0] == pytest.approx(j_adv + j_adv / 0.5, rel=1e-12)


# --- every hyperparameter reaches its loss (non-default values: a dropped argument would fall back
# to losses.py's default, which equals the objective's default, and go unnoticed) ------------


def test_laa_passes_a_non_default_beta_and_focal_gamma_in_their_places() -> None:
    lam, beta, gamma = 0.7, 1.0, 0.5  # beta != gamma and both != the default 2
    amp_adv, amp_nat = Z_ADV.max(1) - Z_ADV.min(1), Z.max(1) - Z.min(1)
    expected = _focal(Z_ADV, Y, gamma) + lam * (np.linalg.norm(amp_adv - beta) + abs(amp_adv.mean() - amp_nat.mean()))
    assert _run("laa", weight=lam, amplitude_target=beta, gamma=gamma)[0] == pytest.approx(expected, abs=1e-10)


def test_pc_lc_passes_a_non_default_constraint_weight() -> None:
    xi, lam = 0.5, 0.3
    assert _run("pc_lc", margin=xi, weight=lam)[0] == pytest.approx(_pc(Z, Y, xi, lam), abs=1e-10)


def test_alp_passes_the_mean_pairing_reduction_and_refuses_others_naming_them() -> None:
    alpha, lam = 0.0, 0.5
    # Kannan et al.'s code: the squared difference averaged over the C = 3 logits, not summed (eq. 9)
    expected = _ce(Z_ADV, Y) + lam * float(((Z - Z_ADV) ** 2).mean(axis=1).mean())
    loss = _run("alp", clean_weight=alpha, pairing_weight=lam, pairing_reduction="mean")[0]
    assert loss == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ObjectiveError, match=r"^ALP pairing_reduction must be 'sum' \(eq\. 9\) or 'mean' .*got 'max'$"):
        create_objective("alp", pairing_reduction="max")


@pytest.mark.parametrize("kl", [0.0, 2.5])
def test_trades_and_mart_pass_a_non_default_kl_weight(kl: float) -> None:
    assert _run("trades", kl_weight=kl)[0] == pytest.approx(_ce(Z, Y) + kl * float(_kl_rows(Z, Z_ADV).mean()), abs=1e-12)
    p_true = np.exp(_log_softmax(Z))[np.arange(3), Y]
    mart = _bce(Z_ADV, Y) + kl * float((_kl_rows(Z, Z_ADV) * (1 - p_true)).mean())
    assert _run("mart", kl_weight=kl)[0] == pytest.approx(mart, abs=1e-12)


@pytest.mark.parametrize("base", ["at", "trades", "mart", "bce"])
def test_lma_family_passes_non_default_margin_and_mhuber_terms(base: str) -> None:
    delta, beta, alpha, kl = 2.0, 3.0, 0.4, 1.5  # alpha small: both branches of mHuber are hit
    hp = {"base": base, "margin": delta, "mhuber_weight": beta, "mhuber_alpha": alpha, "tau": 0.2}
    if base in ("trades", "mart"):
        hp["kl_weight"] = kl
    loss = _run("lma", **hp)[0]
    p_true = np.exp(_log_softmax(Z))[np.arange(3), Y]
    base_value = {
        "at": _ce(Z_ADV, Y),
        "trades": _ce(Z, Y) + kl * float(_kl_rows(Z, Z_ADV).mean()),
        "mart": _bce(Z_ADV, Y) + kl * float((_kl_rows(Z, Z_ADV) * (1 - p_true)).mean()),
        "bce": _bce(Z_ADV, Y),
    }[base]
    # one step from logit_0 = 0: EMA = (1 - tau) f = 0.8 f (Alg. 1)
    expected = base_value + _squared_hinge(Z_ADV, Y, delta) + beta * _mhuber(0.8 * Z_ADV, 0.8 * Z, alpha)
    assert loss == pytest.approx(expected, rel=1e-10)


def test_laa_amplitude_of_logits_reads_the_pre_head_logits() -> None:
    class Halve(LogitHead):  # a head that changes the amplitude: output = z / 2
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return z / 2

    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).double()
    model = LogitHeadModel(backbone, Halve())
    x, x_noisy, y = torch.rand(5, 1, 2, 2, dtype=torch.float64), torch.rand(5, 1, 2, 2, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    z_noisy, z_clean = backbone(x_noisy), backbone(x)
    amp = lambda z: z.amax(1) - z.amin(1)  # noqa: E731
    loss, logits = create_objective("laa", weight=1.0, amplitude_of="logits")(model, x, y, x_noisy)
    # focal on the head's output z/2, amplitudes of z itself
    expected = losses.laa_loss(z_noisy / 2, z_clean / 2, y, weight=1.0, amplitude_noisy=amp(z_noisy), amplitude_clean=amp(z_clean))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    on_output, _ = create_objective("laa", weight=1.0)(model, x, y, x_noisy)
    assert on_output.item() != pytest.approx(loss.item())  # the amplitudes of z/2 are half as large
    with pytest.raises(UserError, match=r"^LAA amplitude_of='logits' needs a model with a logit head \(LogitHeadModel\)$"):
        create_objective("laa", amplitude_of="logits")(backbone, x, y, x_noisy)

    class Wrapped(nn.Module):  # as DistributedDataParallel: the model under .module, forward delegated
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return self.module(inputs)

    wrapped, _ = create_objective("laa", weight=1.0, amplitude_of="logits")(Wrapped(model), x, y, x_noisy)
    assert wrapped.item() == pytest.approx(loss.item(), rel=1e-12)
    with pytest.raises(UserError, match="amplitude_of"):
        create_objective("laa", amplitude_of="pre")


def test_an_unknown_objective_lists_every_choice_by_name() -> None:
    # The recipe author sees every valid name, each one as written in a recipe, comma-separated.
    from robustbench_logits.objectives import OBJECTIVES

    with pytest.raises(ObjectiveError) as error:
        create_objective("nope")
    message = str(error.value)
    assert message.startswith("unknown objective 'nope'; choose one of: ")
    listed = message.split("choose one of: ", 1)[1].split(", ")
    assert sorted(listed) == sorted(OBJECTIVES) and {"cross_entropy", "trades", "mart"} <= set(listed)
