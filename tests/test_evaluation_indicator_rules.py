"""The indicator rules, grading and escalation order on hand-built outcomes (no model, no attack).

`test_evaluation_indicators.py` fires each indicator on a model built to trigger it; this file pins
each rule's arithmetic: the threshold (one example below the first significant count: quiet; at it: fired), who counts (a
clean error never does), the statistic, the example list and the exact p-value written out. They
run in milliseconds, so mutation testing of the evaluation package gets a verdict per mutant fast.
"""

from __future__ import annotations

import pytest

from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluation.escalation import FAMILIES, Ladders, next_family
from robustbench_logits.evaluation.indicators import CATALOGUE, Indicator, compute_indicators, grade
from robustbench_logits.evaluation.statistics import share_exceeds_p
from robustbench_logits.evaluation.suite import DiagnosticThresholds

N = 100
TH = DiagnosticThresholds()  # alpha 0.05, zero_grad 1 %, unstable 5 %, incomplete 10 %, large eps 5 %
PGD = AttackSpec("pgd-40", "pgd", category="white_box")
LONG = AttackSpec("pgd-200x2", "pgd", category="long")
FGSM = AttackSpec("fgsm", "fgsm", category="single_step")
SQUARE = AttackSpec("square", "square", category="black_box")
TRANSFER = AttackSpec("transfer/pgd-40", "pgd", category="transfer")
ADAPTIVE = [AttackSpec("adaptive/pgd-40", "pgd", category="adaptive")]


def outcomes(n: int = N, **set_true: list[int]) -> dict[str, list]:
    """Every example clean-correct, left robust by every attack, every probe quiet; then the flags
    named in ``set_true`` switched on at the given example indices."""
    merged: dict[str, list] = {"correct": [True] * n, "broken_by": [-1] * n, "adaptive_broken_by": [-1] * n}
    for key in ("zero_grad", "unstable", "trace_ever", "trace_final", "incomplete", "large_eps_correct",
                "noise_broken", "randomised", "probabilities", "batch_dependent"):
        merged[key] = [False] * n
    for key, indices in set_true.items():
        for i in indices:
            merged[key][i] = True
    return merged


def fired(merged: dict[str, list], cascade: list[AttackSpec] = (), adaptive: list[AttackSpec] = ()) -> dict[str, Indicator]:
    return {i.name: i for i in compute_indicators(merged, list(cascade), list(adaptive), TH, 1.0)}


def test_a_clean_evaluation_fires_nothing():
    assert fired(outcomes(), [PGD, FGSM, LONG, SQUARE, TRANSFER], ADAPTIVE) == {}


@pytest.mark.parametrize("key, name, first, p_below, p_at", [
    # the exact one-sided binomial test of k in 100 against the threshold share, written out:
    # 1 %: P(X >= 3) = 0.0794, P(X >= 4) = 0.0184; 5 %: P(X >= 9) = 0.0631, P(X >= 10) = 0.0282
    ("zero_grad", "zero_gradients", 4, 0.0794, 0.0184),
    ("unstable", "unstable_predictions", 10, 0.0631, 0.0282),
    ("large_eps_correct", "large_eps_not_broken", 10, 0.0631, 0.0282),
])
def test_share_rules_fire_once_the_share_is_significantly_above_the_threshold(key, name, first, p_below, p_at):
    assert name not in fired(outcomes(**{key: list(range(first - 1))}))
    found = fired(outcomes(**{key: list(range(first))}))[name]
    assert found.statistic == pytest.approx(first / N)
    assert found.examples == list(range(first))
    assert found.p_value == pytest.approx(p_at, abs=1e-4)
    assert f"p = {p_at:.2g}" in found.message
    assert share_exceeds_p(first - 1, N, found.threshold) == pytest.approx(p_below, abs=1e-4)


def test_a_share_rule_needs_p_strictly_below_alpha_and_survives_an_empty_denominator():
    # k = n = 2 against a share of 0.5: p = 0.5 ** 2 = 0.25 exactly
    th = DiagnosticThresholds(unstable_share=0.5, alpha=0.25)
    assert not compute_indicators(outcomes(2, unstable=[0, 1]), [], [], th, 1.0)
    th = DiagnosticThresholds(unstable_share=0.5, alpha=0.2500001)
    assert [i.name for i in compute_indicators(outcomes(2, unstable=[0, 1]), [], [], th, 1.0)] == ["unstable_predictions"]
    # the trace PGD broke every example: nothing left robust, no incomplete-optimisation share to test
    assert share_exceeds_p(0, 0, 0.1) == 1.0
    assert "incomplete_optimisation" not in fired(outcomes(trace_final=list(range(N))))


