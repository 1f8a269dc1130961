"""Leaderboard ranking rules on hand-made entries (only the fields the rules read).

Best first by worst-case accuracy after escalation, then AutoAttack, then clean, then name; a
missing number ranks below every number; neighbours whose worst-case 95 % intervals overlap
(touching counts) are marked tied; entries are comparable only under one protocol key.
"""

from __future__ import annotations

from robustbench_logits.leaderboard.ranking import protocol_key, rank_entries, tied_with_previous


def _entry(name: str, worst: str | None, autoattack: str | None = "10.0", clean: str | None = "90.0") -> dict:
    return {"model_name": name, "worst_case_acc": worst, "autoattack_acc": autoattack, "clean_acc": clean}


def _names(entries: list[dict]) -> list[str]:
    return [e["model_name"] for e in entries]


def test_keys_in_order_and_missing_numbers_last() -> None:
    entries = [
        _entry("b_name", "50.0", "60.0", "95.0"),
        _entry("a_name", "50.0", "60.0", "95.0"),  # full tie: by name
        _entry("clean_higher", "50.0", "60.0", "99.0"),
        _entry("aa_higher", "50.0", "70.0", "10.0"),
        _entry("worst_higher", "55.0", "0.0", "0.0"),
        _entry("no_worst", None, "99.0", "99.0"),
        _entry("no_aa", "50.0", None, "99.9"),
        _entry("no_clean", "50.0", "60.0", None),
        _entry("low", "9.5", "99.0", "99.0"),  # numbers compare as numbers, not strings
    ]
    assert _names(rank_entries(entries)) == [
        "worst_higher", "aa_higher", "clean_higher", "a_name", "b_name", "no_clean", "no_aa", "low", "no_worst",
    ]


def test_ranking_does_not_change_its_input_and_accepts_any_iterable() -> None:
    entries = [_entry("x", "1.0"), _entry("y", "2.0")]
    assert _names(rank_entries(iter(entries))) == ["y", "x"] and _names(entries) == ["x", "y"]


def _with_interval(name: str, low: float, high: float) -> dict:
    return {**_entry(name, str((low + high) / 2)), "ci95": {"worst_case_acc": [str(low), str(high)]}}


def test_tied_marks_compare_each_entry_with_the_one_above() -> None:
    ranked = [
        _with_interval("a", 50.0, 60.0),
        _with_interval("b", 40.0, 50.0),  # touches a's lower end: tied
        _with_interval("c", 30.0, 39.9),  # below b's lower end: not tied
        _with_interval("d", 35.0, 38.0),  # inside c: tied with c
        _with_interval("e", 20.0, 34.9),  # overlaps c but not d (the one just above): not tied
    ]
    assert tied_with_previous(ranked) == [False, True, False, True, False]
    assert tied_with_previous([]) == [] and tied_with_previous(ranked[:1]) == [False]


def test_protocol_key_is_the_five_fields_in_order() -> None:
    entry = {"dataset": "mnist", "threat_model": "Linf", "eps": "0.3", "evaluation": {"suite": "standard"}, "n_examples": 1000}
    assert protocol_key(entry) == ("mnist", "Linf", "0.3", "standard", 1000)
