"""How the leaderboard writes numbers: RobustBench's percent strings, example index ranges, flag meanings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scipy.stats import binomtest

__all__ = ["FLAG_MEANINGS", "evaluated_examples", "index_ranges", "interval", "markdown_cell", "percent", "percent_interval"]

#: What each flag meant in evaluations recorded before the indicator catalogue (evaluation.indicators.CATALOGUE), for old records.
FLAG_MEANINGS = {
    "single_step_beats_iterative": "a single-step attack broke examples iterative attacks could not: gradients mislead iterative attacks",
    "black_box_beats_white_box": "gradient-free or transferred attacks beat the model's own gradients: the gradients are masked",
    "more_iterations_still_lowering": "more PGD steps/restarts kept lowering accuracy: the attacks had not converged",
    "large_eps_not_broken": "PGD at an eps where every image is reachable did not break the model: the attack cannot follow the gradient",
    "zero_gradients": "the loss has exactly zero input gradient on some examples: gradient attacks cannot move",
    "adaptive_attack_stronger": "attacks on the logits before the bounded head broke what standard attacks left robust: the head masks gradients",
    "robust_above_clean": "re-scoring disagreed with the attacks, or an accuracy exceeded clean: the model is stateful or nondeterministic",
    "autoattack_warnings": "pyautoattack's own checks warned (randomised defense, zero gradients, or Square beating APGD)",
}


def percent(accuracy: float | None) -> str | None:
    """An accuracy in [0, 1] as RobustBench writes it: percent with two decimals ("96.50")."""
    if accuracy is None:
        return None
    return f"{100 * accuracy:.2f}"


def index_ranges(indices: Sequence[int]) -> str:
    """[0, 1, 2, 5, 6] -> "0-2, 5-6": the example indices in a line a reader can check."""
    runs: list[str] = []
    start = previous = None
    for index in list(indices) + [None]:
        if start is not None and (index is None or index != previous + 1):
            runs.append(f"{start}-{previous}" if previous != start else f"{start}")
            start = None
        if index is not None and start is None:
            start = index
        previous = index
    return ", ".join(runs)


def markdown_cell(text: object) -> str:
    """Text safe inside a Markdown table cell: ``|`` escaped, line breaks folded (a name must not break its row)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def interval(accuracy: float, n: int) -> list[float]:
    """The exact 95 % Clopper-Pearson interval (fractions) of ``round(accuracy * n)`` correct of ``n``.

    For evaluations recorded before ``benchmark`` wrote its own intervals: the count is exact (an
    accuracy is a count over n), so the interval is the one ``benchmark`` computes (scipy's binomtest).
    """
    found = binomtest(round(accuracy * n), n).proportion_ci(confidence_level=0.95, method="exact")
    return [float(found.low), float(found.high)]


def percent_interval(bounds: Sequence[float] | None) -> list[str] | None:
    """[lo, hi] fractions as RobustBench-style percent strings (["54.90", "61.10"])."""
    return None if bounds is None else [percent(bounds[0]), percent(bounds[1])]


def evaluated_examples(evaluation: dict[str, Any]) -> str:
    """An evaluation's example indices as "0-999": from the full list, or a zoo summary's ``[first, last]`` ranges."""
    dataset = evaluation.get("provenance", {}).get("dataset", {})
    if "example_ranges" in dataset:
        return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in dataset["example_ranges"])
    return index_ranges(dataset.get("example_indices", []))
