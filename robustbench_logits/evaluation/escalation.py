"""Escalation: when an indicator fires, run rounds of stronger attacks aimed at it until a round
breaks no more examples than sampling noise allows (converged) or the budget is spent.

Each fired indicator names the *families* that answer it (``indicators.CATALOGUE[...].escalate``);
each family is a ladder of rounds, strongest last. Families take turns, one round at a time
(the family whose ladder is least climbed goes next), so every family gets its first round early.
A family is *settled* when its latest round newly broke at most :func:`.statistics.noise_allowance`
examples (4 at alpha = 0.05: the exact sign test on the round's discordant examples). The
evaluation has converged when every family it started is settled; a family whose ladder ends
unsettled, or a budget that runs out first, means not converged (severity ``unreliable``).

The rounds use the registry's attacks (AutoAttack's APGD-CE/DLR/T and Square with more iterations,
restarts, queries or EOT samples), crafted on the model or on a copy from :mod:`.views`
(straight-through gradients found by torch.fx, log-probabilities), on a surrogate, or on the
head-aware views of :mod:`robustbench_logits.attacks`; examples are always scored on the real model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.nn as nn

from robustbench_logits.attacks import AttackSpec, has_logit_head
from robustbench_logits.errors import UserError
from robustbench_logits.evaluation.views import log_probabilities, straight_through
from robustbench_logits.heads import ScaledTanh

__all__ = ["FAMILIES", "EscalationBudget", "Ladders", "build_ladders", "next_family", "resolve_budget"]

#: The escalation families, in the order they take turns.
FAMILIES = ("straight_through", "log_probabilities", "eot", "adaptive", "transfer", "white_box", "black_box")


@dataclass(frozen=True)
class EscalationBudget:
    """How far escalation may go: rounds, and extra cost relative to the base evaluation.

    ``max_cost``: extra forward + backward example passes, as a multiple of the passes the base
    evaluation (cascade, adaptive attacks, probes) made; a round that starts within budget
    finishes. ``max_seconds``: the same in wall time (None: no limit; machine-dependent).
    """

    max_rounds: int = 8
    max_cost: float = 1.0
    max_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"max_rounds": self.max_rounds, "max_cost": self.max_cost, "max_seconds": self.max_seconds}


def resolve_budget(escalate: "bool | float | EscalationBudget | None") -> EscalationBudget | None:
    """``True``: the default budget; ``False``/``None``: off; a number: ``max_cost``; or a budget."""
    if escalate is None or escalate is False:
        return None
    if escalate is True:
        return EscalationBudget()
    if isinstance(escalate, EscalationBudget):
        budget = escalate
    elif isinstance(escalate, (int, float)):
        budget = EscalationBudget(max_cost=float(escalate))
    else:
        raise UserError(f"escalate must be True, False, a cost multiple or an EscalationBudget, got {escalate!r}")
    if budget.max_cost < 0 or budget.max_rounds < 0:
        raise UserError(f"the escalation budget must not be negative, got {budget}")
    return budget


@dataclass
class Ladders:
    """family -> rounds (each a list of attack specs run in cascade), and what the views replaced."""

    rounds: dict[str, list[list[AttackSpec]]]
    straight_through_ops: list[str]


def _on(kind: str, family: str, rung: int, params: dict[str, Any], surrogate: nn.Module | None = None,
        view: str = "model", label: str = "") -> AttackSpec:
    component = kind.removeprefix("aa_").replace("_", "-")
    name = f"escalation/{family}-{rung}/{component}{label}"
    return AttackSpec(name, kind, params, category="escalation", view=view, surrogate=surrogate,
                      surrogate_name=family if surrogate is not None else None)


def build_ladders(model: nn.Module, num_classes: int, surrogate: nn.Module | None, wanted: set[str]) -> Ladders:
    """The rounds of every family in ``wanted`` that applies to this model (empty when none does)."""
    targets = max(1, min(9, num_classes - 1))
    rounds: dict[str, list[list[AttackSpec]]] = {}
    ops: list[str] = []

    def apgd_ladder(family: str, target: nn.Module | None = None, view: str = "model") -> list[list[AttackSpec]]:
        return [
            [_on("aa_apgd_ce", family, 1, {"n_restarts": 2}, target, view),
             _on("aa_apgd_dlr", family, 1, {"n_restarts": 2}, target, view)],
            [_on("aa_apgd_t", family, 2, {"n_iter": 200, "n_target_classes": targets}, target, view)],
            [_on("aa_apgd_ce", family, 3, {"n_iter": 400, "n_restarts": 2}, target, view),
             _on("aa_apgd_dlr", family, 3, {"n_iter": 400, "n_restarts": 2}, target, view)],
        ]

    if "white_box" in wanted:
        rounds["white_box"] = apgd_ladder("white_box")
    if "black_box" in wanted:
        rounds["black_box"] = [[_on("aa_square", "black_box", 1, {})],
                               [_on("aa_square", "black_box", 2, {"n_queries": 10000})]]
    if "straight_through" in wanted:
        view, ops = straight_through(model)
        if view is not None:
            rounds["straight_through"] = apgd_ladder("straight_through", view)
    if "log_probabilities" in wanted:
        rounds["log_probabilities"] = apgd_ladder("log_probabilities", log_probabilities(model))[:2]
    if "eot" in wanted:
        rounds["eot"] = [[_on("aa_apgd_ce", "eot", 1, {"eot_iter": 10})],
                         [_on("aa_apgd_dlr", "eot", 2, {"eot_iter": 20})],
                         [_on("aa_apgd_ce", "eot", 3, {"eot_iter": 20, "n_iter": 200})]]
    if "transfer" in wanted:
        if surrogate is not None:
            rounds["transfer"] = apgd_ladder("transfer", surrogate)[:2]
        elif has_logit_head(model):
            rounds["transfer"] = apgd_ladder("transfer", view="prehead")[:2]
    if "adaptive" in wanted and has_logit_head(model):
        rounds["adaptive"] = [
            [_on("aa_apgd_ce", "adaptive", 1, {"n_restarts": 2}, view="prehead"),
             _on("aa_apgd_dlr", "adaptive", 1, {"n_restarts": 2}, view="prehead")],
            [_on("aa_apgd_ce", "adaptive", 2, {"n_iter": 200}, view="tanh_head" if not _is_stanh(model) else "stanh_s1")],
        ]
    return Ladders({f: rounds[f] for f in FAMILIES if f in rounds and rounds[f]}, ops)


def _is_stanh(model: nn.Module) -> bool:
    return isinstance(getattr(model, "head", None), ScaledTanh)


def next_family(ladders: Ladders, climbed: dict[str, int], settled: dict[str, bool]) -> str | None:
    """The family to run next: unsettled with rounds left, least climbed first (ties in FAMILIES order)."""
    pending = [f for f in ladders.rounds if not settled.get(f, False) and climbed.get(f, 0) < len(ladders.rounds[f])]
    if not pending:
        return None
    return min(pending, key=lambda f: (climbed.get(f, 0), FAMILIES.index(f)))
