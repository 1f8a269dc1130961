"""Independent expected values: one case per paper formula worked out by hand.

The other loss tests compare the code with a numpy re-implementation of the same reading of a
paper, which a misreading passes on both sides. Here every expected number is written out,
with its arithmetic in a comment, from inputs chosen so that the softmax is a simple fraction:
logits (ln 3, 0) give p = (3/4, 1/4), (0, 0) gives (1/2, 1/2), (ln 2, 0, 0, 0) gives
(2/5, 1/5, 1/5, 1/5). Logs are to 6 decimals: ln 2 = 0.693147, ln 3 = 1.098612,
ln 5 = 1.609438, ln(3/4) = -0.287682, ln(3/2) = 0.405465, ln(2/5) = -0.916291.
Equation numbers refer to /work/shared/papers (INDEX.md): [LCAT] 000, [LRM] 001, [BLF] 002,
[LMA] 003, [PC] 004.
"""

from __future__ import annotations

import math

import pytest
import torch

from robustbench_logits import losses
from robustbench_logits.heads import BLF_ARGMAX, BLF_MAX, BoundedLogitFunction, ScaledTanh, SigmoidHead, SingleWaveHead

LN2, LN3 = math.log(2.0), math.log(3.0)
TOL = 1e-6  # the hand values below are rounded to 6-7 significant digits


def t(rows: list[list[float]], grad: bool = False) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64, requires_grad=grad)


def y(*labels: int) -> torch.Tensor:
    return torch.tensor(labels, dtype=torch.int64)


P_3_1 = [[LN3, 0.0]]  # softmax (3/4, 1/4)
P_HALF = [[0.0, 0.0]]  # softmax (1/2, 1/2)


# ------------------------------------------------------------------------------ [LRM] / [BLF]


def test_lrm_eq8_smoothed_targets_and_cross_entropy() -> None:
    # eq. 8, C = 4, s = 0.3: 1 - s = 0.7 on the label, s / (C - 1) = 0.1 on the others.
    assert losses.smoothed_targets(y(1), 4, 0.3)[0].tolist() == pytest.approx([0.1, 0.7, 0.1, 0.1])
    # softmax(ln 2, 0, 0, 0) = (2/5, 1/5, 1/5, 1/5), label 0:
    # -(0.7 ln(2/5) + 3 * 0.1 ln(1/5)) = 0.7 * 0.916291 + 0.3 * 1.609438 = 0.641404 + 0.482831 = 1.124235
    value = losses.label_smoothing_cross_entropy(t([[LN2, 0.0, 0.0, 0.0]]), y(0), 0.3)
    assert float(value) == pytest.approx(1.124235, abs=TOL)


def test_blf_eq3_logit_squeezing() -> None:
    # (1/N) sum_i (w/2) ||z_i||^2 with w = 0.5, z = (1, 2), (3, 0): (1/2)(0.25 * 5 + 0.25 * 9) = 1.75
    assert float(losses.logit_squeezing(t([[1.0, 2.0], [3.0, 0.0]]), 0.5)) == pytest.approx(1.75)


def test_lrm_eq2_eq9_adversarial_logit_pairing() -> None:
    # alpha = 0.5, lambda = 0.5, clean p = (3/4, 1/4), adversarial p = (1/2, 1/2), label 0:
    # 0.5 * -ln(3/4) + 0.5 * -ln(1/2) + 0.5 * ((ln 3 - 0)^2 + 0^2)
    # = 0.143841 + 0.346574 + 0.5 * 1.206949 = 0.143841 + 0.346574 + 0.603474 = 1.093889
    value = losses.alp_loss(t(P_3_1), t(P_HALF), y(0), clean_weight=0.5, pairing_weight=0.5)
    assert float(value) == pytest.approx(1.093889, abs=TOL)
    # alpha = 0 (LRM's baselines, sec. 5.2): only the adversarial CE: ln 2 + 0.603474 = 1.296621
    value0 = losses.alp_loss(t(P_3_1), t(P_HALF), y(0), clean_weight=0.0, pairing_weight=0.5)
    assert float(value0) == pytest.approx(1.296621, abs=TOL)