def test_one_example_in_sixteen_is_not_evidence_of_a_five_percent_share():
    # the false alarm that started an EOT round in the harness benchmark (issue 13): 1/16 = 6.25 % > 5 %
    assert "unstable_predictions" not in fired(outcomes(16, unstable=[3]))
    assert "unstable_predictions" not in fired(outcomes(16, unstable=[3, 4]))  # P(X >= 2) = 0.19
    assert "unstable_predictions" in fired(outcomes(16, unstable=[3, 4, 5]))  # P(X >= 3) = 0.043


def test_probabilities_rule_fires_past_half_of_the_examples():
    # a structural check (logits or probabilities), not an estimated share: a plain majority
    assert "probabilities_output" not in fired(outcomes(probabilities=list(range(50))))
    found = fired(outcomes(probabilities=list(range(51))))["probabilities_output"]
    assert (found.statistic, found.examples) == (0.51, list(range(51)))


def test_zero_gradients_count_only_clean_correct_examples():
    merged = outcomes(zero_grad=[0, 1, 2, 3, 4])
    merged["correct"][0] = merged["correct"][1] = False  # a clean error's zero gradient says nothing
    assert "zero_gradients" not in fired(merged)  # 3/100 left: p = 0.079
    merged["correct"][1] = True
    assert fired(merged)["zero_gradients"].examples == [1, 2, 3, 4]


def test_any_randomised_or_batch_dependent_example_fires():
    randomised = fired(outcomes(randomised=[3]))["randomised_forward"]
    assert (randomised.statistic, randomised.examples) == (1 / N, [3])
    batch = fired(outcomes(batch_dependent=[7]))["batch_size_dependence"]
    assert (batch.statistic, batch.examples) == (1, [7])


def test_silent_success_needs_five_examples_by_the_sign_test():
    # one-sided sign test with no discordance the other way: p = 0.5 ** k; 0.5 ** 4 = 0.0625, 0.5 ** 5 = 0.03125
    four = outcomes(trace_ever=[0, 1, 2, 3])
    assert "silent_success" not in fired(four)
    five = fired(outcomes(trace_ever=[0, 1, 2, 3, 4]))["silent_success"]
    assert five.p_value == pytest.approx(0.03125)
    assert five.examples == [0, 1, 2, 3, 4]


def test_silent_success_ignores_examples_an_attack_broke_or_the_trace_ended_adversarial():
    merged = outcomes(trace_ever=[0, 1, 2, 3, 4, 5])
    merged["broken_by"][0] = 0  # the cascade broke it: not silent
    merged["adaptive_broken_by"][1] = 0  # an adaptive attack broke it: not silent
    assert "silent_success" not in fired(merged, [PGD], ADAPTIVE)  # 4 left
    merged["trace_final"][5] = True
    merged["trace_ever"][6] = True
    assert "silent_success" not in fired(merged, [PGD], ADAPTIVE)  # 2, 3, 4, 6: still 4


def test_incomplete_optimisation_is_a_share_of_the_examples_the_trace_left_robust():
    # 50 examples the trace PGD broke (trace_final), 50 it left: against 10 % of 50, P(X >= 9) = 0.058, P(X >= 10) = 0.025
    broke = list(range(50, 100))
    nine = list(range(9))
    assert "incomplete_optimisation" not in fired(outcomes(trace_final=broke, incomplete=nine))
    found = fired(outcomes(trace_final=broke, incomplete=nine + [9]))["incomplete_optimisation"]
    assert found.statistic == pytest.approx(10 / 50)
    assert found.examples == list(range(10))
    assert found.p_value == pytest.approx(0.0245, abs=1e-4)
    # a rising loss on an example the trace already broke does not count
    assert "incomplete_optimisation" not in fired(outcomes(trace_final=broke, incomplete=nine + [50, 51]))


def broken_by(positions: dict[int, list[int]]) -> dict[str, list]:
    merged = outcomes()
    for position, examples in positions.items():
        for i in examples:
            merged["broken_by"][i] = position
    return merged


