import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from robustbench_logits import leaderboard, zoo
from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluate import BenchmarkResult, EvaluationSuite
from robustbench_logits.leaderboard import SubmissionError
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


def _entry(zoo_dir: Path, name: str, **numbers) -> dict:
    make_record(zoo_dir, name, f"cnn2c2f.{name.lower()}_mnist", **numbers)
    zoo._entries.cache_clear()
    return leaderboard.entry_from_zoo(zoo.get_entry(name))


def test_percent_and_eps_formatting():
    assert leaderboard.percent(0.965) == "96.50"
    assert leaderboard.percent(1 / 3) == "33.33"
    assert leaderboard.percent(2 / 3) == "66.67"
    assert leaderboard.percent(1.0) == "100.00"
    assert leaderboard.percent(0.0) == "0.00"
    assert leaderboard.percent(None) is None
    assert leaderboard.format_eps(8 / 255) == "8/255"
    assert leaderboard.format_eps(0.3) == "0.3"
    assert leaderboard.format_eps(0.5) == "0.5"
    assert leaderboard.format_eps(2.0) == "2"


def test_entry_from_zoo_has_robustbench_fields_and_the_records_numbers(zoo_dir):
    from robustbench.utils import (
        ModelInfo,  # after robustbench_logits: its compat shim provides `autoattack`
    )

    entry = _entry(zoo_dir, "Alpha", clean=0.965, autoattack=0.123, worst=0.1, adaptive=0.2)
    robustbench_fields = {f.name for f in dataclasses.fields(ModelInfo)} - {
        "corruptions_acc", "corruptions_acc_3d", "corruptions_mce", "corruptions_mce_3d"}
    assert robustbench_fields <= set(entry)
    assert (entry["clean_acc"], entry["autoattack_acc"], entry["worst_case_acc"], entry["adaptive_acc"]) == (
        "96.50", "12.30", "10.00", "20.00")
    assert entry["external"] == "10.00" and entry["eps"] == "0.3" and entry["reported"] is None
    assert entry["per_attack"]["adaptive/prehead-pgd"] == "20.00"
    assert entry["weights_sha256"] == zoo.get_entry("Alpha").sha256
    assert entry["name"] == "Constraining Logits by Bounded Function for Adversarial Robustness"
    assert entry["training"]["epochs"] == 2 and entry["training"]["paper_epochs"] == 100
    assert entry["evaluation"]["example_indices"] == "0-999" and not entry["unreliable"]
    leaderboard.validate_entry(entry)  # the schema accepts what we derive


@pytest.mark.parametrize("change, field", [
    ({"clean_acc": "96.5"}, "clean_acc"),              # one decimal: not RobustBench's format
    ({"worst_case_acc": 0.1}, "worst_case_acc"),        # a number, not a percent string
    ({"weights_sha256": "abc"}, "weights_sha256"),
    ({"dataset": "imagenet"}, "dataset"),
])
def test_malformed_entries_are_rejected_naming_the_field(zoo_dir, change, field):
    entry = _entry(zoo_dir, "Alpha", clean=0.965, autoattack=0.123, worst=0.1, adaptive=0.2) | change
    with pytest.raises(SubmissionError, match=f"field '{field}': ") as error:
        leaderboard.validate_entry(entry)
    assert "\n" not in str(error.value)


def test_missing_and_unknown_fields_are_named(zoo_dir):
    entry = _entry(zoo_dir, "Alpha", clean=0.965, autoattack=0.123, worst=0.1, adaptive=0.2)
    with pytest.raises(SubmissionError, match="field 'surprise' is not allowed"):
        leaderboard.validate_entry(entry | {"surprise": 1})
    with pytest.raises(SubmissionError, match="field 'training/epochs' is missing"):
        leaderboard.validate_entry(entry | {"training": {k: v for k, v in entry["training"].items() if k != "epochs"}})
    del entry["worst_case_acc"]
    with pytest.raises(SubmissionError, match="field 'worst_case_acc' is missing"):
        leaderboard.validate_entry(entry)


