"""Bounded logit heads: functions applied element-wise to a backbone's logits z before softmax.

Every head maps (N, C) -> (N, C) and describes itself, so an evaluator can strip or replace it:
``head.name`` (the ``HEADS`` key), ``head.config()`` (kwargs for ``create_head`` that rebuild an
equivalent head) and ``head.bound`` (sup |output| when known, else None).

Papers: Kanai et al., "Constraining Logits by Bounded Function for Adversarial Robustness"
(BLF, L-BLF, tanh, sigmoid, sine and single-wave heads); LCAT (scaled Tanh, eq. 7).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from robustbench_logits.errors import ModelError

__all__ = [
    "BLF_ARGMAX",
    "BLF_MAX",
    "HEADS",
    "BoundedLogitFunction",
    "IdentityHead",
    "LearnableBoundedLogitFunction",
    "LogitHead",
    "ScaledTanh",
    "SigmoidHead",
    "SineHead",
    "SingleWaveHead",
    "TanhHead",
    "bounded_logit_function",
    "create_head",
]


def _bisect(f: Any, lo: float, hi: float, iterations: int = 200) -> float:
    """Root of a continuous f with f(lo) < 0 < f(hi), to float precision.

    Written by hand (not scipy) because it runs once at import to pin two constants.
    """
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _blf_scalar(z: float) -> float:
    """Kanai et al. eq. (5) on a Python float: g(z) = 2{z s + s - z s^2} - 1, s = sigmoid(z)."""
    s = _sigmoid(z)
    return 2.0 * (z * s + s - z * s * s) - 1.0


# g'(z) = 2 s (1 - s) (2 + z (1 - 2 s)) vanishes where z (2 s - 1) = 2, i.e. z tanh(z / 2) = 2.
# Kanai et al. Thm 3 bounds this root to (2, sqrt(5) + 1); footnote 2 says to solve it numerically.
BLF_ARGMAX: float = _bisect(lambda z: z * math.tanh(z / 2.0) - 2.0, 2.0, math.sqrt(5.0) + 1.0)
"""z* = argmax g(z) of the BLF (Kanai et al. Thm 3, eq. 7); about 2.3994."""

BLF_MAX: float = _blf_scalar(BLF_ARGMAX)
"""max g(z) of the BLF (Kanai et al. Thm 3, eq. 6); about 1.1997, in (1, (sqrt(5) + 1) / 2).