@pytest.mark.parametrize("later, name", [
    (FGSM, "single_step_beats_iterative"),
    (LONG, "more_iterations_still_lowering"),
    (SQUARE, "black_box_beats_white_box"),
    (TRANSFER, "transfer_beats_white_box"),
])
def test_a_later_attack_breaking_five_left_robust_by_the_white_box_fires(later, name):
    assert name not in fired(broken_by({0: [10, 11], 1: [0, 1, 2, 3]}), [PGD, later])
    found = fired(broken_by({0: [10, 11], 1: [0, 1, 2, 3, 4]}), [PGD, later])[name]
    assert found.p_value == pytest.approx(0.03125)
    assert found.examples == [0, 1, 2, 3, 4]
    assert "broke 5 left robust by pgd-40" in found.message


@pytest.mark.parametrize("later, name", [(FGSM, "single_step_beats_iterative"), (SQUARE, "black_box_beats_white_box")])
def test_a_comparison_needs_a_white_box_attack_before_it(later, name):
    assert name not in fired(broken_by({0: [0, 1, 2, 3, 4, 5]}), [later, PGD])


def test_black_box_counts_every_earlier_gradient_attack_and_sums_across_attacks():
    # fgsm (single step) and pgd-200x2 (long) are both "before" Square; Square's 3 + a second black box's 2 = 5
    other = AttackSpec("spsa", "spsa", category="black_box")
    found = fired(broken_by({3: [0, 1, 2], 4: [3, 4]}), [PGD, FGSM, LONG, SQUARE, other])["black_box_beats_white_box"]
    assert found.examples == [0, 1, 2, 3, 4]
    assert "pgd-40, fgsm, pgd-200x2" in found.message


def test_noise_beats_white_box_is_an_exact_mcnemar_test():
    # b = 5 noise-only breaks, c = 0: p = 0.5 ** 5; with c = 5 attack-only breaks: P(X >= 5 | 10, 0.5) = 638 / 1024
    merged = outcomes(noise_broken=[0, 1, 2, 3, 4])
    assert fired(merged)["noise_beats_white_box"].p_value == pytest.approx(0.03125)
    for i in range(10, 15):
        merged["broken_by"][i] = 0
    assert "noise_beats_white_box" not in fired(merged, [PGD])
    merged["noise_broken"][10] = True  # the attack and the noise both broke it: not discordant
    assert "noise_beats_white_box" not in fired(merged, [PGD])


def test_adaptive_beats_standard_is_an_exact_mcnemar_test_and_needs_adaptive_attacks():
    merged = outcomes()
    for i in range(6):
        merged["adaptive_broken_by"][i] = 0  # b = 6 adaptive-only breaks
    assert "adaptive_beats_standard" not in fired(merged, [PGD], [])  # no adaptive attack ran
    found = fired(merged, [PGD], ADAPTIVE)["adaptive_beats_standard"]
    assert found.p_value == pytest.approx(1 / 64)  # c = 0: 0.5 ** 6
    assert found.examples == list(range(6))
    for i in range(10, 12):
        merged["broken_by"][i] = 0  # c = 2 cascade-only breaks: P(X >= 6 | 8, 0.5) = (28 + 8 + 1) / 256 = 0.14
    assert "adaptive_beats_standard" not in fired(merged, [PGD], ADAPTIVE)
    merged["adaptive_broken_by"][10] = 0  # both broke example 10: c = 1, P(X >= 6 | 7, 0.5) = 8 / 128 = 0.0625
    assert "adaptive_beats_standard" not in fired(merged, [PGD], ADAPTIVE)
    merged["adaptive_broken_by"][11] = 0  # c = 0 again
    assert fired(merged, [PGD], ADAPTIVE)["adaptive_beats_standard"].p_value == pytest.approx(1 / 64)


def make_indicator(name: str) -> Indicator:
    return Indicator(name, 1.0, 0.0, [0], "test")


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_grade_with_a_converged_escalation(name):
    indicator = make_indicator(name)
    grade([indicator], escalation_enabled=True, converged=True, replaced_gradients=True, large_eps_fixed=True)
    expected = "unreliable" if CATALOGUE[name].always_unreliable else "note"
    assert indicator.severity == expected


