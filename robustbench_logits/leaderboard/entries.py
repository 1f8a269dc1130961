"""Leaderboard entries in RobustBench's ``model_info`` format, extended with what we measured.

RobustBench keeps one JSON per model (``link, name, authors, additional_data,
number_forward_passes, dataset, venue, architecture, eps, clean_acc, reported, autoattack_acc,
footnote, unreliable``; accuracies as percent strings with two decimals; Croce et al. 2021,
``robustbench.utils.ModelInfo``). Our entries carry those fields and add the worst case over
AutoAttack and the adaptive attacks, the per-attack accuracies, the gradient-masking flags, the
weights' sha256, the recipe, the training budget, versions and a pointer to the full
evaluation provenance. ``schemas/leaderboard_entry.schema.json`` is the contract; every entry is
validated before it is returned.

Entries are derived, never typed: :func:`entry_from_zoo` from a zoo record,
:func:`entry_from_result` from a fresh evaluation of a submitted model (the claimed numbers are
kept beside the measured ones, never used). Credits come from :mod:`robustbench_logits.papers`
(the record names its paper by key); nothing is read from live recipe code.
"""

from __future__ import annotations

from typing import Any

from robustbench_logits.eps import format_eps
from robustbench_logits.errors import ModelError, WeightsError
from robustbench_logits.leaderboard.fields import evaluated_examples, interval, percent, percent_interval
from robustbench_logits.leaderboard.schema import validate_entry
from robustbench_logits.papers import get_paper
from robustbench_logits.zoo import ZooRecord

__all__ = ["CLAIM_TOLERANCE_POINTS", "VERDICTS", "entry_from_result", "entry_from_zoo", "intervals", "verdict_of"]

#: A submission whose measured AutoAttack accuracy is more than this many points below its claim is marked.
CLAIM_TOLERANCE_POINTS = 1.0

#: An entry's verdict, from the severities of the indicators that fired (docs/evaluation.md).
VERDICTS = ("reliable", "reliable, with notes", "unreliable")


def intervals(evaluation: dict[str, Any]) -> dict[str, list[str] | None]:
    """95 % intervals of the headline accuracies as percent strings: the evaluation's own, else from its counts."""
    n = evaluation["n_examples"]
    found = {}
    for key in ("clean_acc", "autoattack_acc", "adaptive_acc", "worst_case_acc"):
        value = evaluation.get(key)
        recorded = evaluation.get(f"{key}_ci95")
        found[key] = percent_interval(recorded if recorded is not None else (None if value is None else interval(value, n)))
    return found


def verdict_of(evaluation: dict[str, Any]) -> dict[str, Any]:
    """Reliability, notes, indicators and escalation of an evaluation, old (flags only) or new (indicators)."""
    if "indicators" in evaluation:
        indicators = [{"name": i["name"], "severity": i["severity"], "message": i.get("message", "")}
                      for i in evaluation["indicators"]]
        unreliable = any(i["severity"] == "unreliable" for i in indicators)
    else:  # recorded before severities: every flag meant "unreliable"
        indicators = [{"name": name, "severity": "unreliable", "message": message}
                      for name, message in (evaluation.get("flags") or {}).items()]
        unreliable = bool(indicators)
    notes = [f"{i['name']}: {i['message']}" for i in indicators if i["severity"] == "note"]
    escalation = evaluation.get("escalation") or {}
    rounds = escalation.get("rounds") or []
    before = (evaluation.get("worst_case") or {}).get("before_escalation", rounds[0]["robust_accuracy"] if rounds else None)
    return {
        "unreliable": unreliable,
        "verdict": VERDICTS[2] if unreliable else VERDICTS[1] if notes else VERDICTS[0],
        "indicators": indicators,
        "notes": notes,
        "escalation": {"enabled": bool(escalation.get("enabled", False)), "converged": escalation.get("converged"),
                       "rounds": max(len(rounds) - 1, 0),
                       "before_escalation": percent(before if before is not None else evaluation["worst_case_acc"])},
    }


