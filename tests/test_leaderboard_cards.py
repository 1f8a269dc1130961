import json

import pytest
import yaml
from huggingface_hub.repocard_data import model_index_to_eval_results
from leaderboard_records import make_record, zoo_dir_fixture  # noqa: F401  (the `zoo_dir` fixture, shared)

from robustbench_logits import zoo
from robustbench_logits.errors import WeightsError
from robustbench_logits.leaderboard import cards
from robustbench_logits.evaluation.indicators import CATALOGUE

NOTE = {"name": "black_box_beats_white_box", "severity": "note", "message": "Square broke 3 examples APGD left"}
ROUNDS = [{"name": "base", "aimed_at": [], "robust_accuracy": 0.125, "ci95": [0.0155, 0.3835], "newly_broken": 0,
           "passes": {"forward": 10, "backward": 5}, "seconds": 1.0},
          {"name": "square-x4", "aimed_at": ["black_box_beats_white_box"], "robust_accuracy": 0.0625,
           "ci95": [0.0016, 0.3023], "newly_broken": 1, "passes": {"forward": 20, "backward": 5}, "seconds": 2.0}]


def _card(zoo_dir, tmp_path, **numbers):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", **({"clean": 0.9375, "autoattack": 0.125, "worst": 0.0625,
                                                           "adaptive": 0.1875, "n": 16} | numbers))
    path = next(p for p in cards.render_all(tmp_path / "cards") if p.suffix == ".md")
    return path, path.read_text()


def test_card_holds_the_records_numbers_intervals_sha256_and_loading_code(zoo_dir, tmp_path):
    path, card = _card(zoo_dir, tmp_path, indicators=[NOTE], rounds=ROUNDS)
    record = zoo.get_entry("Alpha")
    assert path == tmp_path / "cards" / "mnist" / "Alpha.md"
    for text in ("| clean accuracy | 93.75 % | [69.77, 99.84] |", "| AutoAttack accuracy | 12.50 % | [1.55, 38.35] |",
                 "| **worst-case accuracy** (after escalation) | **6.25 %** | [0.16, 30.23] |",
                 "| verdict | reliable, with notes | |", "| `adaptive/prehead-pgd` | adaptive | 18.75 | 7 |",
                 record.sha256, "`cnn2c2f.alpha_mnist`", "`blf` (gamma = 1.0)",
                 'load_model(model_name="Alpha", dataset="mnist", threat_model="Linf")',
                 'timm.create_model("cnn2c2f.alpha_mnist", pretrained=True)',
                 "| seed / processes | 3 / 1 |", "wall time 12 s", "torch 8.8.8", "| epochs | 2 of at most 30 (paper setting: 100) |",
                 "16 test examples of mnist (indices 0-15)", "Sekitoshi Kanai", "AAAI 2021",
                 "| square-x4 | black_box_beats_white_box | 6.25 | [0.16, 30.23] | 1 | 20 / 5 | 2.0 |",
                 f"`black_box_beats_white_box` (note): {NOTE['message']}", "notes (the reported worst case already includes"):
        assert text in card, text
    # the adaptive attacks restart from every clean-correct example: the table says so where their cascade begins
    marker = card.index("| *adaptive cascade, again from clean (93.75)* | | | |")
    assert card.index("| `autoattack/") < marker < card.index("| `adaptive/prehead-pgd` |")
    assert "second cascade that starts again from every clean-correct example" in card


def test_front_matter_is_a_hugging_face_model_index_with_values_and_intervals(zoo_dir, tmp_path):
    _, card = _card(zoo_dir, tmp_path)
    assert card.startswith("---\n")
    metadata = yaml.safe_load(card.split("---\n")[1])
    assert metadata["library_name"] == "timm" and metadata["datasets"] == ["mnist"]
    name, results = model_index_to_eval_results(metadata["model-index"])  # how the Hub reads it
    assert name == "Alpha"
    by_metric = {r.metric_name: r for r in results}
    worst = by_metric["worst-case accuracy after escalation"]
    assert (worst.task_type, worst.dataset_type, worst.dataset_split) == ("image-classification", "mnist", "test")
    assert worst.metric_value == 6.25 and worst.metric_args["ci95"] == [0.16, 30.23] and worst.metric_config == "Linf eps=0.3"
    assert by_metric["clean accuracy"].metric_value == 93.75 and by_metric["clean accuracy"].metric_args["ci95"] == [69.77, 99.84]
    assert set(by_metric) == {"clean accuracy", "AutoAttack (standard) accuracy", "adaptive-attack accuracy",
                              "worst-case accuracy after escalation"}


