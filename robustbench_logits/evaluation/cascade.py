"""One chunk of examples: clean accuracy, the attack cascade, the adaptive cascade, the probes,
and later the escalation rounds, each attack only on the examples still robust.

Chunks are fixed slices of ``batch_size`` examples; attack ``k`` on chunk ``c`` is seeded from
(seed, k, c) alone, so results do not depend on how chunks are spread over processes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn as nn

from robustbench_logits.attacks import AttackSpec, PassCounter, run_attack
from robustbench_logits.evaluation.probes import run_probes
from robustbench_logits.evaluation.suite import DiagnosticThresholds

__all__ = ["PROBE_POSITION", "ROUND_POSITION", "SEED_RULE", "Chunk", "Context", "derive_seed", "evaluate_chunk", "rescore",
           "run_round_on_chunk"]

#: Seed positions of the probes and of escalation round r, attack j (after any realistic suite).
PROBE_POSITION = 10_000
ROUND_POSITION = 20_000

SEED_RULE = ("attack k on chunk c: torch.manual_seed((seed*1000003 + k*7919 + c) mod 2^31), also given as `seed` "
             "to attacks that reseed themselves (APGD, APGD-T, Square); AutoAttack's four components: the base seed "
             "(as AutoAttack); probes: k = 10000; escalation round r, attack j: k = 20000 + 100 r + j")


def derive_seed(seed: int, position: int, chunk: int) -> int:
    """Seed of attack ``position`` on chunk ``chunk``: independent of how chunks map to ranks."""
    return (seed * 1_000_003 + position * 7_919 + chunk) % (2 ** 31)


@dataclass
class Context:
    """What every chunk shares: the model, the threat model, the attacks, the pass counter."""

    model: nn.Module
    eps: float
    norm: str
    seed: int
    cascade: list[AttackSpec]
    adaptive: list[AttackSpec]
    thresholds: DiagnosticThresholds
    counter: PassCounter = field(default_factory=PassCounter)
    times: dict[str, float] = field(default_factory=dict)

    def seed_for(self, spec: AttackSpec, position: int, chunk: int) -> int:
        return self.seed if spec.seed_rule == "base" else derive_seed(self.seed, position, chunk)


@dataclass
class Chunk:
    """One chunk's live state on this rank: which examples are still robust, their worst case."""

    index: int
    x: torch.Tensor
    y: torch.Tensor
    correct: torch.Tensor
    robust: torch.Tensor
    x_worst: torch.Tensor
    outcome: list[str]


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(dim=1)


def _cascade(ctx: Context, specs: list[AttackSpec], offset: int, chunk: int, x: torch.Tensor, y: torch.Tensor,
             start_robust: torch.Tensor, x_worst: torch.Tensor, tick: Callable[[], None]) -> list[int]:
    """Run ``specs`` in order, each on the examples still robust; per example the position of the
    attack that broke it, or -1. ``x_worst`` receives the breaking examples."""
    broken_by = [-1] * x.shape[0]
    robust = start_robust.clone()
    counted = ctx.counter.wrap(ctx.model)
    for position, spec in enumerate(specs):
        started = time.perf_counter()
        index = robust.nonzero().flatten()
        if index.numel():
            x_adv = run_attack(spec, ctx.model, x[index], y[index], ctx.eps, ctx.norm,
                               ctx.seed_for(spec, offset + position, chunk), ctx.counter)
            fooled = _predict(counted, x_adv) != y[index]
            for i in index[fooled].tolist():
                broken_by[i] = position
            robust[index[fooled]] = False
            x_worst[index[fooled]] = x_adv[fooled]
        ctx.times[spec.name] = ctx.times.get(spec.name, 0.0) + time.perf_counter() - started
        tick()
    return broken_by


def evaluate_chunk(ctx: Context, chunk: int, x: torch.Tensor, y: torch.Tensor,
                   tick: Callable[[], None]) -> tuple[Chunk, dict[str, Any]]:
    """The base evaluation of one chunk: (its live state, its JSON-ready record)."""
    started = time.perf_counter()
    correct = _predict(ctx.counter.wrap(ctx.model), x) == y
    ctx.times["clean"] = ctx.times.get("clean", 0.0) + time.perf_counter() - started
    x_worst = x.clone()
    broken_by = _cascade(ctx, ctx.cascade, 0, chunk, x, y, correct, x_worst, tick)
    x_adaptive = x.clone()
    adaptive_by = _cascade(ctx, ctx.adaptive, len(ctx.cascade), chunk, x, y, correct, x_adaptive, tick)
    started = time.perf_counter()
    probes, (x_noise, x_trace) = run_probes(ctx.model, ctx.counter, x, y, correct, ctx.eps, ctx.norm, ctx.thresholds,
                                            derive_seed(ctx.seed, PROBE_POSITION, chunk))
    ctx.times["probes"] = ctx.times.get("probes", 0.0) + time.perf_counter() - started
    tick()
    outcome, robust = [], correct.clone()
    for i in range(x.shape[0]):
        if not correct[i]:
            outcome.append("clean_error")
        elif broken_by[i] >= 0:
            outcome.append(ctx.cascade[broken_by[i]].name)
        elif adaptive_by[i] >= 0:
            outcome.append(ctx.adaptive[adaptive_by[i]].name)
            x_worst[i] = x_adaptive[i]
        elif probes["trace_ever"][i]:
            outcome.append("probe/trace-pgd")
            x_worst[i] = x_trace[i]
        elif probes["noise_broken"][i]:
            outcome.append("probe/noise")
            x_worst[i] = x_noise[i]
        else:
            outcome.append("robust")
        robust[i] = outcome[-1] == "robust"
    record = {"chunk": chunk, "correct": correct.tolist(), "broken_by": broken_by, "adaptive_broken_by": adaptive_by,
              **probes}
    return Chunk(chunk, x, y, correct, robust, x_worst, outcome), record


def run_round_on_chunk(ctx: Context, chunk: Chunk, specs: list[AttackSpec], round_number: int) -> list[int]:
    """One escalation round on a chunk's survivors (its attacks in cascade); the examples it broke."""
    broken: list[int] = []
    counted = ctx.counter.wrap(ctx.model)
    for j, spec in enumerate(specs):
        started = time.perf_counter()
        index = chunk.robust.nonzero().flatten()
        if index.numel():
            seed = derive_seed(ctx.seed, ROUND_POSITION + 100 * round_number + j, chunk.index)
            x_adv = run_attack(spec, ctx.model, chunk.x[index], chunk.y[index], ctx.eps, ctx.norm, seed, ctx.counter)
            fooled = _predict(counted, x_adv) != chunk.y[index]
            for i in index[fooled].tolist():
                chunk.outcome[i] = spec.name
                broken.append(i)
            chunk.robust[index[fooled]] = False
            chunk.x_worst[index[fooled]] = x_adv[fooled]
        ctx.times[spec.name] = ctx.times.get(spec.name, 0.0) + time.perf_counter() - started
    return broken


def rescore(ctx: Context, chunk: Chunk) -> list[bool]:
    """Per example: does a fresh forward pass over its worst case disagree with the recorded verdict?"""
    again = _predict(ctx.counter.wrap(ctx.model), chunk.x_worst) == chunk.y
    return ((again != (chunk.correct & chunk.robust)) & chunk.correct).tolist()
