"""Random draws are the distributions the papers name, checked statistically at fixed seeds.

Each check draws from a seeded generator, so it is deterministic; the tolerances are stated
as multiples of the standard error (or a Kolmogorov-Smirnov p-value floor) so that a correct
sampler passes with a wide margin while a wrong distribution (one-sided noise, a halved
range, an ignored mixup alpha) fails by many standard errors.

- [LCAT] eq. 6: B* = clip(x + u, 0, 1), u ~ U[-intensity, intensity] per pixel.
- mixup (Zhang et al. 2018, [LRM] sec. 4): lam ~ Beta(alpha, alpha), once per batch; the
  trainer's ``_mix`` uses alpha = 1, i.e. lam ~ U(0, 1).
- the training PGD's random start: U(-eps, eps) (Madry et al.) or 0.001 N(0, 1) (TRADES code).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from robustbench_logits import losses
from robustbench_logits._inner_max import _random_start
from robustbench_logits.objectives import MixedLabels
from robustbench_logits.recipes import InnerMax
from robustbench_logits.train import _mix

KS_P_FLOOR = 1e-3  # a correct sampler fails a KS test at this level once in a thousand seeds
SE_MULTIPLE = 5.0  # moments must lie within 5 standard errors of their expected value


def _noise(intensity: float, n: int = 200_000, seed: int = 11) -> np.ndarray:
    x = torch.full((n // 100, 1, 10, 10), 0.5)  # 0.5 +- intensity <= 0.4 never clips
    noisy = losses.uniform_noise(x, intensity, torch.Generator().manual_seed(seed))
    return (noisy - x).double().numpy().ravel()


@pytest.mark.parametrize("intensity", [0.3, 20 / 255])
def test_lcat_noise_is_uniform_symmetric_and_spans_both_bounds(intensity: float) -> None:
    u = _noise(intensity)
    n = u.size
    assert np.abs(u).max() <= intensity + 1e-6  # float32 rounding of x + u
    # both ends are reached: P(no draw within 0.5 % of an end) = 0.995^200000, never
    assert u.min() < -0.99 * intensity and u.max() > 0.99 * intensity
    # mean 0, sd = intensity / sqrt(3); standard error of the mean = sd / sqrt(n)
    sd = intensity / math.sqrt(3.0)
    assert abs(u.mean()) < SE_MULTIPLE * sd / math.sqrt(n)
    # variance intensity^2 / 3; se of the sample variance of a uniform = sd^2 sqrt(4/5 / n)
    assert abs(u.var() - sd**2) < SE_MULTIPLE * sd**2 * math.sqrt(0.8 / n)
    # symmetric: the share of positive draws is 1/2 within 5 binomial standard errors
    assert abs((u > 0).mean() - 0.5) < SE_MULTIPLE * 0.5 / math.sqrt(n)
    assert stats.kstest(u, stats.uniform(loc=-intensity, scale=2 * intensity).cdf).pvalue > KS_P_FLOOR
    assert stats.ks_2samp(u[: n // 2], -u[n // 2 :]).pvalue > KS_P_FLOOR  # u and -u alike


def test_lcat_noise_is_clipped_to_the_image_range_and_seeded() -> None:
    x = torch.tensor([0.0, 1.0, 0.05, 0.95]).repeat(5000).view(-1, 1, 2, 2)
    noisy = losses.uniform_noise(x, 0.8, torch.Generator().manual_seed(0))
    assert float(noisy.min()) == 0.0 and float(noisy.max()) == 1.0  # clipped, and the clip is reached
    # draws where x = 0 are clipped at 0 about half the time (u < 0): 5000 draws, 5 se
    clipped_share = float((noisy.view(-1, 4)[:, 0] == 0.0).double().mean())
    assert abs(clipped_share - 0.5) < SE_MULTIPLE * 0.5 / math.sqrt(5000)
    torch.manual_seed(123)  # the global RNG must not matter: only the generator
    again = losses.uniform_noise(x, 0.8, torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again)
    assert not torch.equal(noisy, losses.uniform_noise(x, 0.8, torch.Generator().manual_seed(1)))


def _lambdas_from_mix(draws: int, seed: int = 5) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    x, y = torch.rand(4, 1, 2, 2), torch.arange(4)
    lams = []
    for _ in range(draws):
        _, labels = _mix(x, y, "mixup", generator)
        assert isinstance(labels, MixedLabels)
        lams.append(float(labels.lam))
    return np.array(lams)


def test_trainer_mixup_draws_lambda_from_beta_1_1() -> None:
    lam = _lambdas_from_mix(4000)
    n = lam.size
    # Beta(1, 1) = U(0, 1): mean 1/2, variance 1/12; se of the mean sqrt(1/12 / n)
    assert abs(lam.mean() - 0.5) < SE_MULTIPLE * math.sqrt(1 / 12 / n)
    assert abs(lam.var() - 1 / 12) < SE_MULTIPLE * (1 / 12) * math.sqrt(0.8 / n)
    assert stats.kstest(lam, stats.beta(1.0, 1.0).cdf).pvalue > KS_P_FLOOR
    assert len(set(lam.tolist())) == n  # a fresh draw per batch


@pytest.mark.parametrize("alpha", [0.2, 2.0])
def test_mixup_batch_lambda_follows_beta_alpha_alpha(alpha: float) -> None:
    generator = torch.Generator().manual_seed(7)
    x, y = torch.rand(3, 1, 2, 2), torch.arange(3)
    lam = np.array([losses.mixup_batch(x, y, alpha, generator)[1][2] for _ in range(4000)])
    n = lam.size
    # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)): 0.178571 at a = 0.2, 0.05 at a = 2
    variance = 1.0 / (4.0 * (2.0 * alpha + 1.0))
    assert abs(lam.mean() - 0.5) < SE_MULTIPLE * math.sqrt(variance / n)
    # the sample variance's se is below sqrt(2 / n) * variance * 1.2 for these alphas (kurtosis < 0)
    assert abs(lam.var() - variance) < SE_MULTIPLE * 1.2 * variance * math.sqrt(2.0 / n)
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > KS_P_FLOOR
    # and not Beta(1, 1): an ignored alpha is rejected by the same test
    assert stats.kstest(lam, stats.uniform(0.0, 1.0).cdf).pvalue < KS_P_FLOOR


def test_mixup_partner_is_a_uniform_permutation() -> None:
    generator = torch.Generator().manual_seed(3)
    x, y = torch.zeros(4, 1, 1, 1), torch.arange(4)
    first_partner = [int(losses.mixup_batch(x, y, 1.0, generator)[1][1][0]) for _ in range(4000)]
    counts = np.bincount(first_partner, minlength=4)
    assert stats.chisquare(counts).pvalue > KS_P_FLOOR  # each of the 4 rows equally likely


@pytest.mark.parametrize("start", ["uniform", "normal"])
def test_pgd_random_start_distribution(start: str) -> None:
    eps = 0.3
    x = torch.full((2000, 1, 10, 10), 0.5)
    attack = InnerMax(eps=eps, step_size=0.01, steps=1, loss="ce", start=start)
    delta = (_random_start(x, attack, torch.Generator().manual_seed(2)) - x).double().numpy().ravel()
    n = delta.size
    if start == "uniform":  # Madry et al.: U(-eps, eps)
        assert np.abs(delta).max() <= eps + 1e-6 and delta.min() < -0.99 * eps and delta.max() > 0.99 * eps
        assert stats.kstest(delta, stats.uniform(loc=-eps, scale=2 * eps).cdf).pvalue > KS_P_FLOOR
        assert abs(delta.mean()) < SE_MULTIPLE * eps / math.sqrt(3 * n)
    else:  # TRADES code: 0.001 N(0, 1)
        assert abs(delta.std() - 0.001) < SE_MULTIPLE * 0.001 / math.sqrt(2 * n) + 1e-7  # float32 rounding
        assert stats.kstest(delta[:20000], stats.norm(scale=0.001).cdf).pvalue > KS_P_FLOOR
