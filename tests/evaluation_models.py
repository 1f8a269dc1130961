"""Models for the evaluation tests, written here (not built from our heads): a plainly trained
tiny CNN and masked wrappers around it, each masking in one known way.

Imported by tests/test_evaluation_*.py; the fixture trains the CNN once per module (about a second).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluation import DiagnosticThresholds, EvaluationSuite

# One source for the architecture: exec'd here and written to the model file `rbl eval` loads.
CNN_SOURCE = """
import torch.nn as nn

def create_model():
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
"""

#: AutoAttack standard with fewer iterations, targets and queries, for CPU tests (same components).
FAST_AUTOATTACK = {"apgd-ce": {"n_iter": 10}, "apgd-t": {"n_iter": 10, "n_target_classes": 2},
                   "fab-t": {"n_iter": 10, "n_target_classes": 2}, "square": {"n_queries": 100}}


def create_cnn() -> nn.Module:
    namespace: dict = {}
    exec(CNN_SOURCE, namespace)
    return namespace["create_model"]()


def train_cnn(x_train: torch.Tensor, y_train: torch.Tensor) -> nn.Module:
    """A plainly (CE) trained CNN, ~95 % clean accuracy on MNIST."""
    torch.manual_seed(0)
    model = create_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(2):
        for start in range(0, x_train.shape[0], 50):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[start:start + 50]), y_train[start:start + 50]).backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained_cnn(mnist_small) -> nn.Module:
    return train_cnn(mnist_small[0], mnist_small[1])


@pytest.fixture()
def test_set(mnist_small) -> tuple[torch.Tensor, torch.Tensor]:
    return mnist_small[2], mnist_small[3]


def suite(*specs: AttackSpec, adaptive: bool = True, **thresholds) -> EvaluationSuite:
    """No AutoAttack (slow on CPU), the given attacks, short probes."""
    return EvaluationSuite("test", list(specs), autoattack=False, adaptive=adaptive, adaptive_steps=20,
                           thresholds=DiagnosticThresholds(large_eps_steps=10, **thresholds))


PGD20 = AttackSpec("pgd-20", "pgd", {"steps": 20})


class SaturatingHead(nn.Module):
    """Saturates every logit in float32 while keeping the argmax: 10 tanh(1000 (z - max z)).

    The winning logit is 0, every other one is -10 to float32 precision, so every loss of the
    output has an exactly zero input gradient away from the decision boundary.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x)
        return 10 * torch.tanh(1000 * (z - z.amax(dim=1, keepdim=True)))


class GreyLevels(nn.Module):
    """Rounds its input to ``levels`` grey levels first (shattered gradients: zero almost everywhere)."""

    def __init__(self, model: nn.Module, levels: int = 4) -> None:
        super().__init__()
        self.model, self.steps = model, levels - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(torch.round(x * self.steps) / self.steps)


class Randomised(nn.Module):
    """Adds fresh Gaussian noise to the input at every forward pass (a randomised defense)."""

    def __init__(self, model: nn.Module, sigma: float = 0.3) -> None:
        super().__init__()
        self.model, self.sigma = model, sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x + self.sigma * torch.randn_like(x))


class Probabilities(nn.Module):
    """Outputs softmax probabilities of ``temperature``-scaled logits instead of logits."""

    def __init__(self, model: nn.Module, temperature: float = 10.0) -> None:
        super().__init__()
        self.model, self.temperature = model, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.temperature * self.model(x), dim=1)


class ZeroGradient(nn.Module):
    """The model's logits with no gradient at all (the most blatant masking)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x)
        return z.detach() + 0.0 * z


class Wiggly(nn.Module):
    """Adds a fast oscillation of the input's mean to class 0's logit: deterministic, but tiny
    input changes swing the prediction (unstable predictions; PGD bounces)."""

    def __init__(self, model: nn.Module, amplitude: float = 20.0, frequency: float = 1000.0) -> None:
        super().__init__()
        self.model, self.amplitude, self.frequency = model, amplitude, frequency

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x)
        wiggle = self.amplitude * torch.sin(self.frequency * x.mean(dim=(1, 2, 3)))
        return z + wiggle[:, None] * nn.functional.one_hot(torch.zeros_like(wiggle, dtype=torch.long), z.shape[1])


class BatchCentred(nn.Module):
    """Subtracts the batch mean of the logits: an example's output depends on its batch."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x)
        return z - 3 * z.mean(dim=0, keepdim=True)


class Drifting(nn.Module):
    """Behaves like the model for its first ``calls`` forward passes, then always answers class 0."""

    def __init__(self, model: nn.Module, calls: int) -> None:
        super().__init__()
        self.model, self.calls, self.seen = model, calls, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen += 1
        z = self.model(x)
        if self.seen > self.calls:
            return z.detach() * 0 + 100 * nn.functional.one_hot(torch.zeros(x.shape[0], dtype=torch.long), z.shape[1])
        return z
