"""The GPS prior fit against a published fit on its published data set (issue 9).

Source: openEBGM 0.9.1 (Ihrie & Canida, CRAN, 2023-09-14), vignette "Hyperparameter Estimation
with openEBGM" (inst/doc/vignette03-hyperparameterEstimation.html), run on the package's own
CAERS data: `processed <- processRaw(caers)`, then

* section "autoHyper()": `autoHyper(data = processed, theta_init = theta_init, squashed = FALSE)`
  (the full, unsquashed table; nlminb; likelihood truncated below N_star = 1) prints
  estimates 3.25596685 0.39998994 2.02376139 1.90614108 0.06530755 and, for each of the three
  starting points, minimum 4162.456;
* section "Likelihood Functions": `stats::nlm(negLLsquash, p = c(0.2, 0.1, 2, 4, 1/3), ...,
  N_star = 1)` on `squashed <- squashData(processed)` prints $minimum 4162.496 and $estimate
  3.25086926 0.39971401 2.02581887 1.90806636 0.06539159;
* section "autoHyper()": on `squashData(squashed, count = 2, bin_size = 10, keep_pts = 50)` it
  prints estimates 3.25374319 0.39988512 2.02611022 1.90806892 0.06534614, minimum 4161.93.

The table itself is tests/fixtures/openebgm_caers_cells.csv (see its header for provenance); the
first test checks it against what the vignettes print about `processed`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safety.signals.config import GPSSettings
from safety.signals.gps import fit_prior, neg_log_likelihood

FIXTURE = Path(__file__).parent / "fixtures" / "openebgm_caers_cells.csv"
REPORTS = 3356  # unique reports in data(caers); E = n(product) * n(event) / REPORTS

# The vignette's starting points: theta_init rows (alpha1, beta1, alpha2, beta2, P)
VIGNETTE_STARTS = [(0.2, 0.1, 2.0, 4.0, 1 / 3), (0.1, 0.2, 10.0, 10.0, 0.2), (0.3, 0.5, 6.0, 6.0, 0.5)]

FULL_FIT = np.array([3.25596685, 0.39998994, 2.02376139, 1.90614108, 0.06530755])
FULL_MINIMUM = 4162.456
SQUASHED_FIT = np.array([3.25086926, 0.39971401, 2.02581887, 1.90806636, 0.06539159])
SQUASHED_MINIMUM = 4162.496
SQUASHED2_FIT = np.array([3.25374319, 0.39988512, 2.02611022, 1.90806892, 0.06534614])
SQUASHED2_MINIMUM = 4161.93


def load_cells() -> tuple[np.ndarray, np.ndarray]:
    """Per-cell N and E of processRaw(caers), expanded from the distinct (N, E) rows."""
    rows = [
        line.split(",")
        for line in FIXTURE.read_text().splitlines()
        if line and not line.startswith("#")
    ][1:]
    table = np.array(rows, dtype=np.int64)
    n, numerator, cells = table[:, 0], table[:, 1], table[:, 2]
    return np.repeat(n, cells).astype(np.float64), np.repeat(numerator / REPORTS, cells)


def openebgm_squash(n, e, w, count: int, bin_size: int, keep: int):
    """openEBGM's squashData (R/f_dataSquashing.R): the points with N == count sorted by E, the
    `keep` largest left alone, the rest cut into consecutive bins of `bin_size` (the last one
    possibly smaller), each bin replaced by its mean E weighted by its size."""
    mine = n == count
    es = np.sort(e[mine])
    cut = es.size - keep
    bins = np.arange(cut) // bin_size
    size = np.bincount(bins)
    mean = np.bincount(bins, weights=es[:cut]) / size
    return (
        np.concatenate([n[~mine], np.full(size.size + keep, float(count))]),
        np.concatenate([e[~mine], mean, es[cut:]]),
        np.concatenate([w[~mine], size.astype(np.float64), np.ones(keep)]),
    )


@pytest.fixture(scope="module")
def caers():
    return load_cells()


@pytest.fixture(scope="module")
def squashed(caers):
    n, e = caers
    return openebgm_squash(n, e, np.ones_like(n), count=1, bin_size=50, keep=100)  # squashData defaults


def test_fixture_is_the_published_processed_table(caers, squashed):
    n, e = caers
    assert n.size == 17189  # nrow(processed)
    # autoSquash(processed) ftable (weights x points per N): N=1 100x1 + 1x6 + 514x31,
    # N=2 75x1 + 1x3 + 79x8, N=3 51x1 + 71x2; N >= 4 left at weight 1
    per_n = {1: 16040, 2: 710, 3: 193, 4: 80, 5: 41, 6: 31, 7: 17, 8: 20, 9: 14, 10: 6, 11: 7,
             12: 3, 13: 3, 14: 2, 16: 4, 17: 2, 18: 5, 19: 1, 21: 2, 22: 1, 23: 1, 24: 1, 27: 1,
             28: 1, 42: 1, 53: 1, 54: 1}
    values, counts = np.unique(n, return_counts=True)
    assert dict(zip(values.astype(int).tolist(), counts.tolist(), strict=True)) == per_n
    # processed[1:4, ] and the top QUANT_05 pairs printed by the vignettes
    for count, expected in [(1, 0.0360548272), (1, 0.0038736591), (1, 0.0002979738), (16, 0.40643623),
                            (19, 0.89690107), (6, 0.07866508), (8, 0.30482718), (11, 0.56317044)]:
        assert np.any((n == count) & np.isclose(e, expected, rtol=1e-7)), (count, expected)
    assert squashed[0].size == 1568  # nrow(squashData(processed))


@pytest.mark.parametrize(
    "which, theta, minimum",
    [("full", FULL_FIT, FULL_MINIMUM), ("squashed", SQUASHED_FIT, SQUASHED_MINIMUM),
     ("squashed2", SQUASHED2_FIT, SQUASHED2_MINIMUM)],
)
def test_likelihood_at_the_published_estimates_is_the_published_minimum(caers, squashed, which, theta, minimum):
    if which == "full":
        n, e = caers
        w = np.ones_like(n)
    elif which == "squashed":
        n, e, w = squashed
    else:
        n, e, w = openebgm_squash(*squashed, count=2, bin_size=10, keep=50)
    decimals = 2 if which == "squashed2" else 3
    assert round(neg_log_likelihood(theta, n, e, w, min_count=1), decimals) == minimum


def test_fit_reproduces_the_published_full_data_fit(caers):
    n, e = caers
    # bin width 0 merges only identical (N, E) cells: the exact likelihood of all 17189 cells
    fit = fit_prior(n, e, GPSSettings(starts=VIGNETTE_STARTS, log_expected_bin_width=0))
    np.testing.assert_allclose(fit.theta, FULL_FIT, rtol=0.01)
    assert fit.converged  # L-BFGS-B's line search stalls at this optimum; the gradient vanishes there
    # as likely as the published optimum (not a different, worse one) and equal to the printed minimum
    assert fit.neg_log_likelihood <= neg_log_likelihood(FULL_FIT, n, e) + 1e-6
    assert round(fit.neg_log_likelihood, 3) == FULL_MINIMUM


def test_default_settings_reproduce_the_published_full_data_fit(caers):
    """What the service runs: one default start, E binned on a 0.01 log scale."""
    n, e = caers
    fit = fit_prior(n, e, GPSSettings())
    np.testing.assert_allclose(fit.theta, FULL_FIT, rtol=0.01)
    assert fit.converged
    assert fit.neg_log_likelihood == pytest.approx(FULL_MINIMUM, abs=0.01)


def test_fit_reproduces_the_published_squashed_fits(squashed):
    n, e, w = squashed
    fit = fit_prior(n, e, GPSSettings(starts=VIGNETTE_STARTS[:1]), weights=w)
    np.testing.assert_allclose(fit.theta, SQUASHED_FIT, rtol=0.01)
    assert fit.converged
    assert round(fit.neg_log_likelihood, 3) == SQUASHED_MINIMUM

    n, e, w = openebgm_squash(n, e, w, count=2, bin_size=10, keep=50)
    assert n.size == 974
    fit = fit_prior(n, e, GPSSettings(starts=VIGNETTE_STARTS), weights=w)
    np.testing.assert_allclose(fit.theta, SQUASHED2_FIT, rtol=0.01)
    assert round(fit.neg_log_likelihood, 2) == SQUASHED2_MINIMUM
