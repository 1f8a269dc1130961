"""Zoo records and submissions written by the leaderboard tests (shared by tests/test_leaderboard_*.py).

Records follow ``robustbench_logits.zoo.ZooRecord`` (schema 2); evaluations follow the result JSON of
docs/evaluation.md (accuracies as fractions, ``*_ci95`` intervals, indicators with severities,
escalation rounds), written here as plain dicts so the tests do not depend on how ``benchmark``
builds them.
"""

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from robustbench_logits import zoo
from robustbench_logits.leaderboard.entries import entry_from_zoo
from robustbench_logits.leaderboard.fields import interval
from robustbench_logits.models import create_model


def evaluation_dict(name: str, *, clean: float, autoattack: float | None, worst: float, adaptive: float | None = None,
                    indicators: list | None = None, n: int = 1000, eps: float = 0.3, rule: str = "seed rule R-42",
                    versions: dict | None = None, sha256: str = "0" * 64, rounds: list | None = None,
                    before: float | None = None, converged: bool | None = True) -> dict:
    """A result JSON as docs/evaluation.md documents it."""
    per_attack = {"autoattack/apgd-ce": autoattack if autoattack is not None else worst, "autoattack/square": autoattack or worst}
    attacks = [{"name": a, "kind": "pyautoattack", "category": "autoattack", "view": "model", "surrogate": None,
                "params": {"seed": 0, "n_iter": 100}, "eps": eps, "accuracy_after": value, "newly_broken": 5,
                "wall_time_s": 0.1} for a, value in per_attack.items()]
    if adaptive is not None:
        per_attack["adaptive/prehead-pgd"] = adaptive
        attacks.append({"name": "adaptive/prehead-pgd", "kind": "pgd", "category": "adaptive", "view": "prehead",
                        "surrogate": None, "params": {"steps": 40}, "eps": eps, "accuracy_after": adaptive,
                        "newly_broken": 7, "wall_time_s": 0.1})
    indicators = indicators or []
    unreliable = [i for i in indicators if i["severity"] == "unreliable"]
    base = before if before is not None else worst
    rounds = rounds or [{"name": "base", "aimed_at": [], "robust_accuracy": base, "ci95": interval(base, n),
                         "newly_broken": 0, "passes": {"forward": 100, "backward": 50}, "seconds": 1.0}]
    return {
        "model_name": name, "dataset": "mnist", "threat_model": "Linf", "eps": eps, "n_examples": n, "suite": "standard",
        "clean_acc": clean, "clean_acc_ci95": interval(clean, n),
        "autoattack_acc": autoattack, "autoattack_acc_ci95": None if autoattack is None else interval(autoattack, n),
        "adaptive_acc": adaptive, "adaptive_acc_ci95": None if adaptive is None else interval(adaptive, n),
        "worst_case_acc": worst, "worst_case_acc_ci95": interval(worst, n),
        "per_attack": per_attack, "per_attack_ci95": {k: interval(v, n) for k, v in per_attack.items()},
        "worst_case": {"accuracy": worst, "ci95": interval(worst, n), "correct": round(worst * n), "n": n,
                       "before_escalation": base, "converged": converged},
        "indicators": indicators, "unreliable": bool(unreliable),
        "flags": {i["name"]: i["message"] for i in unreliable},
        "notes": [f"{i['name']}: {i['message']}" for i in indicators if i["severity"] == "note"],
        "footnote": ("Unreliable evaluation: " + "; ".join(f"{i['name']}: {i['message']}" for i in unreliable)) if unreliable else "",
        "escalation": {"enabled": True, "converged": converged, "budget": {"max_rounds": 6, "max_cost": 0.5},
                       "spent": {"rounds": len(rounds) - 1, "cost": 0.1}, "rounds": rounds},
        "provenance": {"model": {"name": name, "weights_sha256": sha256, "weights_sha256_of": "file"},
                       "dataset": {"name": "mnist", "split": "test", "example_ranges": [[0, n - 1]]},
                       "attacks": attacks, "seeds": {"base": 0, "rule": rule}, "versions": versions or {"torch": "9.9.9"}},
    }


