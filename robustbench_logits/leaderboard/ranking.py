"""What must agree for two numbers to be compared (the protocol), and the ranking within one.

A protocol is what changes an accuracy's meaning: dataset, threat model, eps, suite and number of
examples (issue 9: a model evaluated at eps 8/255 on 8 examples must never rank above models
evaluated at eps 0.3 on 1000). Entries are grouped by :func:`protocol_key` before they are ranked;
:func:`protocol_of` describes, from an evaluation's provenance, how its numbers were obtained.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from robustbench_logits.eps import format_eps
from robustbench_logits.leaderboard.fields import evaluated_examples

__all__ = ["protocol_groups", "protocol_key", "protocol_of", "rank_entries", "tied_with_previous"]


def rank_entries(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first by worst-case accuracy after escalation, then AutoAttack, then clean, then name.

    The worst case is also the entry's ``external`` field, which RobustBench's own tools sort by,
    so they rank our entries as we do. An unreliable entry keeps its place, marked: its number is
    an upper bound, and the mark (and its footnote) says so, as RobustBench marks its own.
    """

    def number(value: str | None) -> float:
        return -math.inf if value is None else float(value)

    return sorted(entries, key=lambda e: (-number(e["worst_case_acc"]), -number(e["autoattack_acc"]),
                                          -number(e["clean_acc"]), e["model_name"]))


def tied_with_previous(ranked: list[dict[str, Any]]) -> list[bool]:
    """Per ranked entry: does its worst-case 95 % interval overlap the one ranked just above it?

    Overlapping neighbours are not distinguishable at this n; tables mark them tied rather than
    pretend the order between them is measured.
    """
    marks = [False] * len(ranked)
    for index in range(1, len(ranked)):
        above, here = ranked[index - 1]["ci95"]["worst_case_acc"], ranked[index]["ci95"]["worst_case_acc"]
        marks[index] = float(here[1]) >= float(above[0])  # sorted: here's value <= above's
    return marks


# Attack settings that say nothing about strength (bookkeeping, or eps, which the header states once).
_UNINFORMATIVE_PARAMS = frozenset({"attack", "version", "norm", "model_name", "attack_mode", "verbose", "eps"})


def _describe_attack(attack: dict[str, Any]) -> str:
    params = attack.get("resolved_params") or attack.get("params") or {}
    settings = ", ".join(f"{key}={value}" for key, value in params.items() if key not in _UNINFORMATIVE_PARAMS)
    view = f" on the {attack['view']} view" if attack.get("view") not in (None, "model") else ""
    return f"{attack['name']}{view}" + (f" ({settings})" if settings else "")


def protocol_of(evaluation: dict[str, Any]) -> dict[str, Any]:
    """How an evaluation's numbers were obtained, read from its provenance (examples, attacks, seeds, versions).

    Adaptive attacks are listed apart: they run only on models with a bounded logit head, so
    they differ between models evaluated under one protocol.
    """
    provenance = evaluation.get("provenance", {})
    dataset = provenance.get("dataset", {})
    seeds = provenance.get("seeds", {})
    attacks = provenance.get("attacks", [])
    return {
        "examples": f"{evaluation['n_examples']} {dataset.get('split', 'test')} examples of {evaluation['dataset']} "
                    f"(indices {evaluated_examples(evaluation)})",
        "threat": f"{evaluation['threat_model']}, eps = {format_eps(evaluation['eps'])}",
        "suite": evaluation.get("suite", ""),
        "attacks": [_describe_attack(a) for a in attacks if a.get("category") != "adaptive"],
        "adaptive_attacks": [_describe_attack(a) for a in attacks if a.get("category") == "adaptive"],
        "seeds": f"base seed {seeds.get('base', '?')}; {seeds.get('rule', '')}",
        "versions": ", ".join(f"{k} {v}" for k, v in provenance.get("versions", {}).items()),
    }


def protocol_groups(evaluations: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct protocols among named evaluations, each with its models (one group when all agree).

    Models differing only in their adaptive attacks share a group; ``adaptive`` maps each adaptive
    attack to the models it ran on.
    """
    groups: list[dict[str, Any]] = []
    for name, evaluation in evaluations.items():
        protocol = protocol_of(evaluation)
        adaptive = protocol.pop("adaptive_attacks")
        group = next((g for g in groups if g["protocol"] == protocol), None)
        if group is None:
            group = {"protocol": protocol, "models": [], "adaptive": {}}
            groups.append(group)
        group["models"].append(name)
        for attack in adaptive:
            group["adaptive"].setdefault(attack, []).append(name)
    return groups


def protocol_key(entry: dict[str, Any]) -> tuple[str, str, str, str, int]:
    """(dataset, threat model, eps, suite, n): entries ranked together must agree on all five."""
    return (entry["dataset"], entry["threat_model"], entry["eps"], entry["evaluation"]["suite"], entry["n_examples"])
