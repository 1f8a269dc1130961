"""The training PGD's pieces (``_inner_max``): which loss it ascends, in which mode, from where.

Every expected value is written from the papers' definitions in this file: CE (Madry et al.),
TRADES' KL(p(x) || p(x')) with the clean distribution fixed, LMA-AT's CE + L'_i (eq. 2, eq. 12).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from robustbench_logits._inner_max import ATTACK_LOSSES, _attack_loss, _attack_mode, _random_start, inner_maximisation
from robustbench_logits.heads import ScaledTanh
from robustbench_logits.models.logit_head import LogitHeadModel
from robustbench_logits.objectives import MixedLabels
from robustbench_logits.recipes import InnerMax, RecipeError

X = torch.tensor([[0.2, 0.7, 0.1], [0.9, 0.3, 0.5]], dtype=torch.float64)
Y = torch.tensor([1, 0])
LOGITS = torch.tensor([[0.3, -0.2, 1.1], [1.5, 0.4, -0.6]], dtype=torch.float64)


def _linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(3, 3).double()


def test_the_three_attack_losses_and_their_values() -> None:
    assert ATTACK_LOSSES == ("ce", "trades_kl", "ce_margin")
    model = _linear()
    ce = _attack_loss("ce", model, X, Y, 0.9)(LOGITS)
    assert float(ce) == pytest.approx(float(F.cross_entropy(LOGITS, Y)), rel=1e-12)
    p = F.softmax(model(X), 1).detach()
    kl = (p * (p.log() - F.log_softmax(LOGITS, 1))).sum(1).mean()
    assert float(_attack_loss("trades_kl", model, X, Y, 0.9)(LOGITS)) == pytest.approx(float(kl), rel=1e-12)
    # CE + sum_{j != y} max(0, z_j - z_y + delta)^2 with delta = 0.4:
    # row 0 (y = 1): (0.3 + 0.2 + 0.4)^2 + (1.1 + 0.2 + 0.4)^2 = 0.81 + 2.89 = 3.70
    # row 1 (y = 0): max(0, 0.4 - 1.5 + 0.4)^2 + max(0, -0.6 - 1.5 + 0.4)^2 = 0 + 0; mean 1.85
    margin = _attack_loss("ce_margin", model, X, Y, 0.4)(LOGITS)
    assert float(margin) == pytest.approx(float(F.cross_entropy(LOGITS, Y)) + 1.85, rel=1e-12)


def test_mixed_labels_take_the_mixed_cross_entropy_and_nothing_else() -> None:
    model = _linear()
    mixed = MixedLabels(Y, torch.tensor([2, 1]), 0.25)
    value = _attack_loss("ce", model, X, mixed, 0.9)(LOGITS)
    expected = 0.25 * F.cross_entropy(LOGITS, Y) + 0.75 * F.cross_entropy(LOGITS, torch.tensor([2, 1]))
    assert float(value) == pytest.approx(float(expected), rel=1e-12)
    for loss in ("trades_kl", "ce_margin"):
        with pytest.raises(RecipeError, match=f"^inner attack loss '{loss}' does not take mixed labels"):
            _attack_loss(loss, model, X, mixed, 0.9)
    with pytest.raises(RecipeError, match="^unknown inner attack loss 'kl': choose one of ce, trades_kl, ce_margin"):
        _attack_loss("kl", model, X, Y, 0.9)


def test_the_trades_target_is_the_clean_batch_in_eval_mode_without_a_graph() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9)).double().train()
    with _attack_mode(model):
        loss_of = _attack_loss("trades_kl", model, X, Y, 0.9)
        value = loss_of(model(X))  # x' = x: the KL of a distribution with itself
    assert float(value.detach()) == pytest.approx(0.0, abs=1e-12)  # dropout off in both passes


def test_attack_mode_freezes_the_model_but_keeps_a_logit_heads_training_form() -> None:
    backbone = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    model = LogitHeadModel(backbone, ScaledTanh()).train()
    seen = []
    with _attack_mode(model):
        seen = [model.backbone.training, model.backbone[1].training, model.head.training]
    assert seen == [False, False, True]  # S-Tanh stays tanh(z), not tanh(100 z)
    assert model.training and model.backbone[1].training and model.head.training
    model.eval()
    with _attack_mode(model):
        assert not model.head.training  # an eval-mode head stays in eval mode
    assert not model.training and not model.head.training


def test_modes_are_restored_even_when_the_attack_raises() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).train()
    with pytest.raises(RuntimeError), _attack_mode(model):
        raise RuntimeError("inside")
    assert all(m.training for m in model.modules())


def test_unknown_start_is_refused() -> None:
    with pytest.raises(RecipeError, match="^unknown PGD start 'zero': use 'uniform' or 'normal'"):
        _random_start(X, InnerMax(0.1, 0.1, 1, start="zero"), torch.Generator())


def test_start_is_clipped_to_the_image_range_and_seeded() -> None:
    x = torch.tensor([[0.0, 1.0, 0.5]]).repeat(200, 1)
    attack = InnerMax(eps=0.3, step_size=0.1, steps=1)
    start = _random_start(x, attack, torch.Generator().manual_seed(1))
    assert float(start.min()) == 0.0 and float(start.max()) == 1.0
    assert bool((start[:, 0] < 0.3 + 1e-6).all()) and bool((start[:, 1] > 0.7 - 1e-6).all())
    assert torch.equal(start, _random_start(x, attack, torch.Generator().manual_seed(1)))
    assert start.dtype == x.dtype


def test_pgd_stays_in_the_ball_and_the_box_and_leaves_parameter_gradients_alone() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.rand(16, 3, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (16,), generator=torch.Generator().manual_seed(1))
    eps = 0.05
    attack = InnerMax(eps=eps, step_size=0.02, steps=5)
    x_adv = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(2))
    assert float((x_adv - x).abs().max()) <= eps + 1e-6
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    assert not x_adv.requires_grad and all(p.grad is None for p in model.parameters())
    # it ascends: the loss at x' exceeds the loss at x (5 steps of 0.02 on a smooth model)
    assert float(F.cross_entropy(model(x_adv), y)) > float(F.cross_entropy(model(x), y))
    # more steps never leave the ball either, and a zero budget returns the clean batch
    far = inner_maximisation(model, x, y, InnerMax(eps=eps, step_size=0.5, steps=3), torch.Generator().manual_seed(2))
    assert float((far - x).abs().max()) <= eps + 1e-6
    still = inner_maximisation(model, x, y, InnerMax(eps=0.0, step_size=0.0, steps=2, start="uniform"), torch.Generator())
    assert torch.equal(still, x)


def test_the_margin_reaches_the_attack() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 3))
    x = torch.rand(8, 3, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(1))
    attack = InnerMax(eps=0.1, step_size=0.03, steps=3, loss="ce_margin")
    small = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(2), margin=0.0)
    large = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(2), margin=50.0)
    default = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(2))
    assert not torch.equal(small, large)
    assert torch.equal(default, inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(2), margin=0.9))