At the root, 2 sigma - 1 = 2 / z* and sigma (1 - sigma) = (1 - 4 / z*^2) / 4, so g(z*) = z* / 2.
"""

# Single wave f(z) = sin(z) / (e^z + e^-z)^2: f'(z) = 0 where tan(z) tanh(z) = 1/2. The global
# maximum is in the first lobe, since |f(z)| <= 1 / (4 cosh(z)^2) < 1e-3 for |z| >= pi.
_SINGLE_WAVE_ARGMAX: float = _bisect(lambda z: math.tan(z) * math.tanh(z) - 0.5, 0.0, 1.5)
_SINGLE_WAVE_MAX: float = math.sin(_SINGLE_WAVE_ARGMAX) / (
    math.exp(_SINGLE_WAVE_ARGMAX) + math.exp(-_SINGLE_WAVE_ARGMAX)
) ** 2


def bounded_logit_function(z: torch.Tensor) -> torch.Tensor:
    """BLF g(z) = 2{z sigma(z) + sigma(z) - z sigma(z)^2} - 1, element-wise (Kanai et al. Def. 1, eq. 5).

    Bounded, odd, g'(0) = 1 like tanh, but with finite extrema at +-BLF_ARGMAX (Thm 3), so the
    optimal pre-logits stay finite.
    """
    # Same function as eq. (5), regrouped as sigma(z) + z sigma(z) sigma(-z): the literal
    # z sigma - z sigma^2 cancels catastrophically in float32 once sigma(z) rounds to 1.
    return 2.0 * (torch.sigmoid(z) + z * torch.sigmoid(z) * torch.sigmoid(-z)) - 1.0


def _check_positive(value: float, what: str) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ModelError(f"{what} must be a finite number > 0; got {value!r}")
    return float(value)


class LogitHead(nn.Module):
    """A function of the logits z applied before softmax: forward(z: (N, C)) -> (N, C).

    Subclasses set ``name`` (their ``HEADS`` key) and implement ``forward``, ``config`` and
    ``bound``. ``create_head(**head.config())`` rebuilds an equivalent head.
    """

    name: ClassVar[str] = ""

    def config(self) -> dict[str, Any]:
        """Keyword arguments of ``create_head`` that rebuild this head (including ``name``)."""
        return {"name": self.name}

    @property
    def bound(self) -> float | None:
        """sup |output| over all inputs, or None when the head is unbounded."""
        return None

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "name")


class IdentityHead(LogitHead):
    """No head: output = z. The plain softmax cross-entropy baseline (Kanai et al. eq. 1)."""

    name = "identity"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z


class _ScaledHead(LogitHead):
    """A fixed function g scaled by gamma > 0: output gamma * g(z) (Kanai et al. sec. 3.1, Thm 2-3)."""

    _g_sup: ClassVar[float]  # sup |g(z)|

    def __init__(self, gamma: float = 1.0) -> None:
        super().__init__()
        self.gamma = _check_positive(gamma, f"{self.name} head gamma")

    def g(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.gamma * self.g(z)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "gamma": self.gamma}

    @property
    def bound(self) -> float:
        return self.gamma * self._g_sup


class BoundedLogitFunction(_ScaledHead):
    """BLF head, output gamma * g(z) with g of Kanai et al. Def. 1 (eq. 5), gamma fixed (Thm 3).

    |output| <= gamma * BLF_MAX, attained at z = +-BLF_ARGMAX. Kanai et al. pick gamma from
    [0.5, 0.8, 1.0, 1.5, 3.5] on MNIST and [0.1, 0.5, 0.8, 1.0, 1.2] on CIFAR-10 (App. B.2).
    """

    name = "blf"
    _g_sup = BLF_MAX

    def g(self, z: torch.Tensor) -> torch.Tensor:
        return bounded_logit_function(z)


class LearnableBoundedLogitFunction(LogitHead):
    """L-BLF head: gamma * g(z) with gamma = softplus(gamma_tilde) learned (Kanai et al. sec. 4).

    gamma_tilde is one scalar parameter, initialised to -1 (App. B.2), so gamma starts at
    softplus(-1) ~ 0.313. The paper reports it grows during training and does not help robustness.
    """

    name = "lblf"

    def __init__(self, gamma_tilde_init: float = -1.0) -> None:
        super().__init__()
        if not math.isfinite(gamma_tilde_init):
            raise ModelError(f"lblf head gamma_tilde_init must be a finite number; got {gamma_tilde_init!r}")
        self.gamma_tilde = nn.Parameter(torch.tensor(float(gamma_tilde_init)))

    @property
    def gamma(self) -> torch.Tensor:
        """The current scale softplus(gamma_tilde) (> 0), differentiable."""
        return F.softplus(self.gamma_tilde)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.gamma * bounded_logit_function(z)

    def config(self) -> dict[str, Any]:
        # The current learned value, so create_head(**config()) rebuilds the same function.
        return {"name": self.name, "gamma_tilde_init": float(self.gamma_tilde.detach())}

    @property
    def bound(self) -> float:
        return float(self.gamma.detach()) * BLF_MAX


class TanhHead(_ScaledHead):
    """gamma * tanh(z) (Kanai et al. sec. 3.1, Thm 2): bounded logits but unbounded optimal pre-logits."""

    name = "tanh"
    _g_sup = 1.0

    def g(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z)


class SigmoidHead(_ScaledHead):
    """gamma * sigmoid(z) (Kanai et al. sec. 3.1, Thm 2). sup = gamma, not attained."""

    name = "sigmoid"
    _g_sup = 1.0

    def g(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(z)


class SineHead(_ScaledHead):
    """Sine wave g(z) = sin(z) (Kanai et al. App. D, Fig. 6a), scaled by gamma (1 = the paper's form)."""

    name = "sine"
    _g_sup = 1.0

    def g(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z)


class SingleWaveHead(_ScaledHead):
    """Single wave g(z) = sin(z) / (e^z + e^-z)^2 (Kanai et al. App. D, Fig. 6b), scaled by gamma.

    sup |g| ~ 0.1022 at z ~ +-0.6942 (where tan(z) tanh(z) = 1/2).
    """

    name = "single_wave"
    _g_sup = _SINGLE_WAVE_MAX

    def g(self, z: torch.Tensor) -> torch.Tensor:
        # 1 / (e^z + e^-z)^2 == sigmoid(2z) sigmoid(-2z): same value, but no exp overflow
        # (inf / inf -> NaN gradients) for large |z|.
        return torch.sin(z) * torch.sigmoid(2.0 * z) * torch.sigmoid(-2.0 * z)


class ScaledTanh(LogitHead):
    """S-Tanh (LCAT eq. 7): tanh(z) while training, tanh(s * z) in eval mode; s = 100 (LCAT sec. 4.1).

    Follows ``self.training``, so ``model.eval()`` switches it to the steep test-time form.
    """

    name = "scaled_tanh"

    def __init__(self, s: float = 100.0) -> None:
        super().__init__()
        self.s = _check_positive(s, "scaled_tanh head s")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z) if self.training else torch.tanh(self.s * z)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "s": self.s}

    @property
    def bound(self) -> float:
        return 1.0


HEADS: dict[str, type[LogitHead]] = {
    cls.name: cls
    for cls in (
        IdentityHead,
        BoundedLogitFunction,
        LearnableBoundedLogitFunction,
        TanhHead,
        SigmoidHead,
        SineHead,
        SingleWaveHead,
        ScaledTanh,
    )
}
"""Head name -> class; the names ``create_head`` and recipes accept."""


def create_head(name: str, **kwargs: Any) -> LogitHead:
    """Build a head by its ``HEADS`` name, e.g. ``create_head("blf", gamma=1.0)``."""
    if name not in HEADS:
        raise ModelError(f"unknown logit head {name!r}; choose one of: {', '.join(HEADS)}")
    try:
        return HEADS[name](**kwargs)
    except TypeError as error:
        raise ModelError(f"bad arguments for logit head {name!r} ({error}); see {HEADS[name].__name__}") from None
