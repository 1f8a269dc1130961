"""Per-example probes: the measurements the indicators are computed from, beyond the attacks' outcomes.

Each probe returns one value per example of a chunk (JSON-ready lists), measured on the real
model (or its counted front). Their meanings and thresholds: :mod:`.indicators`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from robustbench_logits.attacks import AttackSpec, PassCounter, project_to_threat_model, run_attack
from robustbench_logits.evaluation.suite import DiagnosticThresholds

__all__ = ["large_eps", "run_probes"]


def large_eps(thresholds: DiagnosticThresholds, norm: str, input_size: int) -> float:
    """The unconstrained probe's eps: given, else 1.0 L-inf / sqrt(d) L2 (every image reachable)."""
    if thresholds.large_eps is not None:
        return thresholds.large_eps
    return 1.0 if norm == "Linf" else math.sqrt(input_size)


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(dim=1)


def _noise(x: torch.Tensor, radius: float, norm: str) -> torch.Tensor:
    if norm == "Linf":
        delta = torch.empty_like(x).uniform_(-radius, radius)
    else:
        delta = torch.randn_like(x)
        delta = delta * radius / delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
    return (x + delta).clamp(0, 1)


def _trace_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str, steps: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """PGD-CE that records every iterate: (adversarial at some iterate, at the last one, an
    adversarial iterate per example (else x), best loss after each step [steps, N])."""
    alpha = 2.5 * eps / steps
    adv = _noise(x, eps, norm)
    ever = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    found = x.clone()
    best = torch.full((x.shape[0],), -float("inf"), device=x.device)
    curve = []
    last = ever
    for _ in range(steps):
        adv.requires_grad_(True)
        logits = model(adv)
        loss = nn.functional.cross_entropy(logits, y, reduction="none")
        grad = torch.autograd.grad(loss.sum(), adv)[0]
        with torch.no_grad():
            last = logits.argmax(1) != y
            found[last & ~ever] = adv.detach()[last & ~ever]
            ever = ever | last
            best = torch.maximum(best, loss.detach())
            curve.append(best.clone())
            if norm == "Linf":
                step = alpha * grad.sign()
            else:
                step = alpha * grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
            adv = project_to_threat_model(adv.detach() + step, x, eps, norm)
    with torch.no_grad():
        final = _predict(model, adv) != y
    return ever, final, found, torch.stack(curve)


def run_probes(model: nn.Module, counter: PassCounter, x: torch.Tensor, y: torch.Tensor, correct: torch.Tensor,
               eps: float, norm: str, th: DiagnosticThresholds, seed: int) -> tuple[dict[str, list[Any]], torch.Tensor]:
    """Every probe on one chunk; returns (per-example lists, adversarial iterates of the trace probe)."""
    n = x.shape[0]
    counted = counter.wrap(model)
    out: dict[str, list[Any]] = {}
    torch.manual_seed(seed)
    # unavailable gradients: exactly zero input gradient of the CE loss (AutoAttack's check, per example)
    xg = x.clone().requires_grad_(True)
    logits = counted(xg)
    grad = torch.autograd.grad(nn.functional.cross_entropy(logits, y, reduction="sum"), xg)[0]
    out["zero_grad"] = (grad.flatten(1).abs().sum(1) == 0).tolist()
    with torch.no_grad():
        first = logits.detach()
        second = counted(x)
        scale = first.abs().amax(dim=1).clamp_min(1e-12)
        out["randomised"] = (((first - second).abs().amax(dim=1) / scale) > 1e-5).tolist()
        out["probabilities"] = ((first.min(dim=1).values >= 0) & (first.max(dim=1).values <= 1)
                                & ((first.sum(dim=1) - 1).abs() < 1e-4)).tolist()
        k = min(n, th.batch_probe_examples)
        alone = torch.cat([counted(x[i:i + 1]) for i in range(k)]) if k else first[:0]
        differs = ((alone - second[:k]).abs().amax(dim=1) / scale[:k]) > th.batch_tolerance
        # a randomised model differs between any two passes; batch dependence is only meaningful without it
        out["batch_dependent"] = (differs & ~torch.tensor(out["randomised"][:k], device=x.device)).tolist() + [False] * (n - k)
        noise_broken = torch.zeros(n, dtype=torch.bool, device=x.device)
        unstable = torch.zeros(n, dtype=torch.bool, device=x.device)
        x_noise = x.clone()
        for _ in range(th.noise_draws):
            big = _noise(x, eps, norm)
            wrong = (_predict(counted, big) != y) & correct
            x_noise[wrong & ~noise_broken] = big[wrong & ~noise_broken]
            noise_broken |= wrong
            unstable |= (_predict(counted, _noise(x, th.noise_scale * eps, norm)) != y) & correct
        out["noise_broken"] = noise_broken.tolist()
        out["unstable"] = unstable.tolist()
    # unconstrained attack: PGD at a budget that reaches every image
    big_eps = large_eps(th, norm, x[0].numel())
    still = correct.clone()
    index = correct.nonzero().flatten()
    if index.numel():
        spec = AttackSpec("large-eps-pgd", "pgd", {"steps": th.large_eps_steps})
        x_big = run_attack(spec, model, x[index], y[index], big_eps, norm, seed, counter=counter)
        still[index] = _predict(counted, x_big) == y[index]
    out["large_eps_correct"] = still.tolist()
    # trace probe: silent success and incomplete optimisation (Pintor et al. 2022)
    ever = torch.zeros(n, dtype=torch.bool, device=x.device)
    final = torch.zeros(n, dtype=torch.bool, device=x.device)
    incomplete = torch.zeros(n, dtype=torch.bool, device=x.device)
    found = x.clone()
    if index.numel():
        e, f, adv, curve = _trace_pgd(counted, x[index], y[index], eps, norm, th.trace_steps)
        ever[index], final[index], found[index] = e, f, adv
        tail = min(th.incomplete_tail, th.trace_steps - 1)
        before, after = curve[-tail - 1], curve[-1]
        rise = (after - before) / before.abs().clamp_min(1e-3)
        incomplete[index] = (~f) & (rise > th.incomplete_rise)
    out["trace_ever"] = ever.tolist()
    out["trace_final"] = final.tolist()
    out["incomplete"] = incomplete.tolist()
    return out, torch.stack([x_noise, found])