def test_limitations_are_derived_from_the_record(zoo_dir, tmp_path):
    _, card = _card(zoo_dir, tmp_path, converged=False, departures=["LAA weight 0.01 instead of the paper's 15"])
    limits = card.split("## Limitations")[1].split("## How to load")[0]
    assert "Trained for 2 of the 100 epochs" in limits
    assert "had not converged" in limits and "LAA weight 0.01 instead of the paper's 15" in limits
    assert "worst case's 95 % interval is [0.16, 30.23] %" in limits and "Setting note: a setting note" in limits
    assert "unreliable" not in limits


def test_unreliable_card_explains_each_indicator(zoo_dir, tmp_path):
    indicator = {"name": "zero_gradients", "severity": "unreliable", "message": "zero input gradient on 5/16 examples"}
    _, card = _card(zoo_dir, tmp_path, indicators=[indicator], converged=False)
    assert "### Indicators: the evaluation is unreliable" in card and "| verdict | unreliable | |" in card
    assert f"`zero_gradients` (unreliable): {indicator['message']}. *Meaning:* {CATALOGUE['zero_gradients'].meaning}." in card
    assert "may still overestimate robustness" in card and "**6.25 %** *" in card


def test_render_all_removes_only_generated_cards_of_models_no_longer_shipped(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.1, worst=0.1)
    out = tmp_path / "cards"
    (out / "mnist").mkdir(parents=True)
    (out / "mnist" / "Gone.md").write_text("---\nx: 1\n---\n# Model card: Gone\n\n" + cards.GENERATED_MARK + " -->\n")
    (out / "README.md").write_text("# Cards\n")  # hand-written: never removed
    (out / "mnist" / "Gone.svg").write_text("<svg><dc:description>" + cards.GENERATED_MARK + "</dc:description></svg>")
    (out / "mine.svg").write_text("<svg/>")
    assert sorted(p.name for p in cards.render_all(out)) == ["Alpha.md", "Alpha.svg"]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.*")) == ["README.md", "mine.svg", "mnist/Alpha.md", "mnist/Alpha.svg"]


def test_card_refuses_an_evaluation_of_other_weights(zoo_dir, tmp_path):
    record = make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.1, worst=0.1)
    record["evaluation"]["provenance"]["model"]["weights_sha256"] = "f" * 64
    (zoo_dir / "cnn2c2f.alpha_mnist.json").write_text(json.dumps(record))
    zoo.records.cache_clear()
    with pytest.raises(WeightsError, match="other weights"):
        cards.render_all(tmp_path / "cards")


def test_card_plots_the_learning_curve_and_escalation_deterministically(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9375, autoattack=0.125, worst=0.0625, n=16, rounds=ROUNDS)
    history = [{"epoch": e, "train_accuracy": 0.5 + e / 20, "val_clean_accuracy": 0.6 + e / 20, "val_robust_accuracy": 0.1 * e}
               for e in range(1, 6)]
    (zoo_dir / "cnn2c2f.alpha_mnist.details.json").write_text(json.dumps({"history": history, "evaluation": {}}))
    first = {p.name: p.read_bytes() for p in cards.render_all(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in cards.render_all(tmp_path / "b")}
    assert first == second  # regenerating an unchanged record changes no byte
    svg = first["Alpha.svg"].decode()
    for title in ("learning curve", "escalation (95 % intervals)", "validation PGD", "validation clean", "square-x4"):
        assert f"<!-- {title} -->" in svg, title  # matplotlib labels each drawn text with a comment
    assert svg.startswith("<?xml") and cards.GENERATED_MARK in svg
    assert "![Learning curve (validation accuracies per epoch) and escalation curve" in first["Alpha.md"].decode()
    assert "(Alpha.svg)" in first["Alpha.md"].decode()


def test_shipped_cards_quote_the_current_convergence_rule_and_describe_the_validation_split():
    for record in zoo.records():
        lines = cards.model_card(record).splitlines()
        converged = next(line for line in lines if line.startswith("| converged |"))
        assert zoo.CONVERGENCE_RULE in converged, record.tag
        validation = next(line for line in lines if line.startswith("| validation split |"))
        assert "{" not in validation and ("held out of training" in validation or "test split" in validation), record.tag


def test_cards_name_the_attack_that_scored_the_validation_split():
    attacks = {}
    for record in zoo.records():
        selection = next(line for line in cards.model_card(record).splitlines() if line.startswith("| selection |"))
        attacks[record.tag] = cards.validation_attack(record)
        if record.training.get("selected_val_robust_accuracy") is not None:
            assert f", {attacks[record.tag]} accuracy " in selection, record.tag
    assert attacks["cnn4c3f.lma_at_mnist"] == "APGD-CE" and attacks["cnn4c3f.pgd_at_mnist"] == "PGD-10"
