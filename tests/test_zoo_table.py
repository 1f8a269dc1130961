"""scripts/zoo_table.py: the zoo's tables in docs/models.md are computed from the records, and committed fresh."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from script_modules import load_script


zoo_table = load_script("zoo_table")


def test_committed_docs_match_a_fresh_render() -> None:
    text = zoo_table.DOC.read_text()
    assert zoo_table.render(text) == text, "docs/models.md is stale: run scripts/zoo_table.py"


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
