"""result.py and indicators.grade: two severities; only `unreliable` makes a result unreliable,
notes are kept and shown."""

from __future__ import annotations

from robustbench_logits.evaluation.indicators import CATALOGUE, Indicator, grade
from robustbench_logits.evaluation.result import BenchmarkResult


def _result(*indicators: Indicator) -> BenchmarkResult:
    return BenchmarkResult("m", "mnist", "Linf", 0.3, 100, "standard", 0.99, 0.6, 0.58, None, {"a": 0.6},
                           [i.to_dict() for i in indicators], {"clean_acc": [0.9, 1.0], "worst_case_acc": [0.5, 0.7]},
                           {"ci95": [0.5, 0.7]}, {"rounds": [{"name": "base"}]})


def test_a_converged_comparison_is_a_note_and_the_result_stays_reliable() -> None:
    square = Indicator("black_box_beats_white_box", 7, 0.05, [1, 2], "Square broke 7", 0.008)
    grade([square], escalation_enabled=True, converged=True, replaced_gradients=False, large_eps_fixed=False)
    result = _result(square)
    assert square.severity == "note" and not result.unreliable and result.flags == {} and result.footnote == ""
    assert result.notes == ["black_box_beats_white_box: Square broke 7"]
    assert result.to_dict()["indicators"][0]["source"] == CATALOGUE["black_box_beats_white_box"].source


def test_unreliable_when_not_converged_escalation_off_or_gradients_not_replaced() -> None:
    for enabled, converged, replaced in [(True, False, True), (False, None, True), (True, True, False)]:
        zero = Indicator("zero_gradients", 0.5, 0.01, [0], "zero")
        grade([zero], escalation_enabled=enabled, converged=converged, replaced_gradients=replaced,
              large_eps_fixed=True)
        assert zero.severity == "unreliable"
        result = _result(zero)
        assert result.unreliable and result.flags == {"zero_gradients": "zero"} and "zero" in result.footnote


def test_batch_dependence_and_rescoring_are_always_unreliable() -> None:
    for name in ("batch_size_dependence", "rescore_mismatch", "escalation_not_converged"):
        indicator = Indicator(name, 1, 0, [0], "x")
        grade([indicator], escalation_enabled=True, converged=True, replaced_gradients=True, large_eps_fixed=True)
        assert indicator.severity == "unreliable"
    large = Indicator("large_eps_not_broken", 0.4, 0.05, [0], "x")
    grade([large], escalation_enabled=True, converged=True, replaced_gradients=True, large_eps_fixed=False)
    assert large.severity == "unreliable"


def test_the_table_and_the_curve_show_intervals() -> None:
    result = _result()
    rows = dict((r[0], r[2]) for r in result.table())
    assert rows["clean"] == "[90.0%, 100.0%]" and rows["worst case"] == "[50.0%, 70.0%]"


def test_one_unreliable_indicator_among_notes_makes_the_result_unreliable() -> None:
    note = Indicator("black_box_beats_white_box", 5, 0.05, [1], "m", severity="note")
    bad = Indicator("zero_gradients", 0.5, 0.01, [2], "z", severity="unreliable")
    assert not _result(note).unreliable and _result(note).flags == {}
    mixed = _result(note, bad)
    assert mixed.unreliable and mixed.flags == {"zero_gradients": "z"}
    assert mixed.notes == ["black_box_beats_white_box: m"]
    assert not _result().unreliable
