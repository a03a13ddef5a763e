"""DuMouchel's gamma-Poisson shrinker: fit the mixture prior, then score every cell.

Model (DuMouchel 1999, The American Statistician 53:177-190): a cell's count n ~ Poisson(lambda E)
with lambda ~ P Gamma(alpha1, beta1) + (1 - P) Gamma(alpha2, beta2) (shape, rate). Marginally n is
a two-component negative-binomial mixture; the prior is fitted by maximum likelihood over the
cells with n >= N* (`min_count`, openEBGM's N_star, default 1) using the truncated likelihood of
DuMouchel & Pregibon 2001 as implemented in openEBGM `negLL`/`negLLsquash` (Canida & Ihrie 2017,
R Journal 9:499-519): each component is truncated below N* separately, P is the mixture weight.
Cells with equal n and nearly equal E are merged into weighted points first (data squashing,
DuMouchel & Pregibon 2001), which keeps the optimiser's cost independent of the table's size.

The posterior of lambda given n is Qn Gamma(alpha1 + n, beta1 + E) + (1 - Qn) Gamma(alpha2 + n,
beta2 + E); EBGM = exp(E[ln lambda | n]) (DuMouchel 1999 eq. 11) and EB05/EB95 are its 5th/95th
percentiles, solved for all cells at once by safeguarded Newton steps on the mixture CDF.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl
from scipy import optimize, special

from safety.signals.config import GPSSettings


@dataclass(frozen=True)
class GammaMixturePrior:
    """Hyperparameters theta = (alpha1, beta1, alpha2, beta2, P); gamma rates, not scales."""

    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    p: float
    neg_log_likelihood: float = float("nan")
    n_points: int = 0
    converged: bool = True

    @property
    def theta(self) -> np.ndarray:
        return np.array([self.alpha1, self.beta1, self.alpha2, self.beta2, self.p])

    def as_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


def _log_nb(n: np.ndarray, e: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """log of the negative-binomial marginal of n when lambda ~ Gamma(alpha, beta), n ~ Poi(lambda e)."""
    return (
        special.gammaln(alpha + n) - special.gammaln(alpha) - special.gammaln(n + 1.0)
        + alpha * (np.log(beta) - np.log(beta + e)) + n * (np.log(e) - np.log(beta + e))
    )


def _component(n, e, alpha, beta, min_count):
    """Truncated log density and its gradient w.r.t. (alpha, beta)."""
    log_be = np.log(beta) - np.log(beta + e)
    logf = _log_nb(n, e, alpha, beta)
    d_alpha = special.digamma(alpha + n) - special.digamma(alpha) + log_be
    d_beta = alpha / beta - (alpha + n) / (beta + e)
    if min_count > 0:
        # P(n < N*) = sum_{j < N*} f(j); the truncated density divides by 1 - that
        below = np.zeros_like(e)
        d_below_a = np.zeros_like(e)
        d_below_b = np.zeros_like(e)
        for j in range(min_count):
            fj = np.exp(_log_nb(np.float64(j), e, alpha, beta))
            below += fj
            d_below_a += fj * (special.digamma(alpha + j) - special.digamma(alpha) + log_be)
            d_below_b += fj * (alpha / beta - (alpha + j) / (beta + e))
        keep = np.clip(1.0 - below, 1e-300, None)
        logf = logf - np.log(keep)
        d_alpha = d_alpha + d_below_a / keep
        d_beta = d_beta + d_below_b / keep
    return logf, d_alpha, d_beta


def neg_log_likelihood(
    theta: np.ndarray, n: np.ndarray, e: np.ndarray, weights: np.ndarray | None = None, min_count: int = 1
) -> float:
    """The negative log marginal likelihood of theta (openEBGM `negLLsquash` with N_star = min_count)."""
    return _nll_and_grad(theta, n, e, np.ones_like(e) if weights is None else weights, min_count)[0]


def _nll_and_grad(theta, n, e, w, min_count):
    a1, b1, a2, b2, p = theta
    l1, da1, db1 = _component(n, e, a1, b1, min_count)
    l2, da2, db2 = _component(n, e, a2, b2, min_count)
    s1 = np.log(p) + l1
    s2 = np.log1p(-p) + l2
    total = np.logaddexp(s1, s2)
    r = np.exp(s1 - total)
    grad = -np.array([
        np.sum(w * r * da1), np.sum(w * r * db1),
        np.sum(w * (1 - r) * da2), np.sum(w * (1 - r) * db2),
        np.sum(w * (r / p - (1 - r) / (1 - p))),
    ])
    return -float(np.sum(w * total)), grad


def squash(counts: np.ndarray, expected: np.ndarray, log_bin_width: float) -> pl.DataFrame:
    """Merge cells with equal count and ln(E) in the same bin into (n, E = mean E, weight) points."""
    frame = pl.DataFrame({"n": counts.astype(np.float64), "E": expected.astype(np.float64)})
    key = pl.col("E") if log_bin_width <= 0 else (pl.col("E").log() / log_bin_width).floor()
    return (
        frame.group_by("n", key.alias("_bin"))
        .agg(pl.col("E").mean(), pl.len().cast(pl.Float64).alias("weight"))
        .drop("_bin")
        .sort("n", "E")
    )


def fit_prior(
    counts: np.ndarray, expected: np.ndarray, settings: GPSSettings, weights: np.ndarray | None = None
) -> GammaMixturePrior:
    """Maximum likelihood prior over the cells with count >= settings.min_count.

    `counts`/`expected` are per cell (or already squashed points with `weights`); the best of
    the configured starting points by likelihood is returned.
    """
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    use = (counts >= settings.min_count) & (expected > 0)
    if weights is None:
        pts = squash(counts[use], expected[use], settings.log_expected_bin_width)
        n, e, w = (pts[c].to_numpy() for c in ("n", "E", "weight"))
    else:
        n, e, w = counts[use], expected[use], np.asarray(weights, dtype=np.float64)[use]
    if n.size == 0:
        raise ValueError(f"no cells with a count >= {settings.min_count} to fit the GPS prior")

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.concatenate([np.exp(u[:4]), [special.expit(u[4])]])
        value, grad = _nll_and_grad(theta, n, e, w, settings.min_count)
        jac = np.concatenate([theta[:4], [theta[4] * (1 - theta[4])]])
        return value, grad * jac

    best = None
    for start in settings.starts:
        u0 = np.concatenate([np.log(start[:4]), [special.logit(start[4])]])
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            res = optimize.minimize(
                objective, u0, jac=True, method="L-BFGS-B",
                bounds=[(-12, 12)] * 4 + [(-15, 15)], options={"maxiter": 2000, "gtol": 1e-8, "ftol": 1e-13},
            )
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ValueError("the GPS prior fit failed from every starting point")
    a1, b1, a2, b2 = np.exp(best.x[:4])
    p = float(special.expit(best.x[4]))
    # L-BFGS-B reports failure when its line search can no longer improve a likelihood of a few
    # thousand in the 13th digit, i.e. at the optimum; a vanishing gradient says so, too.
    stationary = bool(np.max(np.abs(best.jac)) <= 1e-5 * max(1.0, abs(float(best.fun))))
    return GammaMixturePrior(
        float(a1), float(b1), float(a2), float(b2), p,
        neg_log_likelihood=float(best.fun), n_points=int(n.size), converged=bool(best.success) or stationary,
    )


def posterior_weight(counts: np.ndarray, expected: np.ndarray, prior: GammaMixturePrior) -> np.ndarray:
    """Qn: posterior probability that lambda came from the first component (openEBGM `Qn`)."""
    n = np.asarray(counts, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    s1 = np.log(prior.p) + _log_nb(n, e, prior.alpha1, prior.beta1)
    s2 = np.log1p(-prior.p) + _log_nb(n, e, prior.alpha2, prior.beta2)
    return special.expit(s1 - s2)


def ebgm(counts: np.ndarray, expected: np.ndarray, prior: GammaMixturePrior) -> np.ndarray:
    """exp(E[ln lambda | n]), DuMouchel 1999 eq. 11."""
    n = np.asarray(counts, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    q = posterior_weight(n, e, prior)
    m1 = special.digamma(prior.alpha1 + n) - np.log(prior.beta1 + e)
    m2 = special.digamma(prior.alpha2 + n) - np.log(prior.beta2 + e)
    return np.exp(q * m1 + (1 - q) * m2)


def posterior_quantile(
    counts: np.ndarray, expected: np.ndarray, prior: GammaMixturePrior, prob: float, rtol: float = 1e-9
) -> np.ndarray:
    """The `prob` quantile of the posterior gamma mixture of every cell, solved at once.

    The mixture quantile lies between the two components' quantiles; safeguarded Newton steps
    on ln(lambda) inside that bracket converge in a handful of vectorised iterations.
    """
    n = np.asarray(counts, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    q = posterior_weight(n, e, prior)
    sh1, rt1 = prior.alpha1 + n, prior.beta1 + e
    sh2, rt2 = prior.alpha2 + n, prior.beta2 + e
    x1 = special.gammaincinv(sh1, prob) / rt1
    x2 = special.gammaincinv(sh2, prob) / rt2
    lo, hi = np.log(np.minimum(x1, x2)), np.log(np.maximum(x1, x2))
    y = q * np.log(x1) + (1 - q) * np.log(x2)
    todo = np.flatnonzero(hi - lo > rtol)
    for _ in range(100):
        if todo.size == 0:
            break
        yt, qt = y[todo], q[todo]
        x = np.exp(yt)
        a1, r1, a2, r2 = sh1[todo], rt1[todo], sh2[todo], rt2[todo]
        g = qt * special.gammainc(a1, r1 * x) + (1 - qt) * special.gammainc(a2, r2 * x) - prob
        # density of ln(lambda): x f(x), from the two gamma log-densities
        ld1 = a1 * np.log(r1 * x) - r1 * x - special.gammaln(a1)
        ld2 = a2 * np.log(r2 * x) - r2 * x - special.gammaln(a2)
        dens = qt * np.exp(ld1) + (1 - qt) * np.exp(ld2)
        low, high = lo[todo], hi[todo]
        low = np.where(g < 0, yt, low)
        high = np.where(g > 0, yt, high)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = yt - g / dens
        inside = np.isfinite(step) & (step >= low) & (step <= high)
        new = np.where(g == 0, yt, np.where(inside, step, 0.5 * (low + high)))
        lo[todo], hi[todo], y[todo] = low, high, new
        done = (np.abs(new - yt) <= rtol) | (high - low <= rtol) | (g == 0)
        todo = todo[~done]
    return np.exp(y)


def gps_scores(
    counts: np.ndarray, expected: np.ndarray, prior: GammaMixturePrior, low: float = 0.05, high: float = 0.95
) -> dict[str, np.ndarray]:
    """EBGM with the posterior `low` and `high` quantiles (EB05, EB95 by default) per cell."""
    return {
        "EBGM": ebgm(counts, expected, prior),
        "EB05": posterior_quantile(counts, expected, prior, low),
        "EB95": posterior_quantile(counts, expected, prior, high),
    }