def test_lrm_eq11_value_and_gradient_of_the_ratio_weighted_pairing() -> None:
    # J~ = 0.5 (a constant here), beta = 0, ratio = 0.125. h = -(3/4 ln 1/2 + 1/4 ln 1/2) = ln 2.
    # value: J~ + sg(J~ / h) / ratio * h = 0.5 + 0.5 / 0.125 = 4.5
    # c = (0.5 / ln 2) / 0.125 = 4 / ln 2 = 5.770780; dh/dz_adv = q - p = (1/2 - 3/4, 1/2 - 1/4)
    # = (-1/4, 1/4), so the gradient is c * (-1/4, 1/4) = (-1/ln 2, 1/ln 2) = (-1.442695, 1.442695).
    # Without the stop-gradient c h = J~ / ratio would be constant and this gradient 0.
    z_nat, z_adv = t(P_3_1, grad=True), t(P_HALF, grad=True)
    value = losses.lrm_loss(z_nat, z_adv, torch.tensor(0.5, dtype=torch.float64), beta=0.0, ratio=0.125)
    assert float(value.detach()) == pytest.approx(4.5)
    (grad_adv,) = torch.autograd.grad(value, (z_adv,))
    assert grad_adv[0].tolist() == pytest.approx([-1.442695, 1.442695], abs=TOL)
    # beta: + beta * ((ln 3)^2 + 0) = 0.01 * 1.206949 = 0.012069
    with_beta = losses.lrm_loss(t(P_3_1), t(P_HALF), torch.tensor(0.5, dtype=torch.float64), beta=0.01, ratio=0.125)
    assert float(with_beta) == pytest.approx(4.512069, abs=TOL)


def test_lrm_sec4_mixup_cross_entropy() -> None:
    # lam = 0.25 of label 0 and 0.75 of label 1, p = (3/4, 1/4):
    # -(0.25 ln(3/4) + 0.75 ln(1/4)) = 0.25 * 0.287682 + 0.75 * 1.386294 = 0.071921 + 1.039721 = 1.111641
    value = losses.mixup_cross_entropy(t(P_3_1), y(0), y(1), 0.25)
    assert float(value) == pytest.approx(1.111641, abs=TOL)


# ------------------------------------------------------------------------------ [LCAT]


def test_lcat_eq6_amplitude_focal_and_laa() -> None:
    # amplitude O_max - O_min: (3, -1, 0.5) -> 3 - (-1) = 4
    assert losses.logit_amplitude(t([[3.0, -1.0, 0.5]])).tolist() == [4.0]
    # focal, gamma = 2, p_y = 3/4: -(1/4)^2 ln(3/4) = 0.0625 * 0.287682 = 0.017980
    assert float(losses.focal_loss(t(P_3_1), y(0), 2.0)) == pytest.approx(0.017980, abs=TOL)
    # LAA, lambda = 15, beta = 2. Noisy rows (1, -1), (0.5, -0.5): amplitudes 2, 1.
    # Clean rows (1, 0), (0, 0): amplitudes 1, 0.
    # ||(2 - 2, 1 - 2)||_2 = 1; |mean(2, 1) - mean(1, 0)| = |1.5 - 0.5| = 1; 15 * (1 + 1) = 30.
    # focal, label 0: p = sigmoid(2) = 0.880797, sigmoid(1) = 0.731059;
    # 0.119203^2 * 0.126928 = 0.001804; 0.268941^2 * 0.313262 = 0.022658; mean 0.012231.
    value = losses.laa_loss(t([[1.0, -1.0], [0.5, -0.5]]), t([[1.0, 0.0], [0.0, 0.0]]), y(0, 0), 15.0, 2.0, 2.0)
    assert float(value) == pytest.approx(30.012231, abs=TOL)


def test_lcat_eq4_inverse_cross_entropy() -> None:
    # p = (1/2, 1/2), label 0, lambda = 0.1: CE = ln 2; sum_i CE(z, i) = 2 ln 2;
    # ln 2 - 0.1 * 2 ln 2 = 0.8 ln 2 = 0.554518
    assert float(losses.ice_loss(t(P_HALF), y(0), 0.1)) == pytest.approx(0.554518, abs=TOL)


