"""Exact operating characteristics of a one-sided sequential boundary on a binomial count.

The count of events is stepped subject by subject, mass at or beyond the boundary is absorbed
(Ivanova, Qaqish & Schell 2005, section 2: the crossing probability is computed exactly from the
distribution of the count among paths not yet stopped). No simulation anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class SequentialBoundary:
    """stop_at[n] = the smallest event count that stops after n subjects; n + 1 means no stop at n.

    Index 0 is unused (no look before the first subject).
    """

    stop_at: np.ndarray

    @property
    def n_max(self) -> int:
        return len(self.stop_at) - 1

    def can_stop(self) -> np.ndarray:
        """Boolean per n (index 0..n_max): is there any count that stops at this look."""
        return self.stop_at <= np.arange(self.n_max + 1)


@dataclass(frozen=True, eq=False)
class SequentialOC:
    rates: np.ndarray
    stop_by_n: np.ndarray  # (n_max + 1, len(rates)): P(first crossing after exactly n subjects)
    expected_n: np.ndarray

    @property
    def p_stop(self) -> np.ndarray:
        return self.stop_by_n.sum(axis=0)

    @property
    def p_stop_before_max(self) -> np.ndarray:
        return self.stop_by_n[:-1].sum(axis=0)


def sequential_oc(stop_at: np.ndarray, rates: np.ndarray) -> SequentialOC:
    """Step Bin(n, p) one subject at a time for every rate at once, absorbing at the boundary.

    `stop_at` may be 1-D (one boundary) or 2-D (n_max + 1, k) with one boundary per column, in which
    case `rates` broadcasts against the columns (the Pocock gamma search evaluates many at once).
    """
    stop_at = np.asarray(stop_at)
    rates = np.atleast_1d(np.asarray(rates, dtype=float))
    n_max = stop_at.shape[0] - 1
    cols = np.broadcast_shapes(rates.shape, stop_at.shape[1:])
    p = np.broadcast_to(rates, cols)
    alive = np.zeros((n_max + 2, *cols))
    alive[0] = 1.0
    counts = np.arange(n_max + 2).reshape(-1, *([1] * len(cols)))
    stop_by_n = np.zeros((n_max + 1, *cols))
    expected_n = np.zeros(cols)
    for n in range(1, n_max + 1):
        # P(N >= n) = P(still running after n - 1 subjects)
        expected_n += alive.sum(axis=0)
        stepped = alive * (1.0 - p)
        stepped[1:] += alive[:-1] * p
        absorbed = counts >= np.broadcast_to(stop_at[n], cols)
        stop_by_n[n] = np.where(absorbed, stepped, 0.0).sum(axis=0)
        alive = np.where(absorbed, 0.0, stepped)
    return SequentialOC(rates=rates, stop_by_n=stop_by_n, expected_n=expected_n)


def events_to_stop(stop_at: np.ndarray, events: int, n: int) -> tuple[int, int] | None:
    """The fewest further events that cross the boundary at some look from n on, and that look.

    (0, n) when crossed at n; None when no look up to n_max can be reached with the subjects left.
    """
    m = np.arange(n, len(stop_at))
    needed = np.maximum(np.asarray(stop_at)[m] - events, 0)
    reachable = (stop_at[m] <= m) & (needed <= m - n) & (m >= 1)
    if not reachable.any():
        return None
    best = int(np.argmin(np.where(reachable, needed, np.iinfo(np.int64).max)))
    return int(needed[best]), int(m[best])
