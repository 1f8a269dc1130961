"""statistics.py: Clopper-Pearson intervals and the exact tests come from scipy, with the numbers
the docs quote."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from robustbench_logits.evaluation.statistics import ci95, discordance_p, mcnemar_p, noise_allowance


def test_intervals_are_scipys_exact_clopper_pearson() -> None:
    for k, n in [(0, 200), (581, 1000), (200, 200), (3, 7)]:
        expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert ci95(k, n) == [expected.low, expected.high]
    low, high = ci95(500, 1000)
    assert high - low == pytest.approx(0.063, abs=0.002)  # "+-3.1 points on 1000 examples" (issue 8)
    low, high = ci95(100, 200)
    assert high - low == pytest.approx(0.14, abs=0.005)  # "+-7 on the demo's 200"
    assert ci95(0, 0) is None


def test_discordance_is_the_exact_one_sided_mcnemar_test() -> None:
    assert discordance_p(3, 0) == pytest.approx(0.125)  # Square's 3 of 1000 on PGD-AT: not significant
    assert discordance_p(5, 0) == pytest.approx(0.03125)
    assert discordance_p(10, 10) > 0.5 and discordance_p(0, 0) == 1.0
    assert discordance_p(20, 5) == pytest.approx(binomtest(20, 25, 0.5, alternative="greater").pvalue)


def test_sampling_noise_allows_four_newly_broken_examples_at_five_percent() -> None:
    assert noise_allowance(0.05) == 4 and noise_allowance(0.01) == 6


def test_mcnemar_p_is_the_exact_two_sided_test_on_the_discordant_examples() -> None:
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(4, 4) == 1.0
    assert mcnemar_p(5, 0) == pytest.approx(2 * 0.5**5) == mcnemar_p(0, 5)
    assert mcnemar_p(81, 42) == pytest.approx(binomtest(81, 123, 0.5).pvalue)