# ------------------------------------------------------------------------------ [PC]


def test_pc_eq6_and_eq16() -> None:
    probs = [[math.log(0.6), math.log(0.35), math.log(0.05)]]  # softmax (0.6, 0.35, 0.05)
    # eq. 6, xi = 0.3: max(0, 0.35 + 0.3 - 0.6) + max(0, 0.05 + 0.3 - 0.6) = 0.05 + 0 = 0.05
    assert float(losses.pc_loss(t(probs), y(0), 0.3)) == pytest.approx(0.05)
    # xi = 0.995: (0.35 + 0.995 - 0.6) + (0.05 + 0.995 - 0.6) = 0.745 + 0.445 = 1.19
    assert float(losses.pc_loss(t(probs), y(0))) == pytest.approx(1.19)
    # eq. 16 logit constraint, lambda = 0.05, logits (3, 1, 2), label 0: the most probable
    # false class is 2 (logit 2), d = max(0, 3 - 2) = 1, so 0.05 * 1 = 0.05
    assert float(losses.logit_constraint(t([[3.0, 1.0, 2.0]]), y(0), 0.05)) == pytest.approx(0.05)
    # misclassified (label 1): d = max(0, 1 - 3) = 0
    assert float(losses.logit_constraint(t([[3.0, 1.0, 2.0]]), y(1), 0.05)) == 0.0
    # PC-LC: eq. 6 + eq. 16 on (3, 1, 2) with xi = 0.995: softmax = e^(3,1,2) / 30.192 =
    # (0.665241, 0.090031, 0.244728); (0.090031 + 0.995 - 0.665241) + (0.244728 + 0.995 - 0.665241)
    # = 0.419790 + 0.574487 = 0.994277; + 0.05 = 1.044277
    assert float(losses.pc_lc_loss(t([[3.0, 1.0, 2.0]]), y(0))) == pytest.approx(1.044277, abs=TOL)


# ------------------------------------------------------------------------------ [LMA]


def test_lma_eq12_squared_hinge() -> None:
    # logits (1, 0.5, -1), label 0, delta = 0.9: max(0, 0.5 - 1 + 0.9)^2 + max(0, -1 - 1 + 0.9)^2
    # = 0.4^2 + 0 = 0.16
    assert float(losses.squared_hinge_margin_loss(t([[1.0, 0.5, -1.0]]), y(0), 0.9)) == pytest.approx(0.16)


def test_lma_eq7_boosted_cross_entropy() -> None:
    # softmax (0.5, 0.3, 0.2), label 0: -ln 0.5 - ln(1 - 0.3) = 0.693147 + 0.356675 = 1.049822
    z = t([[math.log(0.5), math.log(0.3), math.log(0.2)]])
    assert float(losses.boosted_cross_entropy(z, y(0))) == pytest.approx(1.049822, abs=TOL)


def test_lma_sec3_mhuber_both_branches() -> None:
    # alpha = 1. d = pi/3 (inside, pi/3 <= pi/2): 1 - cos(pi/3) = 0.5.
    # d = pi (outside): 1 * pi + (1 - pi/2) * 1 = 1 + pi/2 = 2.570796. Mean of the two: 1.535398.
    value = losses.mhuber(t([[math.pi / 3, math.pi]]), t([[0.0, 0.0]]), 1.0)
    assert float(value) == pytest.approx(1.535398, abs=TOL)


def test_lma_alg1_moving_average() -> None:
    # tau = 0.2, logit_0 = 0: step 1 with 10 -> 0.8 * 10 = 8; step 2 with 5 -> 0.2 * 8 + 0.8 * 5 = 5.6
    # (natural), with 10 again -> 0.2 * 8 + 0.8 * 10 = 9.6 (adversarial)
    ema = losses.LogitMovingAverage(0.2)
    ten, five = t([[10.0]]), t([[5.0]])
    assert float(ema(ten, ten)[0]) == pytest.approx(8.0)
    nat, adv = ema(five, ten)
    assert float(nat) == pytest.approx(5.6) and float(adv) == pytest.approx(9.6)


