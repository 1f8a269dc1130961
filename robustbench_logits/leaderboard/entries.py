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
kept beside the measured ones, never used). Credits come from :mod:`robustbench_logits.papers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from robustbench_logits.eps import format_eps
from robustbench_logits.errors import ModelError, WeightsError
from robustbench_logits.leaderboard.fields import index_ranges, percent
from robustbench_logits.leaderboard.schema import validate_entry
from robustbench_logits.papers import PAPERS, Paper

if TYPE_CHECKING:  # a type only: entries are derived from a record's data, not from the zoo module
    from robustbench_logits.zoo import ZooEntry

__all__ = ["CLAIM_TOLERANCE_POINTS", "entry_from_result", "entry_from_zoo", "paper_of"]

#: A submission whose measured AutoAttack accuracy is more than this many points below its claim is marked.
CLAIM_TOLERANCE_POINTS = 1.0

# Methods another paper proposed, whichever seed paper's protocol a recipe follows (issue 10 item 3).
_PROPOSED_BY = {"pgd-at": "madry2018", "pgd_at": "madry2018", "trades": "zhang2019", "mart": "wang2020",
                "alp": "kannan2018", "fast-at": "wong2020", "fast_at": "wong2020"}
# A legacy record names its paper in prose; the first of these found names the key.
_PROSE_KEYS = (("Kanai", "kanai2021"), ("Summers", "summers2019"), ("Probabilistically Compact", "li2021"),
               ("PC-LC", "li2021"), ("LCAT", "lcat"), ("LMA", "lma"))


def paper_of(recipe: str, paper: str) -> Paper | None:
    """The paper that proposed a record's method: a key of the papers table, or found in the record's prose."""
    if paper in PAPERS:
        return PAPERS[paper]
    if recipe in _PROPOSED_BY:
        return PAPERS[_PROPOSED_BY[recipe]]
    found = sorted((paper.find(text), key) for text, key in _PROSE_KEYS if text in paper)
    return PAPERS[found[0][1]] if found else None


def _measured_fields(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The RobustBench accuracy fields and our extensions, from one ``BenchmarkResult.to_dict()``."""
    provenance = evaluation.get("provenance", {})
    flags = dict(evaluation.get("flags") or {})
    return {
        "dataset": evaluation["dataset"],
        "eps": format_eps(evaluation["eps"]),
        "clean_acc": percent(evaluation["clean_acc"]),
        "autoattack_acc": percent(evaluation.get("autoattack_acc")),
        "external": percent(evaluation["worst_case_acc"]),
        "footnote": evaluation.get("footnote") or "",
        "unreliable": bool(flags),
        "threat_model": evaluation["threat_model"],
        "eps_value": evaluation["eps"],
        "worst_case_acc": percent(evaluation["worst_case_acc"]),
        "adaptive_acc": percent(evaluation.get("adaptive_acc")),
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
        "example_indices": index_ranges(provenance.get("dataset", {}).get("example_indices", [])),
    }


def _paper_epochs(recipe: str, dataset: str, arch: str) -> int | None:
    """The epochs the recipe's paper setting states (what a zoo model's budget is a fraction of)."""
    from robustbench_logits.errors import UserError
    from robustbench_logits.recipes import get_recipe

    try:
        return get_recipe(recipe).setup(dataset, arch).epochs
    except UserError:
        return None


def _training_fields(training: dict[str, Any], recipe: str, dataset: str, arch: str) -> dict[str, Any] | None:
    if not training:
        return None
    return {
        "epochs": training.get("epochs", 0),
        "paper_epochs": _paper_epochs(recipe, dataset, arch),
        "budget": training.get("setup", {}).get("budget", ""),
        "seed": training.get("seed", 0),
        "selection": training.get("selection", ""),
        "selected_epoch": training.get("selected_epoch"),
        "wall_time_seconds": training.get("wall_time_seconds"),
    }


def entry_from_zoo(record: ZooEntry) -> dict[str, Any]:
    """The leaderboard entry of a shipped model, derived from its zoo record (never typed twice).

    RobustBench fields come from the record's evaluation (a ``BenchmarkResult.to_dict()``);
    ``reported`` is null because a zoo model trained on a fraction of its paper's schedule makes
    no claim. ``external`` holds the worst case (RobustBench ranks by it when present).
    """
    if record.evaluation is None:
        raise ModelError(f"zoo model {record.name} has no evaluation yet: run scripts/build_zoo.py {record.tag}")
    paper = paper_of(record.recipe, record.paper)
    training = record.training or {}
    title = training.get("recipe_title", record.recipe)
    # A baseline (recipe paper "... (Baseline, ST)") is not the paper's method: name it as RobustBench
    # names its "Standardly trained model", and keep the paper whose protocol it follows as the link.
    baseline = "baseline" in record.paper.lower() and record.recipe not in _PROPOSED_BY
    name = f"{title} (baseline)" if baseline or paper is None else paper.title
    measured = _measured_fields(record.evaluation)
    if measured["weights_sha256"] != record.sha256:
        raise WeightsError(f"the evaluation of {record.name} is of other weights than the record's sha256: "
                           f"rerun scripts/build_zoo.py {record.tag}")
    built = {
        "link": paper.link if paper else "", "name": name, "authors": paper.authors_text if paper else "",
        "additional_data": False, "number_forward_passes": 1, "venue": paper.venue if paper else "N/A",
        "architecture": record.arch + (f" + {record.head} head" if record.head else ""),
        "reported": None, **measured,
        "model_name": record.name, "timm_tag": record.tag, "source": "zoo",
        "recipe": {"name": record.recipe, "title": title, "paper": record.paper},
        "training": _training_fields(training, record.recipe, record.dataset, record.arch),
        "versions": {"training": training.get("versions", {}), "evaluation": record.evaluation.get("provenance", {}).get("versions", {})},
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