def _measured_fields(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The RobustBench accuracy fields and our extensions, from one ``BenchmarkResult.to_dict()``.

    ``external`` is the worst case after escalation: RobustBench's tools sort by it, so they rank as we do.
    """
    provenance = evaluation.get("provenance", {})
    verdict = verdict_of(evaluation)
    flags = {i["name"]: i["message"] for i in verdict["indicators"] if i["severity"] == "unreliable"}
    return {
        "dataset": evaluation["dataset"],
        "eps": format_eps(evaluation["eps"]),
        "clean_acc": percent(evaluation["clean_acc"]),
        "autoattack_acc": percent(evaluation.get("autoattack_acc")),
        "external": percent(evaluation["worst_case_acc"]),
        "footnote": evaluation.get("footnote") or "",
        "unreliable": verdict["unreliable"],
        "threat_model": evaluation["threat_model"],
        "eps_value": evaluation["eps"],
        "worst_case_acc": percent(evaluation["worst_case_acc"]),
        "adaptive_acc": percent(evaluation.get("adaptive_acc")),
        "ci95": intervals(evaluation),
        "verdict": verdict["verdict"],
        "notes": verdict["notes"],
        "indicators": verdict["indicators"],
        "escalation": verdict["escalation"],
        "per_attack": {name: percent(value) for name, value in evaluation.get("per_attack", {}).items()},
        "flags": flags,
        "n_examples": evaluation["n_examples"],
        "weights_sha256": provenance.get("model", {}).get("weights_sha256", ""),
    }


def _evaluation_pointer(evaluation: dict[str, Any], file: str, json_pointer: str) -> dict[str, Any]:
    provenance = evaluation.get("provenance", {})
    return {
        "file": file,
        "json_pointer": json_pointer,
        "suite": evaluation.get("suite", ""),
        "seed": provenance.get("seeds", {}).get("base", 0),
        "example_indices": evaluated_examples(evaluation),
    }


def _training_fields(record: ZooRecord) -> dict[str, Any]:
    """What the record says about the training run: epochs against the paper's, budget, selection, convergence."""
    training, budget = record.training, record.budget
    return {
        "epochs": training.get("epochs", 0),
        "paper_epochs": training.get("paper_epochs"),
        "budget": budget.get("note", ""),
        "seed": training.get("seed", 0),
        "selection": training.get("selection", ""),
        "selected_epoch": training.get("selected_epoch"),
        "wall_time_seconds": budget.get("wall_time_seconds"),
        "converged": training.get("converged"),
        "departures": list(record.departures),
    }


def entry_from_zoo(record: ZooRecord) -> dict[str, Any]:
    """The leaderboard entry of a shipped model, derived from its zoo record only (never typed twice).

    RobustBench fields come from the record's evaluation summary and the papers table (the
    record names its paper by key); ``reported`` is null because a zoo model makes no claim of
    its own. ``external`` holds the worst case after escalation (RobustBench ranks by it).
    """
    if record.evaluation is None:
        raise ModelError(f"zoo model {record.name} has no evaluation yet: run scripts/build_zoo.py {record.tag}")
    paper = get_paper(record.paper)
    title = record.training.get("recipe_title", record.recipe)
    # A baseline is not its paper's method: named after its recipe, as RobustBench names its "Standardly
    # trained model", with the paper whose protocol it follows as the link.
    name = f"{title} (baseline)" if record.baseline else paper.title
    measured = _measured_fields(record.evaluation)
    if measured["weights_sha256"] != record.sha256:
        raise WeightsError(f"the evaluation of {record.name} is of other weights than the record's sha256: "
                           f"rerun scripts/build_zoo.py {record.tag}")
    built = {
        "link": paper.link, "name": name, "authors": paper.authors_text, "additional_data": False,
        "number_forward_passes": 1, "venue": paper.venue,
        "architecture": record.arch + (f" + {record.head} head" if record.head else ""),
        "reported": None, **measured,
        "model_name": record.name, "timm_tag": record.tag, "source": "zoo",
        "recipe": {"name": record.recipe, "title": title, "paper": record.paper},
        "training": _training_fields(record),
        "versions": {"training": record.training.get("versions", {}),
                     "evaluation": record.evaluation.get("provenance", {}).get("versions", {})},
        "evaluation": _evaluation_pointer(record.evaluation, f"robustbench_logits/weights/{record.tag}.json", "/evaluation"),
        "claim": None,
    }
    validate_entry(built)
    return built


def entry_from_result(submission: dict[str, Any], evaluation: dict[str, Any], evaluation_file: str) -> dict[str, Any]:
    """A submission's entry: its bibliographic fields, the numbers ``benchmark`` measured, its claim beside them.

    The claim is "verified" when the measured AutoAttack accuracy is at most
    :data:`CLAIM_TOLERANCE_POINTS` below the claimed one; otherwise the entry is kept but marked
    (``claim.verified = false`` and a footnote saying by how much the claim was not reproduced).
    """
    measured = _measured_fields(evaluation)
    claimed = float(submission["autoattack_acc"])
    measured_aa = 100 * (evaluation["autoattack_acc"] if evaluation.get("autoattack_acc") is not None
                         else evaluation["worst_case_acc"])
    verified = claimed - measured_aa <= CLAIM_TOLERANCE_POINTS + 1e-9
    notes = [submission.get("footnote", ""), measured["footnote"]]
    if not verified:
        notes.append(f"Claim not reproduced: {submission['autoattack_acc']}% claimed under AutoAttack, "
                     f"{measured_aa:.2f}% measured (more than {CLAIM_TOLERANCE_POINTS:g} point lower).")
    built = {
        "link": submission.get("link", ""), "name": submission["name"], "authors": submission["authors"],
        "additional_data": submission.get("additional_data", False),
        "number_forward_passes": submission.get("number_forward_passes", 1),
        "venue": submission.get("venue", "N/A"), "architecture": submission["architecture"],
        "reported": submission.get("reported", submission["autoattack_acc"]),
        **measured,
        "footnote": " ".join(note for note in notes if note),
        "model_name": submission["model_name"], "timm_tag": None, "source": "submission",
        "recipe": None, "training": None,
        "versions": {"evaluation": evaluation.get("provenance", {}).get("versions", {})},
        "evaluation": _evaluation_pointer(evaluation, evaluation_file, ""),
        "claim": {"clean_acc": submission["clean_acc"], "autoattack_acc": submission["autoattack_acc"],
                  "verified": verified, "tolerance_points": CLAIM_TOLERANCE_POINTS},
    }
    validate_entry(built)
    return built
