"""The statistical tools every verdict uses, all exact binomial tests from scipy (not hand-written).

* :func:`ci95`: the exact 95 % Clopper-Pearson interval of an accuracy ``k / n``.
* :func:`discordance_p`: the exact McNemar test on the discordant examples of two attacks
  run on the same examples (a binomial test on ``b`` vs ``c``, one-sided: "the challenger is
  stronger"); with ``c = 0`` it is the sign test ``0.5 ** b``.
* :func:`share_exceeds_p`: the exact one-sided binomial test that a share measured on ``n``
  examples exceeds a threshold share (the share-threshold indicators: one example in 16 is not
  evidence that more than 5 % of a dataset is affected).
* :func:`mcnemar_p`: the exact two-sided McNemar test of two models on the same examples (does
  either keep more of them than the other?), used where neither is the designated challenger.
"""

from __future__ import annotations

from scipy.stats import binomtest

__all__ = ["ci95", "discordance_p", "mcnemar_p", "noise_allowance", "share_exceeds_p"]


def ci95(k: int, n: int) -> list[float] | None:
    """[lo, hi] (fractions) of the 95 % Clopper-Pearson interval of ``k`` successes in ``n``; None for n = 0."""
    if n <= 0:
        return None
    interval = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="exact")
    return [float(interval.low), float(interval.high)]


def discordance_p(b: int, c: int) -> float:
    """One-sided exact McNemar p-value that ``b`` (challenger-only successes) exceeds ``c`` (the other's)."""
    if b + c == 0:
        return 1.0
    return float(binomtest(int(b), int(b + c), 0.5, alternative="greater").pvalue)


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value of ``b`` examples only the first keeps against ``c`` only the second keeps."""
    if b + c == 0:
        return 1.0
    return float(binomtest(int(b), int(b + c), 0.5, alternative="two-sided").pvalue)


def share_exceeds_p(k: int, n: int, share: float) -> float:
    """One-sided exact binomial p-value that the true share behind ``k`` of ``n`` exceeds ``share``."""
    if n <= 0:
        return 1.0
    return float(binomtest(int(k), int(n), share, alternative="greater").pvalue)


def noise_allowance(alpha: float) -> int:
    """The most examples a round may newly break and still be sampling noise at level ``alpha``.

    A round's newly broken examples are the discordant pairs between "robust before" and "robust
    after" (none go the other way), so the exact McNemar test is the sign test ``0.5 ** k``; the
    allowance is the largest ``k`` it does not reject (4 at alpha = 0.05).
    """
    k = 0
    while discordance_p(k + 1, 0) >= alpha:
        k += 1
    return k
