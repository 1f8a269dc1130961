import json

import pytest
from leaderboard_records import make_record, zoo_dir_fixture  # noqa: F401  (the `zoo_dir` fixture, shared)

from robustbench_logits import zoo
from robustbench_logits.errors import WeightsError
from robustbench_logits.leaderboard import cards
from robustbench_logits.leaderboard.fields import FLAG_MEANINGS


def test_card_holds_the_records_numbers_sha256_and_loading_code(zoo_dir, tmp_path):
    record = make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.965, autoattack=0.123, worst=0.1,
                         adaptive=0.2, n=16, epochs=2)
    [path] = cards.render_all(tmp_path / "cards")
    card = path.read_text()
    assert path.name == "Alpha.md"
    for text in ("| clean accuracy | 96.50 % |", "| AutoAttack accuracy | 12.30 % |", "| worst-case accuracy | 10.00 % |",
                 "| adaptive-attack accuracy | 20.00 % |", "| `adaptive/prehead-pgd` | adaptive | 20.00 | 7 |",
                 record["sha256"], "`cnn2c2f.alpha_mnist`", "`blf` (gamma = 1.0)",
                 'load_model("Alpha", dataset="mnist", threat_model="Linf")',
                 'timm.create_model("cnn2c2f.alpha_mnist", pretrained=True)',
                 "| seed / processes | 3 / 1 |", "| wall time | 12 s |", "torch 8.8.8",
                 "16 test examples of mnist (indices 0-15)", "No gradient-masking flag fired"):
        assert text in card, text


def test_limitations_are_derived_from_the_record(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.1, worst=0.1, adaptive=0.1, n=16, epochs=2)
    card = cards.render_all(tmp_path / "cards")[0].read_text()
    limits = card.split("## Limitations")[1].split("## How to load")[0]
    assert "Trained for 2 of the 100 epochs" in limits          # blf's paper setting: Kanai App. B.2, 100 epochs
    assert "selected by clean accuracy on the first 10000 test examples" in limits
    # 95 % interval half-width at p = 1/2: 1.96 * sqrt(0.25 / 16) = 0.245
    assert "+/- 24.5 points" in limits
    assert "unreliable" not in limits


def test_unreliable_card_explains_each_flag(zoo_dir, tmp_path):
    flags = {"zero_gradients": "the CE loss has an exactly zero input gradient on 5/16 examples (31.2%)"}
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.5, worst=0.5, adaptive=None, flags=flags)
    card = cards.render_all(tmp_path / "cards")[0].read_text()
    assert "Flags: the evaluation is unreliable" in card
    assert f"`zero_gradients`: {flags['zero_gradients']}. *Meaning:* {FLAG_MEANINGS['zero_gradients']}." in card
    assert "(unreliable: see flags)" in card and "upper bounds at best" in card


def test_render_all_removes_cards_of_models_no_longer_shipped(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.1, worst=0.1, adaptive=None)
    out = tmp_path / "cards"
    out.mkdir()
    (out / "Gone.md").write_text("# Model card: Gone\n\n" + cards.GENERATED_MARK + " (robustbench_logits.cards) -->\n")
    (out / "README.md").write_text("# Cards\n")  # hand-written: never removed
    assert [p.name for p in cards.render_all(out)] == ["Alpha.md"]
    assert sorted(p.name for p in out.glob("*.md")) == ["Alpha.md", "README.md"]


def test_card_refuses_an_evaluation_of_other_weights(zoo_dir, tmp_path):
    record = make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.1, worst=0.1, adaptive=None)
    record["evaluation"]["provenance"]["model"]["weights_sha256"] = "f" * 64
    (zoo_dir / "cnn2c2f.alpha_mnist.json").write_text(json.dumps(record))
    zoo._entries.cache_clear()
    with pytest.raises(WeightsError, match="other weights"):
        cards.render_all(tmp_path / "cards")
