"""Pocock-type continuous toxicity boundary (Ivanova, Qaqish & Schell 2005, Biometrics 61:540-545).

After n evaluable subjects stop when events >= b_n, the smallest b with P(Bin(n, p0) >= b) <= gamma.
The same nominal level gamma is used at every look (the Pocock shape, section 2 of the paper);
gamma is the largest value whose exact probability of ever crossing under p0 is at most alpha.
Only the binomial tail values can change the boundary, so the search runs over that finite set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from safety.boundaries.exact import SequentialBoundary, sequential_oc
from safety.boundaries.sequential import boundary_frame, oc_frame, sequential_status
from safety.boundaries.types import BoundaryStatus

# float noise in summing ~N^2 probabilities must not flip a design across alpha
_TOLERANCE = 1e-12


@dataclass(frozen=True, eq=False)
class PocockDesign:
    id: str
    version: str
    p0: float
    alpha: float
    n_min: int
    n_max: int
    gamma: float
    # every gamma in [gamma, gamma_below_next) gives the same boundary; the next tail value breaks alpha
    gamma_below_next: float
    crossing_p0: float
    boundary: SequentialBoundary


def binomial_tails(p0: float, n_max: int) -> np.ndarray:
    """tails[n, b] = P(Bin(n, p0) >= b) for b = 0..n_max + 1 (zero beyond n)."""
    n = np.arange(n_max + 1)[:, None]
    b = np.arange(n_max + 2)[None, :]
    tails = stats.binom.sf(b - 1, n, p0)
    return np.where(b <= n, tails, 0.0)


def stop_counts(tails: np.ndarray, gamma: np.ndarray | float, n_min: int = 1) -> np.ndarray:
    """b_n for each n (rows), one column per gamma when gamma is an array; n + 1 where no stop."""
    gammas = np.atleast_1d(np.asarray(gamma, dtype=float))
    # tails decrease in b, so b_n = the number of b with P(Bin(n, p0) >= b) > gamma
    b = (tails[:, :, None] > gammas[None, None, :]).sum(axis=1)
    n = np.arange(tails.shape[0])[:, None]
    b = np.where(n < n_min, n + 1, b)
    return b if np.ndim(gamma) else b[:, 0]


def pocock_design(p0: float, alpha: float, n_max: int, n_min: int = 1,
                  id: str = "pocock", version: str = "") -> PocockDesign:
    if not 0 < p0 < 1:
        raise ValueError(f"p0 must be between 0 and 1, got {p0}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if not 1 <= n_min <= n_max:
        raise ValueError(f"need 1 <= n_min <= n_max, got n_min={n_min}, n_max={n_max}")
    tails = binomial_tails(p0, n_max)
    rows = np.arange(n_max + 1)[:, None]
    cols = np.arange(n_max + 2)[None, :]
    candidates = np.unique(tails[(rows >= max(n_min, 1)) & (cols >= 1) & (cols <= rows)])
    candidates = candidates[candidates < 1.0]

    def crossing(gammas: np.ndarray) -> np.ndarray:
        return sequential_oc(stop_counts(tails, gammas, n_min), np.array([p0])).p_stop

    # crossing probability is non-decreasing in gamma: binary search, evaluating 16 gammas per step
    lo, hi = 0, len(candidates)  # answer index in [lo - 1, hi - 1]
    while hi - lo > 0:
        probe = np.unique(np.linspace(lo, hi - 1, num=min(16, hi - lo)).round().astype(int))
        ok = crossing(candidates[probe]) <= alpha + _TOLERANCE
        if ok.all():
            lo = int(probe[-1]) + 1
        else:
            first_bad = int(probe[np.argmin(ok)])
            last_ok = int(probe[:np.argmin(ok)][-1]) if np.argmin(ok) > 0 else lo - 1
            lo, hi = last_ok + 1, first_bad
    if lo == 0:
        raise ValueError(f"no boundary keeps the crossing probability under p0={p0} at or below alpha={alpha}")
    gamma = float(candidates[lo - 1])
    gamma_below_next = float(candidates[lo]) if lo < len(candidates) else 1.0
    stop_at = stop_counts(tails, gamma, n_min)
    crossing_p0 = float(sequential_oc(stop_at, np.array([p0])).p_stop[0])
    return PocockDesign(id, version, p0, alpha, n_min, n_max, gamma, gamma_below_next, crossing_p0,
                        SequentialBoundary(stop_at))


def pocock_boundary_table(design: PocockDesign) -> pl.DataFrame:
    """Per n: b_n, the nominal tail P(Bin(n, p0) >= b_n) and the cumulative crossing probability."""
    frame = boundary_frame(design.boundary, design.p0)
    b = design.boundary.stop_at[1:]
    n = np.arange(1, design.n_max + 1)
    tail = np.where(b <= n, stats.binom.sf(b - 1, n, design.p0), np.nan)
    return frame.with_columns(pl.Series("nominal_tail", tail).fill_nan(None))


def pocock_operating_characteristics(design: PocockDesign, rates: Sequence[float]) -> pl.DataFrame:
    return oc_frame(design.id, design.boundary, rates)


def pocock_status(design: PocockDesign, events: int, n: int) -> BoundaryStatus:
    rule = f"Pocock-type boundary (p0 {design.p0:g}, alpha {design.alpha:g}, gamma {design.gamma:.4f})"
    return sequential_status("pocock", design.id, design.version, design.boundary, events, n, rule)
