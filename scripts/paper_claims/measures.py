"""What a claim measures: per-example outcomes of an attack, accuracies, paired exact tests, the protocol."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch

from robustbench_logits import benchmark
from robustbench_logits.attacks import AttackSpec, run_attack
from robustbench_logits.errors import ModelError
from robustbench_logits.evaluation.suite import EvaluationSuite
from robustbench_logits.evaluation.statistics import ci95, discordance_p
from robustbench_logits.zoo import get_entry

from .steps import ALPHA, Context, Missing


def robust_outcomes(ctx: Context, model: torch.nn.Module, spec: AttackSpec | None, eps: float, dataset: str, n: int,
                    seed: int = 0, unbounded: Callable[[torch.nn.Module], Any] | None = None) -> list[bool]:
    """Per example: still classified correctly after the attack (``spec`` None or eps 0: clean).

    ``run_attack`` (the evaluation's one helper) builds, seeds and projects the attack; an
    ``unbounded`` attack (Li et al.'s C&W, confidence 0, no eps) runs as built, not projected.
    """
    x, y = ctx.data(dataset, n)
    out: list[bool] = []
    for chunk, start in enumerate(range(0, n, 250)):
        xb, yb = x[start:start + 250], y[start:start + 250]
        if unbounded is not None:
            torch.manual_seed(seed + chunk)
            xb = unbounded(model)(xb, yb).detach()
        elif spec is not None and eps > 0:
            xb = run_attack(spec, model, xb, yb, eps, "Linf", seed * 1000003 + chunk)
        with torch.no_grad():
            out.extend((model(xb).argmax(1) == yb).tolist())
    return out


def acc(outcomes: list[bool]) -> dict[str, Any]:
    k, n = sum(outcomes), len(outcomes)
    return {"k": k, "n": n, "acc": k / n if n else None, "ci95": ci95(k, n)}


def paired(a: list[bool], b: list[bool]) -> dict[str, Any]:
    """Exact one-sided McNemar tests on the same examples: is A more often robust than B, and vice versa."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes on different example sets ({len(a)} vs {len(b)})")
    only_a = sum(1 for p, q in zip(a, b) if p and not q)
    only_b = sum(1 for p, q in zip(a, b) if q and not p)
    return {"only_a": only_a, "only_b": only_b, "p_a_gt_b": discordance_p(only_a, only_b),
            "p_b_gt_a": discordance_p(only_b, only_a)}


def comparisons_verdict(under_paper: list[bool], under_protocol: list[bool], lost: dict[str, Any], complete: bool) -> str:
    """The verdict of a claim made of pairwise comparisons ("A more robust than B"), each tested under the paper's
    attack and under the protocol's worst case; ``lost`` is ``paired(claimed model under the paper's attack, its
    worst case)``: the examples the protocol broke that the paper's attack left robust.

    reproduced: every comparison holds under both, on every model the claim names (``complete``); masked: some
    hold under the paper's attack, none under the protocol, and the protocol breaks significantly more of the
    claimed model's examples; partly: any holds; otherwise not reproduced."""
    if under_paper and all(under_paper) and all(under_protocol) and complete:
        return "reproduced"
    if any(under_paper) and not any(under_protocol) and lost["p_a_gt_b"] < ALPHA:
        return "masked"
    return "partly" if any(under_paper) or any(under_protocol) else "not reproduced"


def strong(ctx: Context, model: torch.nn.Module, dataset: str, eps: float, name: str) -> dict[str, Any]:
    """The project's protocol: benchmark() with AutoAttack standard, head-aware attacks and escalation."""
    b = ctx.budget
    suite: str | EvaluationSuite = "standard"
    if b.aa_overrides:
        suite = EvaluationSuite.standard()
        suite.autoattack_overrides = b.aa_overrides
        suite.adaptive_steps = ctx.steps(40)
    try:
        result = benchmark(model, n_examples=b.n_strong, dataset=dataset, eps=eps, suite=suite, escalate=b.escalate,
                           progress=False, model_name=name).to_dict()
    except ModelError as refused:  # e.g. a diverged training whose logits are NaN: the evaluator refuses it
        return {"eps": eps, "error": str(refused)}
    per_example = result["provenance"].get("per_example", [])
    return {
        "eps": eps, "n": result["n_examples"], "clean": result["clean_acc"], "clean_ci95": result["clean_acc_ci95"],
        "autoattack": result["autoattack_acc"], "autoattack_ci95": result["autoattack_acc_ci95"],
        "adaptive": result["adaptive_acc"], "adaptive_ci95": result["adaptive_acc_ci95"],
        "worst": result["worst_case_acc"], "worst_ci95": result["worst_case_acc_ci95"],
        "per_attack": result["per_attack"],
        "converged": (result.get("escalation") or {}).get("converged"),
        "unreliable": result["unreliable"],
        "indicators": [f"{i['name']} ({i['severity']})" for i in result["indicators"]],
        "rounds": [(r["name"], r["robust_accuracy"]) for r in (result.get("escalation") or {}).get("rounds", [])],
        "robust": [o == "robust" for o in per_example],
        "outcome": per_example,
        "seconds": result["provenance"].get("wall_time_s"),
    }


def autoattack_kept(s: dict[str, Any]) -> list[bool]:
    """Per example of a ``strong`` result: AutoAttack standard left it robust (its outcome names the attack that
    broke it first; a clean error was never robust)."""
    return [o != "clean_error" and not o.startswith("autoattack/") for o in s["outcome"]]


def pgd(steps: int, alpha: float | None = None, name: str | None = None, **kw: Any) -> AttackSpec:
    params: dict[str, Any] = {"steps": steps, **kw}
    if alpha is not None:
        params["alpha"] = alpha
    return AttackSpec(name or f"pgd-{steps}", "pgd", params)


def transfer(spec: AttackSpec, source: torch.nn.Module) -> AttackSpec:
    """``spec`` crafted on ``source`` and scored on the attacked model (a black-box transfer attack)."""
    return dataclasses.replace(spec, params=dict(spec.params), surrogate=source, category="transfer")


def first_outcomes(kept: dict[int, bool], n: int) -> list[bool]:
    """A zoo record's per-example outcomes on the first ``n`` test examples (all of them evaluated there)."""
    if any(i not in kept for i in range(n)):
        raise Missing(f"a zoo record's side file lacks outcomes for the first {n} test examples")
    return [kept[i] for i in range(n)]


def zoo_numbers(tag: str) -> dict[str, Any] | None:
    """Clean, AutoAttack and worst-case accuracy of a zoo record's evaluation, intervals from accuracy x n."""
    evaluation = get_entry(tag).evaluation or {}
    n = evaluation.get("n_examples")
    if not n:
        return None
    out: dict[str, Any] = {"n": n}
    for key, name in (("clean_acc", "clean"), ("autoattack_acc", "autoattack"), ("worst_case_acc", "worst")):
        value = evaluation.get(key)
        out[name] = None if value is None else {"acc": value, "ci95": ci95(round(value * n), n)}
    return out
