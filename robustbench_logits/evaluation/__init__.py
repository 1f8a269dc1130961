"""Evaluation: RobustBench's protocol, per-example indicators of attack failure, escalation until
the number converges, and 95 % intervals on every accuracy (docs/evaluation.md).

One concept per module: :mod:`.suite` (what runs), :mod:`.cascade` (one chunk), :mod:`.probes`
(per-example measurements), :mod:`.indicators` (the catalogue), :mod:`.views` (straight-through
and log-probability copies), :mod:`.escalation` (ladders and budget), :mod:`.statistics`
(intervals and exact tests), :mod:`.result`, :mod:`.benchmark`, :mod:`.loading`, :mod:`.sweep`.
"""

from __future__ import annotations

from robustbench_logits.evaluation.benchmark import benchmark
from robustbench_logits.evaluation.escalation import EscalationBudget
from robustbench_logits.evaluation.indicators import CATALOGUE
from robustbench_logits.evaluation.inputs import state_dict_sha256
from robustbench_logits.evaluation.loading import load_model_for_eval
from robustbench_logits.evaluation.result import BenchmarkResult
from robustbench_logits.evaluation.suite import AUTOATTACK_STANDARD, DEFAULT_EPS, DiagnosticThresholds, EvaluationSuite
from robustbench_logits.evaluation.sweep import EpsSweep, eps_sweep

__all__ = [
    "AUTOATTACK_STANDARD",
    "CATALOGUE",
    "DEFAULT_EPS",
    "BenchmarkResult",
    "DiagnosticThresholds",
    "EpsSweep",
    "EscalationBudget",
    "EvaluationSuite",
    "benchmark",
    "eps_sweep",
    "load_model_for_eval",
    "state_dict_sha256",
]