@pytest.mark.parametrize("enabled, converged", [(False, None), (False, True), (True, False), (True, None)])
def test_grade_without_a_converged_escalation_is_unreliable(enabled, converged):
    indicator = make_indicator("unstable_predictions")
    grade([indicator], escalation_enabled=enabled, converged=converged, replaced_gradients=True, large_eps_fixed=True)
    assert indicator.severity == "unreliable"


def test_grade_zero_gradients_needs_replaced_gradients_and_large_eps_a_fixed_probe():
    zero, large, other = make_indicator("zero_gradients"), make_indicator("large_eps_not_broken"), make_indicator("unstable_predictions")
    grade([zero, large, other], escalation_enabled=True, converged=True, replaced_gradients=False, large_eps_fixed=False)
    assert (zero.severity, large.severity, other.severity) == ("unreliable", "unreliable", "note")


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_grade_with_nothing_left_robust_keeps_only_the_always_unreliable(name):
    # a worst case of 0 robust examples cannot overestimate robustness, whatever else failed
    indicator = make_indicator(name)
    grade([indicator], escalation_enabled=False, converged=False, replaced_gradients=False, large_eps_fixed=False,
          nothing_left=True)
    assert indicator.severity == ("unreliable" if CATALOGUE[name].always_unreliable else "note")
    assert {n for n, m in CATALOGUE.items() if m.always_unreliable} == {
        "batch_size_dependence", "rescore_mismatch", "escalation_not_converged"}


def ladders(**lengths: int) -> Ladders:
    return Ladders({family: [[PGD]] * length for family, length in lengths.items()}, [])


def test_next_family_takes_the_least_climbed_then_the_catalogue_order():
    ladder = ladders(black_box=2, eot=2, white_box=2)
    assert FAMILIES.index("eot") < FAMILIES.index("white_box") < FAMILIES.index("black_box")
    assert next_family(ladder, {}, {}) == "eot"
    assert next_family(ladder, {"eot": 1}, {}) == "white_box"
    assert next_family(ladder, {"eot": 1, "white_box": 1}, {}) == "black_box"
    assert next_family(ladder, {"eot": 1, "white_box": 1, "black_box": 1}, {}) == "eot"


def test_next_family_skips_settled_and_exhausted_families():
    ladder = ladders(eot=1, white_box=2)
    assert next_family(ladder, {"eot": 1}, {}) == "white_box"  # eot has no round left
    assert next_family(ladder, {}, {"eot": True}) == "white_box"  # settled
    assert next_family(ladder, {}, {"eot": False}) == "eot"  # unsettled still runs
    assert next_family(ladder, {"eot": 1, "white_box": 2}, {}) is None
    assert next_family(ladder, {"eot": 1}, {"white_box": True}) is None


# --- the evidence each fired indicator records (the result JSON's indicator entries) -------------------

def _all_fire() -> tuple[dict[str, Indicator], int]:
    """One evaluation on which every outcome-driven indicator fires, with its counts written out."""
    merged = outcomes(zero_grad=[0, 1, 2, 3], unstable=list(range(10)), large_eps_correct=list(range(10)),
                      probabilities=list(range(51)), randomised=[3], batch_dependent=[7],
                      trace_ever=[90, 91, 92, 93, 94])
    for i in range(80, 85):
        merged["noise_broken"][i] = True  # noise breaks 5 the cascade left robust (b = 5, c = 0)
    return fired(merged, [PGD], []), len(merged["correct"])


@pytest.mark.parametrize("name, statistic, threshold, examples, words", [
    ("zero_gradients", 4 / N, 0.01, [0, 1, 2, 3], ["exactly zero input gradient on 4/100", "above 1%: exact binomial p = 0.018"]),
    ("unstable_predictions", 10 / N, 0.05, list(range(10)), ["0.1 eps", "10/100", "above 5%: exact binomial p = 0.028"]),
    ("large_eps_not_broken", 10 / N, 0.05, list(range(10)), ["accuracy 10.0%", "PGD-40", "eps = 1", "at eps = 1 (every"]),
    ("probabilities_output", 51 / N, 0.5, list(range(51)), ["51/100", "probabilities (in [0, 1], summing to 1), not logits"]),
    ("randomised_forward", 1 / N, 0.0, [3], ["two forward passes differ on 1/100"]),
    ("batch_size_dependence", 1, 0.0, [7], ["1 examples get other logits alone than in their batch"]),
    ("silent_success", 5, 0.05, [90, 91, 92, 93, 94], ["on 5 examples", "p = 0.031"]),
    ("noise_beats_white_box", 5, 0.05, [80, 81, 82, 83, 84], ["broke 5 examples", "the attacks 0 that", "p = 0.031"]),
])
def test_each_indicator_records_its_statistic_threshold_examples_and_evidence(name, statistic, threshold, examples, words):
    found = _all_fire()[0][name]
    assert found.statistic == pytest.approx(statistic)
    assert found.threshold == threshold
    assert found.examples == examples
    for word in words:
        assert word in found.message
    assert not found.message.startswith("XX") and not found.message.endswith("XX")  # the message is the evidence, whole


