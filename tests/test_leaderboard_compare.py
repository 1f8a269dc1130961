import torch
from leaderboard_records import make_record, zoo_dir_fixture  # noqa: F401

from robustbench_logits import zoo
from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluation import EvaluationSuite
from robustbench_logits.leaderboard import compare as leaderboard


def test_compare_evaluates_every_model_on_identical_examples(zoo_dir, tmp_path, monkeypatch):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None, recipe="standard")
    make_record(zoo_dir, "Beta", "cnn2c2f.beta_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=0.1)
    zoo.records.cache_clear()
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
