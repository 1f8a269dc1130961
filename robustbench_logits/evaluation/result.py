"""The result of :func:`benchmark`: accuracies with 95 % intervals, indicators with severities,
the escalation curve, and the provenance of every number (docs/evaluation.md, "Result JSON")."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from robustbench_logits._files import write_json

__all__ = ["BenchmarkResult"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _interval(ci: list[float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.1%}, {ci[1]:.1%}]"


@dataclass
class BenchmarkResult:
    """Accuracies (fractions in [0, 1]) with 95 % Clopper-Pearson intervals, indicators, escalation, provenance."""

    model_name: str
    dataset: str
    threat_model: str
    eps: float
    n_examples: int
    suite: str
    clean_acc: float
    autoattack_acc: float | None
    worst_case_acc: float
    adaptive_acc: float | None
    per_attack: dict[str, float]
    indicators: list[dict[str, Any]] = field(default_factory=list)
    ci95: dict[str, Any] = field(default_factory=dict)
    worst_case: dict[str, Any] = field(default_factory=dict)
    escalation: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def unreliable(self) -> bool:
        """True iff an indicator of severity ``unreliable`` fired: the number may still overestimate robustness."""
        return any(i["severity"] == "unreliable" for i in self.indicators)

    @property
    def flags(self) -> dict[str, str]:
        """name -> message of the ``unreliable`` indicators (the earlier field, for old readers)."""
        return {i["name"]: i["message"] for i in self.indicators if i["severity"] == "unreliable"}

    @property
    def notes(self) -> list[str]:
        """"name: message" of the ``note`` indicators: kept and shown, they do not make the result unreliable."""
        return [f"{i['name']}: {i['message']}" for i in self.indicators if i["severity"] == "note"]

    @property
    def footnote(self) -> str:
        """One line from the unreliable indicators, for tables and model cards ('' when reliable)."""
        if not self.unreliable:
            return ""
        return "Unreliable evaluation (the reported accuracy may overestimate robustness): " + "; ".join(
            f"{name}: {message}" for name, message in self.flags.items())

    def to_dict(self) -> dict[str, Any]:
        """Every number, its interval and its provenance, JSON-ready (docs/evaluation.md, "Result JSON")."""
        return {
            "model_name": self.model_name, "dataset": self.dataset, "threat_model": self.threat_model,
            "eps": self.eps, "n_examples": self.n_examples, "suite": self.suite,
            "clean_acc": self.clean_acc, "clean_acc_ci95": self.ci95.get("clean_acc"),
            "autoattack_acc": self.autoattack_acc, "autoattack_acc_ci95": self.ci95.get("autoattack_acc"),
            "adaptive_acc": self.adaptive_acc, "adaptive_acc_ci95": self.ci95.get("adaptive_acc"),
            "worst_case_acc": self.worst_case_acc, "worst_case_acc_ci95": self.ci95.get("worst_case_acc"),
            "per_attack": self.per_attack, "per_attack_ci95": self.ci95.get("per_attack", {}),
            "worst_case": self.worst_case, "indicators": self.indicators, "unreliable": self.unreliable,
            "flags": self.flags, "notes": self.notes, "footnote": self.footnote, "escalation": self.escalation,
            "provenance": self.provenance,
        }

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The result as JSON text; also written (atomically) to ``path`` when given."""
        record = self.to_dict()
        if path is not None:
            write_json(path, record)
        return json.dumps(record, indent=2)

    def table(self) -> list[tuple[str, str, str]]:
        """(row, accuracy, 95 % interval) rows of the summary table the CLI prints."""
        per = self.ci95.get("per_attack", {})
        rows = [("clean", _pct(self.clean_acc), _interval(self.ci95.get("clean_acc")))]
        rows += [(name, _pct(acc), _interval(per.get(name))) for name, acc in self.per_attack.items()]
        if self.autoattack_acc is not None:
            rows.append(("AutoAttack (standard)", _pct(self.autoattack_acc), _interval(self.ci95.get("autoattack_acc"))))
        if self.adaptive_acc is not None:
            rows.append(("adaptive", _pct(self.adaptive_acc), _interval(self.ci95.get("adaptive_acc"))))
        label = "worst case (after escalation)" if len(self.escalation.get("rounds", [])) > 1 else "worst case"
        rows.append((label, _pct(self.worst_case_acc) + (" *" if self.unreliable else ""),
                     _interval(self.ci95.get("worst_case_acc"))))
        return rows

    def curve(self) -> list[tuple[str, str, str, str, str]]:
        """(round, robust accuracy, 95 % interval, cumulative passes fwd/bwd, cumulative seconds) of escalation."""
        return [(r["name"], _pct(r["robust_accuracy"]), _interval(r["ci95"]),
                 f"{r['passes']['forward']:,} / {r['passes']['backward']:,}", f"{r['seconds']:.1f}")
                for r in self.escalation.get("rounds", [])]
