"""The training PGD (LMA-AT eq. 2, Madry et al.): sign ascent, projection, and which modules it freezes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from robustbench_logits._distributed import Process
from robustbench_logits._inner_max import inner_maximisation
from robustbench_logits.recipes import InnerMax


def _two_class_linear(w_true: np.ndarray, w_other: np.ndarray) -> nn.Module:
    linear = nn.Linear(w_true.size, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(np.stack([w_true, w_other]), dtype=torch.float32))
        linear.bias.zero_()
    return nn.Sequential(nn.Flatten(), linear)


@pytest.mark.parametrize("start", ["uniform", "normal"])
def test_pgd_ends_on_the_corner_the_gradient_sign_points_to(start: str) -> None:
    # Two classes, linear logits z = W x: d CE / dx = (1 - p_y) (w_other - w_true), so the sign of
    # the input gradient is sign(w_other - w_true) everywhere. With step = eps, two steps reach the
    # face of the eps-ball from any start inside it: x' = clip_[0,1](x + eps sign(w_other - w_true)).
    w_true = np.array([0.5, -1.0, 2.0, -0.3])
    w_other = np.array([-0.5, 1.0, 1.0, 0.7])
    model = _two_class_linear(w_true, w_other)
    x_np = np.array([0.4, 0.5, 0.95, 0.02])  # the third pixel hits 1, the last one 0
    x = torch.tensor(x_np, dtype=torch.float32).view(1, 1, 2, 2)
    y = torch.tensor([0])
    eps = 0.1
    attack = InnerMax(eps=eps, step_size=eps, steps=3, loss="ce", start=start)
    x_adv = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(0))
    expected = np.clip(x_np + eps * np.sign(w_other - w_true), 0.0, 1.0)
    np.testing.assert_allclose(x_adv.view(-1).numpy(), expected, atol=1e-6)


class _TimmLikeClassifier(nn.Module):
    """A classifier whose own ``head`` attribute holds dropout (as timm's ConvNeXt / ViT heads do)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Flatten()
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def test_a_plain_models_head_attribute_is_frozen_like_the_rest() -> None:
    # Only a LogitHead keeps its training form during the attack (S-Tanh, LCAT eq. 7); an ordinary
    # classifier head must be in eval mode, or dropout would randomise the attacked function.
    model = _TimmLikeClassifier().train()
    dropout_modes: list[bool] = []
    model.head[0].register_forward_hook(lambda module, args, out: dropout_modes.append(module.training))
    x = torch.rand(2, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    inner_maximisation(model, x, torch.tensor([0, 2]), InnerMax(0.1, 0.05, 2), torch.Generator().manual_seed(0))
    assert dropout_modes == [False, False]
    assert all(module.training for module in model.modules())  # modes restored afterwards


def test_fgsm_with_random_start_is_one_step_of_1_25_eps_from_a_uniform_point() -> None:
    # Wong et al. 2020: delta ~ U(-eps, eps), delta += alpha sign(grad), clip to [-eps, eps] and [0, 1].
    # On linear logits the gradient sign is s = sign(w_other - w_true) everywhere, so the result is
    # clip(x0 + 1.25 eps s, x - eps, x + eps) from the start x0 = x + U(-eps, eps) drawn from the generator.
    w_true = np.array([0.5, -1.0, 2.0, -0.3])
    w_other = np.array([-0.5, 1.0, 1.0, 0.7])
    model = _two_class_linear(w_true, w_other)
    x = torch.tensor([[0.4, 0.5, 0.5, 0.6]], dtype=torch.float32)
    eps = 0.3
    attack = InnerMax(eps=eps, step_size=1.25 * eps, steps=1, start="uniform")
    x_adv = inner_maximisation(model, x, torch.tensor([0]), attack, torch.Generator().manual_seed(3))
    x0 = x + (2.0 * torch.rand(x.shape, generator=torch.Generator().manual_seed(3)) - 1.0) * eps
    sign = torch.tensor(np.sign(w_other - w_true), dtype=torch.float32)
    expected = torch.minimum(torch.maximum(x0 + 1.25 * eps * sign, x - eps), x + eps)
    torch.testing.assert_close(x_adv, expected)
    assert not torch.allclose(x_adv, x + eps * sign)  # this start leaves some pixel short of the face


def test_a_pixel_the_logits_ignore_stays_at_its_random_start() -> None:
    # The last pixel has weight 0 in both logits, so its input gradient is exactly 0 and sign(0) = 0:
    # the PGD steps never move it, and x' keeps the start x0 = x + U(-eps, eps) drawn from the generator
    # there (the other pixels reach the face x + eps sign(w_other - w_true), as above).
    w_true = np.array([0.5, -1.0, 2.0, 0.0])
    w_other = np.array([-0.5, 1.0, 1.0, 0.0])
    model = _two_class_linear(w_true, w_other)
    x = torch.tensor([[0.4, 0.5, 0.5, 0.6]], dtype=torch.float32)
    eps = 0.2
    attack = InnerMax(eps=eps, step_size=eps, steps=3, start="uniform")
    x_adv = inner_maximisation(model, x, torch.tensor([0]), attack, torch.Generator().manual_seed(5))
    x0 = x + (2.0 * torch.rand(x.shape, generator=torch.Generator().manual_seed(5)) - 1.0) * eps
    sign = torch.tensor(np.sign(w_other - w_true), dtype=torch.float32)
    expected = torch.where(sign == 0, x0, x + eps * sign)
    torch.testing.assert_close(x_adv, expected)


def test_trades_inner_attack_ends_on_a_corner_along_the_logit_gap_direction() -> None:
    # TRADES ascends KL(p(x) || p(x')). With linear two-class logits, p depends on x' only through the gap
    # d(x') = (w_other - w_true) . x', and the KL grows with |d(x') - d(x)|: the input gradient's sign is
    # sigma sign(w_other - w_true), sigma = sign(d(x') - d(x)), fixed by the 0.001 N(0, I) start and kept by
    # every step. With step = eps, two steps reach x' = clip_[0,1](x + sigma eps sign(w_other - w_true)).
    w_true = np.array([0.5, -1.0, 2.0, -0.3])
    w_other = np.array([-0.5, 1.0, 1.0, 0.7])
    model = _two_class_linear(w_true, w_other)
    x_np = np.array([0.4, 0.5, 0.95, 0.02])  # the third pixel may hit 1, the last one 0
    x = torch.tensor(x_np, dtype=torch.float32).view(1, 1, 2, 2)
    eps = 0.1
    attack = InnerMax(eps=eps, step_size=eps, steps=3, loss="trades_kl", start="normal")
    s = np.sign(w_other - w_true)
    corners = [np.clip(x_np + sigma * eps * s, 0.0, 1.0) for sigma in (1.0, -1.0)]
    for seed in range(4):
        x_adv = inner_maximisation(model, x, torch.tensor([0]), attack, torch.Generator().manual_seed(seed)).view(-1).numpy()
        assert any(np.allclose(x_adv, corner, atol=1e-6) for corner in corners), (seed, x_adv)


def test_the_normal_start_is_drawn_from_the_given_generator_alone() -> None:
    # TRADES / LMA-AT start: x0 = x + 0.001 N(0, I), the normal draw taken from the epoch's generator,
    # so a resumed epoch replays it whatever else used torch's global RNG in between.
    from robustbench_logits._inner_max import _random_start

    x = torch.full((2, 1, 2, 2), 0.5)
    attack = InnerMax(eps=0.1, step_size=0.05, steps=1, start="normal")
    expected = x + 0.001 * torch.randn(x.shape, generator=torch.Generator().manual_seed(7))
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        torch.testing.assert_close(_random_start(x, attack, torch.Generator().manual_seed(7)), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("start", ["uniform", "normal"])
def test_a_half_precision_model_is_attacked_in_its_own_precision(dtype: torch.dtype, start: str) -> None:
    # The random start is added in the input's dtype (the float32 noise is cast to it), so the PGD
    # example a half-precision model sees has that model's dtype; float32 inputs would not run through it.
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).to(dtype)
    x = torch.rand(2, 1, 2, 2, generator=torch.Generator().manual_seed(0)).to(dtype)
    attack = InnerMax(eps=0.1, step_size=0.05, steps=2, start=start)
    x_adv = inner_maximisation(model, x, torch.tensor([0, 2]), attack, torch.Generator().manual_seed(0))
    assert x_adv.dtype == dtype and x_adv.shape == x.shape
    assert float((x_adv.float() - x.float()).abs().max()) <= 0.1 + 1e-2  # within eps, up to half-precision rounding


@pytest.mark.parametrize("start", ["uniform", "normal"])
def test_under_torchrun_each_rank_starts_from_its_rows_of_the_global_start(start: str) -> None:
    # a model with zero weights has a zero input gradient, so PGD stays at its random start; rank r's
    # batch is rows r::2 of one process's batch and must start where one process starts those rows
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    nn.init.zeros_(model[1].weight)
    x, y = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 0, 1, 2])
    attack = InnerMax(0.3, 0.1, 3, start=start)
    whole = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(5))
    assert not torch.equal(whole, x)  # it did move to a random start
    for rank in range(2):
        rows = inner_maximisation(model, x[rank::2], y[rank::2], attack, torch.Generator().manual_seed(5),
                                  process=Process(rank, 2, torch.device("cpu")))
        assert torch.equal(rows, whole[rank::2])


def test_the_trades_target_is_scored_in_eval_mode_without_a_graph_and_the_steps_in_eval_mode_with_one() -> None:
    # a training-mode model with dropout: the clean target must see eval mode (no dropout) and build no graph
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    seen = []
    model.register_forward_hook(lambda module, inputs, output: seen.append((module.training, torch.is_grad_enabled())))
    x = torch.rand(4, 3, 2, 2, generator=torch.Generator().manual_seed(1))
    attack = InnerMax(eps=0.1, step_size=0.05, steps=2, loss="trades_kl", start="normal")
    inner_maximisation(model, x, torch.tensor([0, 1, 2, 0]), attack, torch.Generator().manual_seed(0))
    assert seen == [(False, False), (False, True), (False, True)]  # the clean pass, then one pass per step
    assert model.training and all(m.training for m in model.modules())  # modes restored