def test_ranking_is_by_worst_case_not_autoattack(zoo_dir):
    # AutoAttack alone would rank Masked first; its adaptive attack breaks it.
    masked = _entry(zoo_dir, "Masked", clean=0.99, autoattack=0.80, worst=0.05, adaptive=0.05)
    honest = _entry(zoo_dir, "Honest", clean=0.90, autoattack=0.40, worst=0.40, adaptive=None)
    tie_a = _entry(zoo_dir, "TieA", clean=0.91, autoattack=0.30, worst=0.30, adaptive=None)
    tie_b = _entry(zoo_dir, "TieB", clean=0.95, autoattack=0.30, worst=0.30, adaptive=None)
    # an unreliable entry's numbers are upper bounds: listed after every reliable one, however high
    flagged = _entry(zoo_dir, "Flagged", clean=0.99, autoattack=0.90, worst=0.90, adaptive=None,
                     flags={"zero_gradients": "evidence"})
    ranked = [e["model_name"] for e in leaderboard.rank_entries([masked, flagged, tie_a, honest, tie_b])]
    assert ranked == ["Honest", "TieB", "TieA", "Masked", "Flagged"]


def test_unreliable_entry_carries_its_flags_in_the_footnote_and_table(zoo_dir, tmp_path):
    flags = {"adaptive_attack_stronger": "adaptive attacks broke 75/1000 examples (7.5%)"}
    entry = _entry(zoo_dir, "Masked", clean=0.99, autoattack=0.80, worst=0.05, adaptive=0.05, flags=flags)
    assert entry["unreliable"] is True and entry["flags"] == flags
    assert "adaptive_attack_stronger: adaptive attacks broke 75/1000 examples (7.5%)" in entry["footnote"]
    leaderboard.render_leaderboard(tmp_path / "lb")
    table = (tmp_path / "lb" / "mnist_Linf.md").read_text()
    assert "| - | Masked" in table and "| 5.00 * |" in table and entry["footnote"] in table
    assert leaderboard.FLAG_MEANINGS["adaptive_attack_stronger"] in table


def test_render_writes_tables_entries_and_a_header_from_provenance(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None,
                n=300, rule="seed rule from provenance Q7", versions={"torch": "9.9.9", "pyautoattack": "7.7.7"})
    out = tmp_path / "lb"
    (out / "entries").mkdir(parents=True)
    (out / "entries" / "Gone.json").write_text(json.dumps({"source": "zoo"}))  # a zoo model no longer shipped
    leaderboard.render_leaderboard(out)
    table = (out / "mnist_Linf.md").read_text()
    assert "300 test examples of mnist (indices 0-299)" in table
    assert "seed rule from provenance Q7" in table and "torch 9.9.9, pyautoattack 7.7.7" in table
    assert "`autoattack/apgd-ce (seed=0, n_iter=100)`" in table
    html = (out / "index.html").read_text()
    assert "seed rule from provenance Q7" in html and "<td class=\"num\">90.00</td>" in html
    assert sorted(p.name for p in (out / "entries").glob("*.json")) == ["Alpha.json"]
    leaderboard.validate_entry(json.loads((out / "entries" / "Alpha.json").read_text()))


def _submission_evaluation(autoattack: float) -> dict:
    provenance = {"model": {"weights_sha256": "0" * 64}, "dataset": {"example_indices": list(range(100))},
                  "seeds": {"base": 0, "rule": "r"}, "versions": {"torch": "1"}}
    return BenchmarkResult("Sub", "mnist", "Linf", 0.3, 100, "standard", 0.95, autoattack, autoattack, None,
                           {}, {}, provenance).to_dict()


SUBMISSION = {"model_name": "Sub2026_CNN", "name": "A defense", "authors": "A. Author", "dataset": "mnist",
              "eps": 0.3, "architecture": "2C2F", "clean_acc": "95.00", "autoattack_acc": "50.00"}


@pytest.mark.parametrize("measured, verified", [(0.49, True), (0.4899, False), (0.489, False), (0.60, True)])
def test_claim_more_than_one_point_above_the_measurement_is_marked(measured, verified):
    entry = leaderboard.entry_from_result(SUBMISSION, _submission_evaluation(measured), "evaluations/Sub2026_CNN.json")
    assert entry["claim"]["verified"] is verified
    assert entry["claim"]["autoattack_acc"] == "50.00" and entry["reported"] == "50.00"
    assert entry["autoattack_acc"] == leaderboard.percent(measured)
    assert ("Claim not reproduced" in entry["footnote"]) is (not verified)


