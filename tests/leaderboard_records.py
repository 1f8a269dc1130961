"""Zoo records and submissions written by the leaderboard tests (shared by tests/test_leaderboard_*.py)."""

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from robustbench_logits import zoo
from robustbench_logits.evaluate import BenchmarkResult
from robustbench_logits.leaderboard.entries import entry_from_zoo
from robustbench_logits.models import create_model
from robustbench_logits.recipes import get_recipe


def make_record(directory: Path, name: str, tag: str, *, clean: float, autoattack: float, worst: float,
                adaptive: float | None, flags: dict | None = None, n: int = 1000, epochs: int = 2,
                rule: str = "seed rule R-42", versions: dict | None = None, recipe: str = "blf") -> dict:
    """Write a zoo record (random cnn2c2f weights, a BenchmarkResult-shaped evaluation with the given numbers)."""
    torch.manual_seed(len(name))
    head = "blf" if recipe == "blf" else None
    model = create_model("cnn2c2f", num_classes=10, in_chans=1, head=head, head_kwargs={"gamma": 1.0} if head else None)
    weights = directory / f"{tag}.safetensors"
    save_file(model.state_dict(), str(weights))
    sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
    setup = get_recipe(recipe).setup("mnist", "cnn2c2f").to_dict() | {"epochs": epochs, "budget": f"{epochs} test epochs"}
    training = {"recipe": recipe, "recipe_title": f"title of {recipe}", "setup": setup, "seed": 3, "world_size": 1,
                "input_shape": [1, 28, 28], "n_train": 600, "n_eval": 10000, "checkpoint_rule": "best clean",
                "epochs": epochs, "selection": "best_clean", "selected_epoch": epochs, "selected_eval_clean_accuracy": 0.9,
                "wall_time_seconds": 12.5, "versions": {"torch": "8.8.8"}}
    per_attack = {"autoattack/apgd-ce": autoattack, "autoattack/square": autoattack}
    attacks = [{"name": a, "kind": "pyautoattack", "category": "autoattack", "view": "model", "surrogate": None,
                "params": {"seed": 0, "n_iter": 100}, "eps": 0.3, "accuracy_after": autoattack, "newly_broken": 5,
                "wall_time_s": 0.1} for a in per_attack]
    if adaptive is not None:
        per_attack["adaptive/prehead-pgd"] = adaptive
        attacks.append({"name": "adaptive/prehead-pgd", "kind": "pgd", "category": "adaptive", "view": "prehead",
                        "surrogate": None, "params": {"steps": 40}, "eps": 0.3, "accuracy_after": adaptive,
                        "newly_broken": 7, "wall_time_s": 0.1})
    provenance = {"model": {"name": name, "weights_sha256": sha256, "weights_sha256_of": "file", "has_logit_head": bool(head)},
                  "dataset": {"name": "mnist", "split": "test", "example_indices": list(range(n))},
                  "attacks": attacks, "seeds": {"base": 0, "rule": rule}, "versions": versions or {"torch": "9.9.9"}}
    evaluation = BenchmarkResult(name, "mnist", "Linf", 0.3, n, "standard", clean, autoattack, worst, adaptive,
                                 per_attack, flags or {}, provenance).to_dict()
    record = {"name": name, "tag": tag, "arch": "cnn2c2f", "dataset": "mnist", "threat_model": "Linf", "eps": 0.3,
              "num_classes": 10, "in_chans": 1, "recipe": recipe, "paper": get_recipe(recipe).paper, "sha256": sha256,
              "head": head, "head_kwargs": {"gamma": 1.0} if head else {}, "training": training, "evaluation": evaluation}
    (directory / f"{tag}.json").write_text(json.dumps(record))
    return record


@pytest.fixture(name="zoo_dir")
def zoo_dir_fixture(tmp_path, monkeypatch):
    """An empty zoo dir in place of the package's (records are added by make_record)."""
    directory = tmp_path / "weights"
    directory.mkdir()
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", directory)
    zoo._entries.cache_clear()
    yield directory
    zoo._entries.cache_clear()


def zoo_entry(zoo_dir: Path, name: str, **numbers) -> dict:
    """Write a record and derive its entry."""
    make_record(zoo_dir, name, f"cnn2c2f.{name.lower()}_mnist", **numbers)
    zoo._entries.cache_clear()
    return entry_from_zoo(zoo.get_entry(name))


def submission_evaluation(autoattack: float, n: int = 100, eps: float = 0.3) -> dict:
    """A BenchmarkResult-shaped evaluation of a submission."""
    provenance = {"model": {"weights_sha256": "0" * 64}, "dataset": {"example_indices": list(range(n))},
                  "seeds": {"base": 0, "rule": "r"}, "versions": {"torch": "1"}}
    return BenchmarkResult("Sub", "mnist", "Linf", eps, n, "standard", 0.95, autoattack, autoattack, None,
                           {}, {}, provenance).to_dict()


SUBMISSION = {"model_name": "Sub2026_CNN", "name": "A defense", "authors": "A. Author", "dataset": "mnist",
              "eps": 0.3, "architecture": "2C2F", "clean_acc": "95.00", "autoattack_acc": "50.00"}