def make_record(directory: Path, name: str, tag: str, *, clean: float, autoattack: float | None, worst: float,
                adaptive: float | None = None, indicators: list | None = None, n: int = 1000, epochs: int = 2,
                paper_epochs: int | None = 100, rule: str = "seed rule R-42", versions: dict | None = None,
                recipe: str = "blf", paper: str = "kanai2021", baseline: bool = False, converged: bool | None = True,
                departures: list | None = None, rounds: list | None = None, before: float | None = None) -> dict:
    """Write a schema-2 zoo record (random cnn2c2f weights, an evaluation with the given numbers)."""
    torch.manual_seed(len(name))
    head = "blf" if recipe == "blf" else None
    model = create_model("cnn2c2f", num_classes=10, in_chans=1, head=head, head_kwargs={"gamma": 1.0} if head else None)
    weights = directory / f"{tag}.safetensors"
    save_file(model.state_dict(), str(weights))
    sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
    setup = {"source": "a paper, App. B", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0,
             "epochs": epochs, "batch_size": 64, "lr_milestones": [], "lr_decay": 0.1, "warmup_epochs": 0, "attack": None,
             "noise": None, "mixup": None, "hyperparameters": {"gamma": 1.0}, "notes": ["a setting note"], "budget": "b"}
    training = {"recipe_title": f"title of {recipe}", "checkpoint_rule": "best validation robust accuracy", "setup": setup,
                "paper_epochs": paper_epochs, "seed": 3, "n_train": 55000, "validation": "5000 training examples, seed 0",
                "selection": "best_val_robust", "selected_epoch": epochs, "selected_val_clean_accuracy": 0.9,
                "selected_val_robust_accuracy": 0.5, "epochs": epochs, "epochs_max": 30, "converged": converged,
                "stopped": "converged", "versions": {"torch": "8.8.8"}}
    budget = {"wall_time_seconds": 12.5, "processes": 1, "threads_per_process": 1, "core_hours": 0.003, "note": f"{epochs} test epochs"}
    evaluation = evaluation_dict(name, clean=clean, autoattack=autoattack, worst=worst, adaptive=adaptive, indicators=indicators,
                                 n=n, rule=rule, versions=versions, sha256=sha256, rounds=rounds, before=before, converged=converged)
    record = {"name": name, "tag": tag, "paper": paper, "recipe": recipe, "dataset": "mnist", "threat_model": "Linf",
              "eps": 0.3, "arch": "cnn2c2f", "num_classes": 10, "in_chans": 1, "img_size": 28, "sha256": sha256, "head": head,
              "head_kwargs": {"gamma": 1.0} if head else {}, "baseline": baseline, "departures": departures or [],
              "training": training, "budget": budget, "evaluation": evaluation, "schema": zoo.SCHEMA}
    (directory / f"{tag}.json").write_text(json.dumps(record))
    zoo.records.cache_clear()
    return record


@pytest.fixture(name="zoo_dir")
def zoo_dir_fixture(tmp_path, monkeypatch):
    """An empty zoo dir in place of the package's (records are added by make_record)."""
    directory = tmp_path / "weights"
    directory.mkdir()
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", directory)
    zoo.records.cache_clear()
    yield directory
    zoo.records.cache_clear()


def zoo_entry(zoo_dir: Path, name: str, **numbers) -> dict:
    """Write a record and derive its entry."""
    make_record(zoo_dir, name, f"cnn2c2f.{name.lower()}_mnist", **numbers)
    return entry_from_zoo(zoo.get_entry(name))


def submission_evaluation(autoattack: float, n: int = 100, eps: float = 0.3) -> dict:
    """The result JSON of a submission's evaluation."""
    return evaluation_dict("Sub", clean=0.95, autoattack=autoattack, worst=autoattack, n=n, eps=eps)


SUBMISSION = {"model_name": "Sub2026_CNN", "name": "A defense", "authors": "A. Author", "dataset": "mnist",
              "eps": 0.3, "architecture": "2C2F", "clean_acc": "95.00", "autoattack_acc": "50.00"}
