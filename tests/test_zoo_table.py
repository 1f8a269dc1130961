"""scripts/zoo_table.py: the zoo's tables in docs/models.md are computed from the records, and committed fresh."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from script_modules import load_script


zoo_table = load_script("zoo_table")


@pytest.mark.parametrize("doc", sorted(zoo_table.DOC_BLOCKS, key=str))
def test_committed_docs_match_a_fresh_render(doc) -> None:  # noqa: ANN001
    text = doc.read_text()
    assert zoo_table.render(text, doc) == text, f"{doc.name} is stale: run scripts/zoo_table.py"


def test_compute_curve_reports_the_best_validation_accuracy_within_each_share_of_the_core_hours(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def record(tag: str, attack: dict | None, processes: int, val: str = "PGD-10") -> SimpleNamespace:
        return SimpleNamespace(tag=tag, name=tag.upper(), recipe="pgd-at", dataset="mnist", arch="cnn4c3f",
                               evaluation={"autoattack_acc": 0.9, "autoattack_acc_ci95": [0.88, 0.92],
                                           "worst_case_acc": 0.89, "worst_case_acc_ci95": [0.87, 0.91]},
                               training={"setup": {"attack": attack}, "validation": {"attack": f"{val}, 20 steps"}},
                               budget={"processes": processes})

    pgd5 = {"steps": 5, "eps_warmup_epochs": 3.0}
    histories = {  # 4 epochs of 900 CPU seconds (1 core-hour in all), and a run without CPU time: 2 processes x 450 s
        "a": [{"cpu_seconds": 900, "val_robust_accuracy": v} for v in (0.2, 0.6, 0.5, 0.7)],
        "b": [{"seconds": 450, "val_robust_accuracy": v} for v in (0.3, 0.4, 0.8, 0.1)],
    }
    monkeypatch.setattr(zoo_table.zoo, "records", lambda: (record("a", pgd5, 1), record("b", pgd5, 2, "APGD-CE"),
                                                               record("st", None, 1)))
    monkeypatch.setattr(zoo_table.zoo, "details", lambda tag: {"history": histories[tag]})
    rows = zoo_table.compute_curve().splitlines()
    assert len(rows) == 4  # header, rule, the two adversarially trained models (not the standard one)
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]
    assert cells[0][:10] == ["A", "cnn4c3f", "PGD-5, eps ramp 3 ep", "4", "1.00", "PGD-10", "20.0", "60.0", "60.0", "70.0"]
    assert cells[1][4:10] == ["1.00", "APGD-CE", "30.0", "40.0", "80.0", "80.0"]  # best so far: the last epoch's 10 % is not shown
    assert cells[0][10:] == ["90.0 [88.0, 92.0]", "89.0 [87.0, 91.0]"]


def test_versus_baseline_pairs_the_shared_examples_and_tests_the_discordant_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    def record(tag: str, recipe: str) -> SimpleNamespace:
        return SimpleNamespace(tag=tag, name=tag.upper(), recipe=recipe, dataset="mnist", arch="cnn2c2f", evaluation={"n_examples": 1},
                               training={"setup": {"attack": None}})

    outcomes = {  # the baseline was evaluated on examples 0-7, the challenger on 0-5 and 9: 6 are shared
        "base": (list(range(8)), ["robust", "robust", "fgsm", "robust", "clean_error", "fgsm", "robust", "robust"]),
        "chal": ([*range(6), 9], ["robust", "fgsm", "robust", "robust", "robust", "robust", "robust"]),
    }
    monkeypatch.setattr(zoo_table.zoo, "records", lambda: (record("base", "standard"), record("chal", "blf")))
    monkeypatch.setattr(zoo_table.zoo, "details", lambda tag: {"evaluation": dict(zip(("example_indices", "per_example"), outcomes[tag]))})
    rows = zoo_table.versus("standard").splitlines()
    assert len(rows) == 3  # header, rule, one row: the baseline is not compared with itself
    cells = [c.strip() for c in rows[2].strip("|").split("|")]
    # shared 0-5: challenger keeps 0, 2, 3, 4, 5 (5 of 6), baseline keeps 0, 1, 3 (3 of 6);
    # only the challenger: 2, 4, 5; only the baseline: 1
    assert cells[2:] == ["CHAL", "blf", "6", "83.3", "50.0", "3 / 1", f"{zoo_table.mcnemar_p(3, 1):.2g}"]
    assert zoo_table.mcnemar_p(3, 1) == pytest.approx(0.625)
    assert len(zoo_table.versus("standard", adversarial_only=True).splitlines()) == 2  # the challenger has no inner attack
