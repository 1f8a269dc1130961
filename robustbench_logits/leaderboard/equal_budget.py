"""Zoo models trained on the same budget, side by side: does a method add robustness when every method
gets the same compute (issue 11)?

A group is the zoo records of one dataset, threat model, eps and architecture that ran one fixed-length
schedule (the same plan budget, ``budget["note"]``; no early stop: ``min_epochs`` None; the same number of
epochs run) and were evaluated under one protocol on the same examples. Early-stopped plans never group:
their budgets are ceilings, and the epochs they ran differ. Each pair of a group is compared on the
per-example worst case (``zoo.robust_by_example``) with the exact two-sided McNemar test: a difference in
accuracy means something only when it exceeds what the examples both models share let chance produce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from robustbench_logits import zoo
from robustbench_logits.evaluation.statistics import mcnemar_p
from robustbench_logits.leaderboard.fields import percent, percent_interval

__all__ = ["EqualBudgetGroup", "equal_budget_groups"]

ALPHA = 0.05


@dataclass(frozen=True)
class EqualBudgetGroup:
    """Records trained on one budget and evaluated under one protocol, ranked by worst case."""

    dataset: str
    threat_model: str
    eps: float
    arch: str
    budget: str
    epochs: int
    n_examples: int
    records: tuple[zoo.ZooRecord, ...]

    def rows(self) -> list[dict[str, Any]]:
        """One row per model: recipe, core-hours, selected epoch, clean / AutoAttack / worst case with intervals,
        and the evaluation's verdict (an unreliable worst case is an upper bound, and the row must say so)."""
        rows = []
        for r in self.records:
            ev = r.evaluation or {}
            rows.append({"name": r.name, "tag": r.tag, "recipe": r.recipe, "core_hours": r.budget.get("core_hours"),
                         "selected_epoch": r.training.get("selected_epoch"),
                         "verdict": ("unreliable: " + ", ".join(ev.get("flags") or {})) if ev.get("unreliable") else "reliable",
                         **{key: percent(ev.get(key)) for key in ("clean_acc", "autoattack_acc", "worst_case_acc")},
                         **{f"{key}_ci95": percent_interval(ev.get(f"{key}_ci95"))
                            for key in ("clean_acc", "autoattack_acc", "worst_case_acc")}})
        return rows

    def pairs(self) -> list[dict[str, Any]]:
        """Every pair (higher worst case first): examples only one of the two keeps, the difference, McNemar p."""
        kept = {r.name: zoo.robust_by_example(r.tag) for r in self.records}
        out = []
        for a, b in combinations(self.records, 2):
            shared = sorted(set(kept[a.name]) & set(kept[b.name]))
            only_a = sum(kept[a.name][i] and not kept[b.name][i] for i in shared)
            only_b = sum(kept[b.name][i] and not kept[a.name][i] for i in shared)
            if only_b > only_a:
                a, b, only_a, only_b = b, a, only_b, only_a
            p = mcnemar_p(only_a, only_b)
            out.append({"better": a.name, "worse": b.name, "n_shared": len(shared), "only_better": only_a,
                        "only_worse": only_b, "difference_points": round(100 * (only_a - only_b) / len(shared), 1),
                        "p": p, "significant": p < ALPHA})
        return out


def _key(r: zoo.ZooRecord) -> tuple | None:
    setup = r.training.get("setup", {})
    ev = r.evaluation
    note = r.budget.get("note")
    if ev is None or setup.get("min_epochs", 0) is not None or not note:
        return None
    return (r.dataset, r.threat_model, r.eps, r.arch, note, r.training.get("epochs"),
            ev.get("suite"), ev.get("n_examples"))


def equal_budget_groups(dataset: str | None = None, threat_model: str | None = None,
                        records: Iterable[zoo.ZooRecord] | None = None) -> list[EqualBudgetGroup]:
    """The groups of two or more shipped models (of ``dataset`` / ``threat_model`` when given) trained on one
    fixed-length budget, each ranked by worst case."""
    by_key: dict[tuple, list[zoo.ZooRecord]] = {}
    for r in zoo.records() if records is None else records:
        key = _key(r)
        if key is not None and dataset in (None, r.dataset) and threat_model in (None, r.threat_model):
            by_key.setdefault(key, []).append(r)
    groups = []
    for key, members in sorted(by_key.items(), key=lambda item: item[0][:4]):
        if len(members) < 2:
            continue
        members.sort(key=lambda r: (-r.evaluation["worst_case_acc"], r.name))
        dataset_, threat, eps, arch, budget, epochs, _, n = key
        groups.append(EqualBudgetGroup(dataset_, threat, eps, arch, budget, epochs, n, tuple(members)))
    return groups
