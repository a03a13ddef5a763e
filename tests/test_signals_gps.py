"""Gamma-Poisson shrinker: posterior scores against openEBGM's published output; the prior fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from safety.signals.config import GPSSettings
from safety.signals.gps import (
    GammaMixturePrior,
    fit_prior,
    gps_scores,
    neg_log_likelihood,
    posterior_quantile,
    posterior_weight,
)

# Canida & Ihrie 2017 (R Journal 9:499-519); openEBGM vignette "Empirical Bayes Metrics with
# openEBGM": theta_hat fitted on the CAERS 2012 data shipped with the package, then Qn, ebgm,
# QUANT_05 and QUANT_95 printed for head(processed) and the top five by QUANT_05.
CAERS_THETA = GammaMixturePrior(3.25379064, 0.39988801, 2.02613219, 1.90808279, 0.06534557)
PUBLISHED = [
    # N, E, Qn (7 d.p., only printed for head()), ebgm, QUANT_05, QUANT_95
    (1, 0.0360548272, 0.2819736, 2.23, 0.49, 13.85),
    (1, 0.0038736591, 0.3409652, 2.58, 0.52, 15.78),
    (1, 0.0002979738, 0.3482316, 2.63, 0.52, 16.02),
    (1, 0.0765792610, 0.2226354, 1.92, 0.47, 11.77),
    (1, 0.0527413588, 0.2556668, 2.09, 0.48, 12.95),
    (16, 0.40643623, None, 23.26, 15.68, 33.48),
    (19, 0.89690107, None, 16.78, 11.65, 23.55),
    (6, 0.07866508, None, 18.28, 10.16, 30.83),
    (8, 0.30482718, None, 15.25, 9.00, 24.52),
    (11, 0.56317044, None, 14.28, 8.98, 21.78),
]


@pytest.mark.parametrize("n, e, qn, ebgm, q05, q95", PUBLISHED)
def test_posterior_matches_openebgm_published_scores(n, e, qn, ebgm, q05, q95):
    counts, expected = np.array([n], float), np.array([e])
    if qn is not None:
        assert round(float(posterior_weight(counts, expected, CAERS_THETA)[0]), 7) == qn
    scores = gps_scores(counts, expected, CAERS_THETA)
    assert round(float(scores["EBGM"][0]), 2) == ebgm
    # openEBGM's quantBisect stops within 0.005 of the root and then rounds: allow 0.01
    assert float(scores["EB05"][0]) == pytest.approx(q05, abs=0.01)
    assert float(scores["EB95"][0]) == pytest.approx(q95, abs=0.01)


def test_posterior_quantiles_solve_the_mixture_cdf():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 500, size=2000).astype(float)
    e = np.exp(rng.uniform(-8, 6, size=2000))
    for prob in (0.05, 0.95):
        x = posterior_quantile(n, e, CAERS_THETA, prob)
        q = posterior_weight(n, e, CAERS_THETA)
        t = CAERS_THETA
        cdf = q * special.gammainc(t.alpha1 + n, (t.beta1 + e) * x) + (1 - q) * special.gammainc(
            t.alpha2 + n, (t.beta2 + e) * x
        )
        np.testing.assert_allclose(cdf, prob, atol=1e-8)


def test_likelihood_is_the_truncated_negative_binomial_mixture():
    # openEBGM tests/testthat/testC_Likelihoods.R: its theta and counts, N_star = 1; checked
    # against scipy's negative binomial, each component truncated at zero (DuMouchel & Pregibon 2001)
    theta = np.array([0.125874, 0.13587, 1.24578, 3.01587, 0.05])
    n = np.array([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3], float)
    e = np.arange(6, 18, dtype=float)
    a1, b1, a2, b2, p = theta
    f1 = stats.nbinom.pmf(n, a1, b1 / (b1 + e)) / (1 - stats.nbinom.pmf(0, a1, b1 / (b1 + e)))
    f2 = stats.nbinom.pmf(n, a2, b2 / (b2 + e)) / (1 - stats.nbinom.pmf(0, a2, b2 / (b2 + e)))
    expected = -np.sum(np.log(p * f1 + (1 - p) * f2))
    assert neg_log_likelihood(theta, n, e, min_count=1) == pytest.approx(expected, rel=1e-12)


def simulate(theta: GammaMixturePrior, cells: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells with n >= 1 drawn from the model the likelihood describes: component k with
    probability P (resp. 1 - P), then n from that component's zero-truncated negative binomial."""
    rng = np.random.default_rng(seed)
    e = np.exp(rng.uniform(np.log(0.5), np.log(50), size=cells))
    first = rng.random(cells) < theta.p
    shape = np.where(first, theta.alpha1, theta.alpha2)
    rate = np.where(first, theta.beta1, theta.beta2)
    n = np.zeros(cells)
    todo = np.arange(cells)
    while todo.size:
        n[todo] = rng.poisson(rng.gamma(shape[todo], 1 / rate[todo]) * e[todo])
        todo = todo[n[todo] == 0]
    return n, e


def test_fit_recovers_a_known_prior():
    truth = GammaMixturePrior(0.5, 0.8, 4.0, 3.0, 0.3)
    n, e = simulate(truth, 60_000, seed=11)
    settings = GPSSettings(starts=[(0.2, 0.1, 2.0, 4.0, 1 / 3), (0.3, 0.5, 6.0, 6.0, 0.5)])
    fit = fit_prior(n, e, settings)
    # the maximum is at least as likely as the truth, and near it
    exact = neg_log_likelihood(fit.theta, n, e)
    assert exact <= neg_log_likelihood(truth.theta, n, e) + 1.0
    np.testing.assert_allclose(fit.theta, truth.theta, rtol=0.15)


def test_squashing_changes_the_fit_little():
    truth = GammaMixturePrior(0.5, 0.8, 4.0, 3.0, 0.3)
    n, e = simulate(truth, 20_000, seed=5)
    exact = fit_prior(n, e, GPSSettings(log_expected_bin_width=0))
    squashed = fit_prior(n, e, GPSSettings(log_expected_bin_width=0.02))
    assert squashed.n_points < exact.n_points
    np.testing.assert_allclose(squashed.theta, exact.theta, rtol=0.01)


def test_no_cells_to_fit_is_an_error():
    with pytest.raises(ValueError, match="no cells"):
        fit_prior(np.array([0.0]), np.array([1.0]), GPSSettings())
