"""views.py: straight-through copies of any model, found by torch.fx, and log-probabilities."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from robustbench_logits.evaluation.views import log_probabilities, straight_through


class _Mixed(nn.Module):
    """A user's model with masking spread over functions, methods and modules (none of our heads)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.squash = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.round(x * 3) / 3
        z = self.linear(x.clamp(0, 1))
        return 50 * torch.tanh(100 * self.squash(z).sign() * z)


def _input_grad(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    model(x)[:, 0].sum().backward()
    return x.grad


def test_straight_through_finds_every_masking_operation_of_any_model_and_keeps_the_forward_pass() -> None:
    torch.manual_seed(0)
    model = _Mixed().eval()
    x = torch.rand(8, 4)
    assert _input_grad(model, x).abs().sum() == 0  # round kills every gradient
    view, ops = straight_through(model)
    assert {"round", "clamp", "tanh", "sigmoid", "sign"} <= set(ops)
    assert torch.equal(view(x), model(x))  # same forward: examples are scored as on the model
    assert _input_grad(view, x).abs().sum() > 0


def test_a_model_without_masking_gets_no_straight_through_copy() -> None:
    assert straight_through(nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU())) == (None, [])


def test_an_untraceable_model_still_gets_its_masking_modules_swapped() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear, self.act = nn.Linear(4, 3), nn.Tanh()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent: torch.fx cannot trace it
                return self.act(1000 * self.linear(x))
            return self.linear(x)

    view, ops = straight_through(Branchy().eval())
    assert ops == ["tanh"]
    x = torch.rand(2, 4) + 1
    assert _input_grad(view, x).abs().sum() > 1e-3 > _input_grad(Branchy().eval(), x).abs().sum()


def test_log_probabilities_turns_a_final_softmax_into_log_softmax() -> None:
    torch.manual_seed(0)
    logits = nn.Linear(4, 3)
    for tail in (nn.Softmax(dim=1), lambda z: torch.softmax(z, dim=1), lambda z: F.softmax(z, 1), lambda z: z.softmax(1)):
        class Probs(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.logits, self.tail = logits, tail

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.tail(self.logits(x))

        x = torch.rand(5, 4)
        view = log_probabilities(Probs().eval())
        assert torch.allclose(view(x), F.log_softmax(logits(x), dim=1), atol=1e-6)
        saturated = 1000 * x  # the softmax saturates to exact 0/1: log-softmax still has gradients
        assert _input_grad(view, saturated).abs().sum() > 0


def test_a_traceable_head_inside_an_untraceable_model_is_found() -> None:
    class Head(nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.tanh(100 * z)  # functional, inside a child module

    class Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if tuple(x.shape[-1:]) != (4,):  # an input-size check, as timm models have: fx cannot trace it
                raise ValueError("bad size")
            return self.linear(x)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone, self.head = Backbone(), Head()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.backbone(x))

    torch.manual_seed(0)
    model = Model().eval()
    view, ops = straight_through(model)
    x = torch.rand(3, 4) * 10
    assert ops == ["tanh"] and torch.equal(view(x), model(x))
    assert _input_grad(view, x).abs().sum() > 1e-3 > _input_grad(model, x).abs().sum()
