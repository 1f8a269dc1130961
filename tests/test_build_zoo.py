"""The zoo's plans (scripts/build_zoo.py): names, tags, departures, and what a record is made of."""

from __future__ import annotations

from collections import Counter

import pytest

from robustbench_logits.papers import PAPERS
from robustbench_logits.zoo import ZooRecord
from script_modules import load_script

build_zoo = load_script("build_zoo")


def test_tags_are_unique_and_names_unique_within_a_dataset() -> None:
    tags = Counter(plan.tag for plan in build_zoo.PLANS)
    assert max(tags.values()) == 1
    names = Counter((build_zoo.model_name(plan), plan.dataset) for plan in build_zoo.PLANS)
    assert max(names.values()) == 1, [n for n, c in names.items() if c > 1]


def test_every_dataset_plans_at_least_14_models_and_each_credits_a_known_paper() -> None:
    per_dataset = Counter(plan.dataset for plan in build_zoo.PLANS)
    assert per_dataset["mnist"] >= 14 and per_dataset["fashion_mnist"] >= 14
    for plan in build_zoo.PLANS:
        key, _, _ = build_zoo.CREDIT[plan.recipe]
        assert key in PAPERS
        assert plan.tag.startswith(f"{plan.arch}.") and plan.tag.endswith(f"_{plan.dataset}")


@pytest.mark.parametrize("tag, in_name", [("cnn2c2f.lcat_lambda0p01_mnist", "_lambda0.01"), ("lenet5.pc_lr0p001_mnist", "_lr0.001")])
def test_a_departing_hyperparameter_is_in_the_name_and_the_setup(tag: str, in_name: str) -> None:
    plan = next(p for p in build_zoo.PLANS if p.tag == tag)
    assert build_zoo.model_name(plan).endswith(in_name)
    setup = build_zoo._recipe_for(plan).setups[0]
    assert setup.budget == plan.budget and ("lambda 0.01" in plan.budget or "lr 0.001" in plan.budget)


def test_adversarial_plans_record_the_cheaper_pgd_and_the_selection_departure() -> None:
    plan = next(p for p in build_zoo.PLANS if p.tag == "cnn2c2f.pgd_at_fashion_mnist")
    setup = build_zoo._recipe_for(plan).setups[0]
    assert setup.attack.eps == 0.1 and setup.attack.steps == 5 and setup.selection == "best_robust"
    assert any(n.startswith("cheaper inner PGD") for n in setup.notes) and any(n.startswith("selection:") for n in setup.notes)
    assert any(n.startswith("inner attack rescaled to eps 0.1") for n in setup.notes)


def _metadata(**changes: object) -> dict:
    meta = {
        "recipe_title": "t", "checkpoint_rule": "c", "setup": {"notes": ["cheaper inner PGD: 5 steps", "other"]},
        "seed": 0, "n_train": 55000, "validation": {"source": "training set"}, "selection": "best_robust",
        "selected_epoch": 3, "selected_val_clean_accuracy": 0.95, "selected_val_robust_accuracy": 0.6, "epochs_done": 4,
        "epochs": 20, "converged": False, "stopped": None, "versions": {}, "wall_time_seconds": 7200.0, "cpu_seconds": 3600.0,
        "world_size": 1, "num_classes": 10, "input_shape": [1, 28, 28], "head": None, "head_kwargs": {},
        "history": [{"epoch": i, "train_loss": 1.0} for i in range(1, 5)],
    }
    return {**meta, **changes}


def test_a_record_states_non_convergence_and_counts_core_hours_from_cpu_time() -> None:
    plan = next(p for p in build_zoo.PLANS if p.tag == "cnn2c2f.pgd_at_mnist")
    record, side = build_zoo.make_record(plan, _metadata(), "ab" * 32, None)
    assert isinstance(record, ZooRecord) and record.name == "Madry2018PGDAT_2C2F" and record.paper == "madry2018"
    assert record.budget["core_hours"] == 1.0 and record.budget["core_hours_from"] == "cpu time"
    assert any("not converged" in d for d in record.departures) and "cheaper inner PGD: 5 steps" in record.departures
    # a run that reached its ceiling is not said to have stopped at convergence anywhere in its record
    assert not any("stopped at convergence" in d for d in record.departures) and "stopped at convergence" not in record.budget["note"]
    converged, _ = build_zoo.make_record(plan, _metadata(converged=True), "ab" * 32, None)
    assert converged.departures[0] == plan.budget and "stopped at convergence" in plan.budget
    assert "history" not in record.training and len(side["history"]) == 4


def test_diverged_or_chance_level_runs_are_not_shipped() -> None:
    assert build_zoo._unshippable(_metadata()) is None
    assert "diverged" in build_zoo._unshippable(_metadata(history=[{"train_loss": float("nan")}]))
    assert "0.107" in build_zoo._unshippable(_metadata(selected_val_clean_accuracy=0.1074))