def test_incomplete_and_adaptive_record_their_evidence():
    broke = list(range(50, 100))
    found = fired(outcomes(trace_final=broke, incomplete=list(range(10))))["incomplete_optimisation"]
    assert (found.threshold, found.examples) == (0.1, list(range(10)))
    assert "rose by > 5% in its last 10 steps on 10/50" in found.message
    merged = outcomes()
    for i in range(6):
        merged["adaptive_broken_by"][i] = 0
    two = ADAPTIVE + [AttackSpec("adaptive/apgd", "apgd", category="adaptive")]
    found = fired(merged, [PGD], two)["adaptive_beats_standard"]
    assert (found.statistic, found.threshold) == (6, 0.05)
    assert "adaptive attacks (adaptive/pgd-40, adaptive/apgd) broke 6 examples" in found.message
    assert "the cascade 0 they did not" in found.message


def test_a_cascade_comparison_records_count_alpha_and_each_attacks_evidence():
    other = AttackSpec("spsa", "spsa", category="black_box")
    found = fired(broken_by({1: [0, 1, 2], 2: [3, 4]}), [PGD, SQUARE, other])["black_box_beats_white_box"]
    assert (found.statistic, found.threshold) == (5, 0.05)
    assert "square broke 3 left robust by pgd-40; spsa broke 2 left robust by pgd-40" in found.message


@pytest.mark.parametrize("before", [LONG, FGSM])
def test_transfer_is_compared_with_long_and_single_step_attacks_too(before):
    assert "transfer_beats_white_box" in fired(broken_by({1: [0, 1, 2, 3, 4]}), [before, TRANSFER])


def test_a_p_value_equal_to_alpha_does_not_fire():
    # alpha = 0.5 ** 5: five discordant examples (none the other way) give p = alpha exactly: not below it
    merged = outcomes(trace_ever=[0, 1, 2, 3, 4], noise_broken=[10, 11, 12, 13, 14])
    for i in range(20, 25):
        merged["adaptive_broken_by"][i] = 0
    single = broken_by({1: [30, 31, 32, 33, 34]})  # FGSM broke 5 the white box left robust
    tests = ("silent_success", "noise_beats_white_box", "adaptive_beats_standard")

    def names(alpha: float) -> set[str]:
        th = DiagnosticThresholds(alpha=alpha)
        return ({i.name for i in compute_indicators(merged, [PGD], ADAPTIVE, th, 1.0)}
                | {i.name for i in compute_indicators(single, [PGD, FGSM], [], th, 1.0)})

    assert not names(0.5 ** 5) & {*tests, "single_step_beats_iterative"}
    assert {*tests, "single_step_beats_iterative"} <= names(0.5 ** 5 + 1e-12)


def test_the_other_discordant_count_is_one_per_example():
    # b = 7 one way, c = 1 the other: P(X >= 7 | 8, 0.5) = 9 / 256 = 0.035 fires; were c counted twice,
    # P(X >= 7 | 9, 0.5) = 46 / 512 = 0.09 would not
    merged = outcomes(noise_broken=list(range(7)))
    merged["broken_by"][50] = 0  # the attacks broke it, noise did not: c = 1
    assert fired(merged, [PGD])["noise_beats_white_box"].p_value == pytest.approx(9 / 256)
    merged = outcomes()
    for i in range(7):
        merged["adaptive_broken_by"][i] = 0
    merged["broken_by"][50] = 0  # the cascade broke it, the adaptive attacks did not: c = 1
    assert fired(merged, [PGD], ADAPTIVE)["adaptive_beats_standard"].p_value == pytest.approx(9 / 256)
