"""evaluation.*: our harness against pyautoattack called directly, on a robust zoo model.

A robust model matters: on a non-robust one APGD-CE breaks every example at once and the later
attacks, and any overhead per attack, measure nothing. All figures use the same model, the same
first ``n`` MNIST test examples, eps 0.3 and seed 0; ratios are side by side (:mod:`paired`).

* ``harness_overhead``: ``benchmark(suite="standard")`` (clean pass, AutoAttack through our
  cascade, probes, indicators, escalation when one fires) over
  ``pyautoattack.AutoAttack(version="standard").run_standard_evaluation``; the two robust
  accuracies are recorded and must be equal.
* ``full_suite_vs_aa``: ``benchmark(suite="full")`` (AutoAttack + the torchattacks suite as a
  cascade, escalation rounds included) over AutoAttack alone.
* ``independent_vs_aa``: every attack of the full suite on every example (no cascade) over
  AutoAttack alone: what the cascade saves is independent / full.
* ``sweep``: ``eps_sweep`` cost per eps over one standard evaluation.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from pyautoattack import AutoAttack

import robustbench_logits
from paired import paired
from robustbench_logits.attacks import run_attack
from robustbench_logits.data import load_dataset
from robustbench_logits.evaluation import EvaluationSuite, eps_sweep

ROBUST_MODEL = "Madry2018PGDAT_2C2F"
EPS = 0.3
SWEEP_EPS = (0.1, 0.2, 0.3)


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def bench_evaluation(n: int, pairs: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    model = robustbench_logits.load_model(ROBUST_MODEL)
    x, y = load_dataset("mnist", split="test", n_examples=n)
    seen: dict[str, Any] = {}

    def ours(suite: str) -> None:
        result = robustbench_logits.benchmark(model, dataset=(x, y), n_examples=n, eps=EPS, suite=suite,
                                              progress=False)
        seen[suite] = result

    def direct() -> None:
        x_adv, _ = AutoAttack(model, eps=EPS, norm="Linf", version="standard", seed=0).run_standard_evaluation(
            x, y, batch_size=250)
        seen["direct"] = _accuracy(model, x_adv, y)

    independent_specs = EvaluationSuite.full("Linf", 10).cascade()

    def independent() -> None:
        for position, spec in enumerate(independent_specs):
            run_attack(spec, model, x, y, EPS, "Linf", position)

    def sweep() -> None:
        seen["sweep"] = eps_sweep(model, (x, y), list(SWEEP_EPS), n_examples=n)

    out: dict[str, Any] = {"model": ROBUST_MODEL, "n_examples": n, "eps": EPS}
    started = time.perf_counter()
    overhead = paired(lambda: ours("standard"), direct, pairs, warmup=0)
    standard = seen["standard"]
    out["harness_overhead"] = {
        **overhead,
        "target": 1.05,
        "ours_autoattack_acc": standard.autoattack_acc,
        "direct_autoattack_acc": seen["direct"],
        "identical_robust_accuracy": standard.autoattack_acc == seen["direct"],
        "clean_acc": standard.clean_acc,
        "escalation": standard.escalation,
    }
    full = paired(lambda: ours("full"), direct, 1, warmup=0)
    result = seen["full"]
    out["full_suite_vs_aa"] = {**full, "target": 1.5, "worst_case_acc": result.worst_case_acc,
                               "autoattack_acc": result.autoattack_acc, "escalation": result.escalation,
                               "attack_seconds": _attack_seconds(result)}
    out["independent_vs_aa"] = {**paired(independent, direct, 1, warmup=0),
                                "attacks": [spec.name for spec in independent_specs]}
    out["independent_vs_aa"]["cascade_saves"] = round(
        out["independent_vs_aa"]["a_median_s"] / out["full_suite_vs_aa"]["a_median_s"], 3)
    sweep_timing = paired(sweep, lambda: ours("standard"), pairs, warmup=0)
    out["sweep"] = {
        "per_eps_vs_standard": round(sweep_timing["ratio"] / len(SWEEP_EPS), 4),
        "eps": list(SWEEP_EPS),
        "attack": "pgd-40 (eps_sweep's default, Kanai et al. Fig. 3)",
        "timing": sweep_timing,
        "accuracy": seen["sweep"].accuracy,
    }
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def _attack_seconds(result: Any) -> dict[str, float]:
    """Wall seconds per attack from the result's provenance, when it records them."""
    rows = result.provenance.get("attacks", []) if isinstance(result.provenance, dict) else []
    return {row.get("name", "?"): round(float(row.get("wall_time_s", 0.0)), 2) for row in rows if isinstance(row, dict)}