def test_submit_remeasures_and_marks_an_inflated_claim(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    torch.manual_seed(0)
    weights = tmp_path / "sub.safetensors"
    save_file(create_model("cnn2c2f", num_classes=10, in_chans=1).state_dict(), str(weights))
    submission = tmp_path / "sub.json"
    submission.write_text(json.dumps(SUBMISSION | {"autoattack_acc": "90.00"}))
    out = tmp_path / "lb"
    entry = leaderboard.submit(submission, weights, arch="cnn2c2f", n_examples=16, leaderboard_dir=out, progress=False)
    evaluation = json.loads((out / "evaluations" / "Sub2026_CNN.json").read_text())
    assert evaluation["n_examples"] == 16
    assert evaluation["provenance"]["model"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert entry["autoattack_acc"] == leaderboard.percent(evaluation["autoattack_acc"])
    assert float(entry["autoattack_acc"]) < 89.0
    assert entry["claim"] == {"clean_acc": "95.00", "autoattack_acc": "90.00", "verified": False, "tolerance_points": 1.0}
    assert json.loads((out / "entries" / "Sub2026_CNN.json").read_text()) == entry
    # the accepted submission survives re-rendering and is listed next to the zoo model
    leaderboard.render_leaderboard(out)
    table = (out / "mnist_Linf.md").read_text()
    assert "Sub2026_CNN" in table and "90.00 (not reproduced)" in table and "Alpha" in table


def test_malformed_submissions_get_one_line_errors(zoo_dir, tmp_path):
    path = tmp_path / "sub.json"
    weights = tmp_path / "w.safetensors"
    path.write_text(json.dumps({k: v for k, v in SUBMISSION.items() if k != "autoattack_acc"}))
    with pytest.raises(SubmissionError, match="field 'autoattack_acc' is missing"):
        leaderboard.submit(path, weights, arch="cnn2c2f")
    path.write_text(json.dumps(SUBMISSION | {"clean_acc": 95}))
    with pytest.raises(SubmissionError, match="field 'clean_acc'"):
        leaderboard.submit(path, weights, arch="cnn2c2f")
    path.write_text("{not json")
    with pytest.raises(SubmissionError, match="not valid JSON"):
        leaderboard.submit(path, weights, arch="cnn2c2f")
    path.write_text(json.dumps(SUBMISSION))
    with pytest.raises(SubmissionError, match="exactly one of --arch"):
        leaderboard.submit(path, weights)
    make_record(zoo_dir, "Sub2026_CNN", "cnn2c2f.sub_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    zoo._entries.cache_clear()
    with pytest.raises(SubmissionError, match="name of a zoo model"):
        leaderboard.submit(path, weights, arch="cnn2c2f")


def test_compare_evaluates_every_model_on_identical_examples(zoo_dir, tmp_path, monkeypatch):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None, recipe="standard")
    make_record(zoo_dir, "Beta", "cnn2c2f.beta_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=0.1)
    zoo._entries.cache_clear()
    user_file = tmp_path / "my_defense.py"
    user_file.write_text("import torch\nfrom torch import nn\ntorch.manual_seed(1)\n"
                         "model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n")
    from robustbench_logits import data

    loaded = []
    real_load = data.load_dataset

    def spy(*args, **kwargs):
        loaded.append(real_load(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(data, "load_dataset", spy)
    suite = EvaluationSuite("tiny", attacks=[AttackSpec("fgsm", "fgsm")], autoattack=False, adaptive=False)
    comparison = leaderboard.compare_with_zoo(str(user_file), dataset="mnist", n_examples=16, suite=suite, progress=False)
    assert set(comparison.results) == {"my_defense", "Alpha", "Beta"} and comparison.candidate == "my_defense"
    assert len(loaded) == 3
    for x, y in loaded[1:]:
        assert torch.equal(x, loaded[0][0]) and torch.equal(y, loaded[0][1])
    for result in comparison.results.values():
        assert result["provenance"]["dataset"]["example_indices"] == list(range(16))
        assert result["provenance"]["seeds"]["base"] == 0 and result["eps"] == 0.3
    rows = comparison.rows()
    assert [float(r["worst_case_acc"]) for r in rows] == sorted((float(r["worst_case_acc"]) for r in rows), reverse=True)
    markdown = comparison.to_markdown()
    assert "**my_defense**" in markdown and "16 test examples of mnist (indices 0-15)" in markdown