def test_lma_table1_objectives_from_their_pieces() -> None:
    # clean p = (3/4, 1/4), adversarial p = (1/2, 1/2), label 0.
    # KL(p || q) = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.304099 - 0.173287 = 0.130812
    # TRADES (eq. 15), 1/lambda = 6: -ln(3/4) + 6 * 0.130812 = 0.287682 + 0.784872 = 1.072554
    assert float(losses.trades_loss(t(P_3_1), t(P_HALF), y(0), 6.0)) == pytest.approx(1.072554, abs=TOL)
    # MART, lambda = 5: BCE(q) = -ln(1/2) - ln(1 - 1/2) = 2 ln 2 = 1.386294;
    # 5 * 0.130812 * (1 - 3/4) = 0.163515; total 1.549809
    assert float(losses.mart_loss(t(P_3_1), t(P_HALF), y(0), 5.0)) == pytest.approx(1.549809, abs=TOL)
    # LMA-AT (eq. 17) on adversarial logits (0, 0): L' = max(0, 0 - 0 + 0.9)^2 = 0.81;
    # BCE = 1.386294; EMAs equal, so mHuber = 0: 2.196294
    zeros = t(P_HALF)
    assert float(losses.lma_at_loss(zeros, y(0), zeros, zeros)) == pytest.approx(2.196294, abs=TOL)
    # Standard AT + Ours (eq. 14): CE = ln 2 = 0.693147, + 0.81 = 1.503147; with EMAs differing by
    # pi/3 in one of two entries, alpha = 1, beta = 2: mHuber = (0.5 + 0) / 2 = 0.25, + 2 * 0.25
    ema_adv = t([[math.pi / 3, 0.0]])
    value = losses.lma_standard_at_loss(zeros, y(0), zeros, ema_adv, mhuber_weight=2.0, mhuber_alpha=1.0)
    assert float(value) == pytest.approx(2.003147, abs=TOL)
    # attack loss (Alg. 1): CE + L' = 0.693147 + 0.81 = 1.503147
    assert float(losses.lma_attack_loss(zeros, y(0))) == pytest.approx(1.503147, abs=TOL)


# ------------------------------------------------------------------------------ heads


def test_blf_eq5_at_one_and_theorem_3_maximum() -> None:
    # sigma(1) = 0.731059: g(1) = 2 (1 * 0.731059 + 0.731059 - 1 * 0.534447) - 1
    # = 2 * 0.927671 - 1 = 0.855341
    assert float(BoundedLogitFunction()(t([[1.0]]))) == pytest.approx(0.855341, abs=TOL)
    # Thm 3: z* in (2, sqrt(5) + 1 = 3.236068), max g in (1, golden ratio 1.618034); Kanai et al.
    # Fig. 1: optimal pre-logits at "about 2.4". At the root z tanh(z/2) = 2, g(z*) = z*/2.
    assert 2.39 < BLF_ARGMAX < 2.41 and BLF_MAX == pytest.approx(BLF_ARGMAX / 2, abs=1e-12)


def test_other_heads_by_hand() -> None:
    # sigmoid head, gamma = 2, at 0: 2 * 1/2 = 1
    assert float(SigmoidHead(gamma=2.0)(t([[0.0]]))) == 1.0
    # S-Tanh [LCAT] eq. 7: tanh(0.01) in training, tanh(100 * 0.01) = tanh(1) = 0.761594 in eval
    head = ScaledTanh()
    assert float(head(t([[0.01]]))) == pytest.approx(0.0099997, abs=1e-7)
    assert float(head.eval()(t([[0.01]]))) == pytest.approx(0.761594, abs=TOL)
    # single wave at z = ln 2: sin(0.693147) / (2 + 1/2)^2 = 0.638961 / 6.25 = 0.102234
    assert float(SingleWaveHead()(t([[LN2]]))) == pytest.approx(0.102234, abs=TOL)
