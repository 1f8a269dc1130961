"""Equal-budget groups: which records form one, and the paired test between its models."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scipy.stats import binomtest

from robustbench_logits import zoo
from robustbench_logits.leaderboard import equal_budget
from robustbench_logits.leaderboard.equal_budget import equal_budget_groups
from robustbench_logits.leaderboard.templating import render_template


def _record(tag: str, worst: float, *, note: str = "30 epochs of PGD-5", epochs: int = 30, min_epochs: int | None = None,
            n: int = 10, arch: str = "cnn4c3f") -> zoo.ZooRecord:
    evaluation = {"suite": "standard", "n_examples": n, "clean_acc": 0.99, "clean_acc_ci95": [0.9, 1.0],
                  "autoattack_acc": worst, "autoattack_acc_ci95": [0.1, 0.9], "worst_case_acc": worst,
                  "worst_case_acc_ci95": [0.1, 0.9]}
    return zoo.ZooRecord(name=tag.split(".")[1], tag=tag, paper="madry2018", recipe="pgd-at", dataset="mnist",
                         threat_model="Linf", eps=0.3, arch=arch, num_classes=10, in_chans=1, img_size=28, sha256="0" * 64,
                         training={"setup": {"min_epochs": min_epochs}, "epochs": epochs, "selected_epoch": 21},
                         budget={"note": note, "core_hours": 2.0}, evaluation=evaluation)


def test_only_fixed_length_runs_of_one_budget_and_protocol_group_together() -> None:
    a, b = _record("cnn4c3f.a", 0.9), _record("cnn4c3f.b", 0.8)
    others = [_record("cnn4c3f.early", 0.95, min_epochs=8),  # early-stopped: its budget is a ceiling
              _record("cnn4c3f.shorter", 0.7, epochs=20),  # ran fewer epochs
              _record("cnn4c3f.other_n", 0.7, n=20),  # another protocol
              _record("cnn2c2f.other_arch", 0.7, arch="cnn2c2f"),
              _record("cnn4c3f.other_budget", 0.7, note="10 epochs")]
    groups = equal_budget_groups(records=[b, *others, a])
    assert [[r.tag for r in g.records] for g in groups] == [["cnn4c3f.a", "cnn4c3f.b"]]  # ranked by worst case
    assert equal_budget_groups(records=[a, others[0]]) == []
    assert equal_budget_groups(dataset="fashion_mnist", records=[a, b]) == []


def test_pairs_are_the_exact_two_sided_mcnemar_test_on_the_shared_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = {"cnn4c3f.a": {i: i < 9 for i in range(10)},  # keeps 0-8
            "cnn4c3f.b": {i: 1 <= i < 10 for i in range(10)} | {i: i in (2, 3) for i in range(2, 8)}}  # keeps 1, 2, 3, 8, 9
    monkeypatch.setattr(equal_budget.zoo, "robust_by_example", lambda tag: kept[tag])
    group, = equal_budget_groups(records=[_record("cnn4c3f.b", 0.5), _record("cnn4c3f.a", 0.9)])
    pair, = group.pairs()
    only_a, only_b = 5, 1  # a alone: 0, 4, 5, 6, 7; b alone: 9
    assert (pair["better"], pair["worse"], pair["only_better"], pair["only_worse"]) == ("a", "b", only_a, only_b)
    assert pair["difference_points"] == pytest.approx(40.0)
    assert pair["p"] == pytest.approx(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    assert pair["significant"] is False  # 5 against 1 is within chance


def test_the_section_renders_every_model_and_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = {"cnn4c3f.a": {i: True for i in range(10)}, "cnn4c3f.b": {i: False for i in range(10)},
            "cnn4c3f.c": {i: i < 5 for i in range(10)}}
    monkeypatch.setattr(equal_budget.zoo, "robust_by_example", lambda tag: kept[tag])
    records = [_record("cnn4c3f.a", 1.0), _record("cnn4c3f.b", 0.0), replace(_record("cnn4c3f.c", 0.5), recipe="trades")]
    group, = equal_budget_groups(records=records)
    text = render_template("_equal_budget.md.j2", group=group)
    assert "3 models of mnist" in text and "30 epochs of PGD-5" in text
    assert "| a (`cnn4c3f.a`) | `pgd-at` | 2.0 | 21 | 99.00 [90.00, 100.00] |" in text
    assert "| a | b | 10 | 0 | +100.0 | 0.002 | more robust |" in text
    assert "| c | b | 5 | 0 | +50.0 | 0.062 | tied at this n |" in text


def test_an_unreliable_worst_case_is_marked_with_its_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(equal_budget.zoo, "robust_by_example", lambda tag: {i: True for i in range(10)})
    masked = _record("cnn4c3f.masked", 0.03)
    masked = replace(masked, evaluation={**masked.evaluation, "unreliable": True,
                                         "flags": {"escalation_not_converged": "the last round broke 12"}})
    group, = equal_budget_groups(records=[_record("cnn4c3f.a", 0.9), masked])
    text = render_template("_equal_budget.md.j2", group=group)
    assert "| **3.00** * [10.00, 90.00] | unreliable: escalation_not_converged |" in text
    assert "| **90.00** [10.00, 90.00] | reliable |" in text
