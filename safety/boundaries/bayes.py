"""Bayesian beta-binomial continuous toxicity monitoring.

Stop after n subjects when P(p > p_max | y events) > threshold under a Beta(a, b) prior
(Thall, Simon & Estey 1995, Stat Med 14:357-379; Geller et al. 2003 for the beta-binomial form).
The posterior is Beta(a + y, b + n - y), so the boundary is the smallest y meeting the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from safety.boundaries.exact import SequentialBoundary
from safety.boundaries.sequential import boundary_frame, oc_frame, sequential_status
from safety.boundaries.types import BoundaryStatus


@dataclass(frozen=True, eq=False)
class BayesDesign:
    id: str
    version: str
    prior_a: float
    prior_b: float
    p_max: float
    threshold: float
    n_min: int
    n_max: int
    look_every: int
    boundary: SequentialBoundary

    @property
    def looks(self) -> np.ndarray:
        return np.arange(self.n_min, self.n_max + 1, self.look_every)


def bayes_design(
    prior_a: float, prior_b: float, p_max: float, threshold: float, n_min: int, n_max: int,
    look_every: int = 1, id: str = "bayes", version: str = "",
) -> BayesDesign:
    if prior_a <= 0 or prior_b <= 0:
        raise ValueError(f"prior parameters must be positive (a={prior_a}, b={prior_b})")
    if not 0 < p_max < 1:
        raise ValueError(f"p_max must be between 0 and 1, got {p_max}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    if not 1 <= n_min <= n_max:
        raise ValueError(f"need 1 <= n_min <= n_max, got n_min={n_min}, n_max={n_max}")
    if look_every < 1:
        raise ValueError(f"look_every must be at least 1, got {look_every}")
    stop_at = np.arange(n_max + 1) + 1  # no stop unless a look says so
    looks = np.arange(n_min, n_max + 1, look_every)
    # every (n, y) pair at once: posterior tail P(p > p_max | y, n)
    n_grid, y_grid = np.meshgrid(looks, np.arange(n_max + 1), indexing="ij")
    valid = y_grid <= n_grid
    tail = stats.beta.sf(p_max, prior_a + y_grid, prior_b + np.where(valid, n_grid - y_grid, 0))
    meets = (tail > threshold) & valid
    stop_at[looks] = np.where(meets.any(axis=1), meets.argmax(axis=1), looks + 1)
    return BayesDesign(id, version, prior_a, prior_b, p_max, threshold, n_min, n_max, look_every,
                       SequentialBoundary(stop_at))


def bayes_boundary_table(design: BayesDesign) -> pl.DataFrame:
    """Per look: the stopping count and the posterior P(p > p_max) at that count."""
    frame = boundary_frame(design.boundary, design.p_max).filter(
        pl.col("n").is_in(design.looks.tolist())
    )
    n = frame["n"].to_numpy()
    y = frame["stop_if_events_ge"].fill_null(-1).to_numpy()
    posterior = np.where(y >= 0, stats.beta.sf(design.p_max, design.prior_a + np.maximum(y, 0),
                                               design.prior_b + n - np.maximum(y, 0)), np.nan)
    return frame.with_columns(pl.Series("posterior_at_boundary", posterior).fill_nan(None))


def bayes_operating_characteristics(design: BayesDesign, rates: Sequence[float]) -> pl.DataFrame:
    return oc_frame(design.id, design.boundary, rates)


def bayes_status(design: BayesDesign, events: int, n: int) -> BoundaryStatus:
    rule = (f"Bayesian rule P(p > {design.p_max:g}) > {design.threshold:g} "
            f"under Beta({design.prior_a:g}, {design.prior_b:g})")
    return sequential_status("bayes", design.id, design.version, design.boundary, events, n, rule)
