"""BOIN: Bayesian optimal interval design (Liu & Yuan 2015, J R Stat Soc C 64:507-523).

At the current dose with n treated and y DLTs: escalate when y / n <= lambda_e, de-escalate when
y / n >= lambda_d, otherwise stay. lambda_e and lambda_d minimise the probability of a wrong
decision between phi1 (under-dosing) and phi2 (over-dosing) with equal prior weight (paper, eq. 2).
Dose elimination: P(p > phi | y, n) > cutoff under a Beta(1, 1) prior with n >= 3 (Liu & Yuan 2015,
section 2.3; the BOIN R package `get.boundary`, cutoff.eli = 0.95).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import log

import numpy as np
import polars as pl
from scipy import stats

from safety.boundaries.exact import events_to_stop
from safety.boundaries.types import BoundaryStatus, check_counts

DECISIONS = ("escalate", "stay", "de-escalate", "eliminate")


@dataclass(frozen=True, eq=False)
class BoinDesign:
    id: str
    version: str
    phi: float
    phi1: float
    phi2: float
    lambda_e: float
    lambda_d: float
    elimination_cutoff: float
    elimination_min_n: int
    cohort_size: int
    n_max: int
    # index n (0..n_max): escalate if y <= escalate_max[n], de-escalate if y >= deescalate_min[n],
    # eliminate if y >= eliminate_min[n] (n + 1 = never)
    escalate_max: np.ndarray
    deescalate_min: np.ndarray
    eliminate_min: np.ndarray


def boin_intervals(phi: float, phi1: float, phi2: float) -> tuple[float, float]:
    """lambda_e and lambda_d (Liu & Yuan 2015, eq. 2)."""
    lambda_e = log((1 - phi1) / (1 - phi)) / log(phi * (1 - phi1) / (phi1 * (1 - phi)))
    lambda_d = log((1 - phi) / (1 - phi2)) / log(phi2 * (1 - phi) / (phi * (1 - phi2)))
    return lambda_e, lambda_d


def boin_design(
    phi: float, phi1: float | None = None, phi2: float | None = None, elimination_cutoff: float = 0.95,
    elimination_min_n: int = 3, cohort_size: int = 3, n_max: int = 18, id: str = "boin", version: str = "",
) -> BoinDesign:
    phi1 = 0.6 * phi if phi1 is None else phi1
    phi2 = 1.4 * phi if phi2 is None else phi2
    if not 0 < phi1 < phi < phi2 < 1:
        raise ValueError(f"need 0 < phi1 < phi < phi2 < 1, got phi1={phi1:g}, phi={phi:g}, phi2={phi2:g}")
    if not 0 < elimination_cutoff < 1:
        raise ValueError(f"elimination cutoff must be between 0 and 1, got {elimination_cutoff}")
    if cohort_size < 1 or n_max < 1 or elimination_min_n < 1:
        raise ValueError("cohort size, maximum n and elimination minimum n must be at least 1")
    lambda_e, lambda_d = boin_intervals(phi, phi1, phi2)
    n = np.arange(n_max + 1)
    escalate_max = np.floor(lambda_e * n).astype(int)
    deescalate_min = np.ceil(lambda_d * n).astype(int)
    y = np.arange(n_max + 1)[None, :]
    valid = y <= n[:, None]
    tail = stats.beta.sf(phi, 1 + y, 1 + np.where(valid, n[:, None] - y, 0))
    meets = valid & (tail > elimination_cutoff) & (n[:, None] >= elimination_min_n)
    eliminate_min = np.where(meets.any(axis=1), meets.argmax(axis=1), n + 1)
    return BoinDesign(id, version, phi, phi1, phi2, lambda_e, lambda_d, elimination_cutoff, elimination_min_n,
                      cohort_size, n_max, escalate_max, deescalate_min, eliminate_min)


def boin_boundary_table(design: BoinDesign) -> pl.DataFrame:
    """The get.boundary table: per number treated at the current dose, the DLT counts for each decision."""
    n = np.arange(1, design.n_max + 1)
    elim = design.eliminate_min[1:]
    return pl.DataFrame(
        {
            "n": n,
            "escalate_if_dlt_le": design.escalate_max[1:],
            "deescalate_if_dlt_ge": design.deescalate_min[1:],
            "eliminate_if_dlt_ge": pl.Series([int(e) if e <= k else None for k, e in zip(n, elim, strict=True)],
                                             dtype=pl.Int64),
        }
    )


def decision_for(design: BoinDesign, events: int, n: int) -> str:
    if n == 0:
        return "stay"
    if events >= design.eliminate_min[n]:
        return "eliminate"
    if events >= design.deescalate_min[n]:
        return "de-escalate"
    if events <= design.escalate_max[n]:
        return "escalate"
    return "stay"


def boin_operating_characteristics(design: BoinDesign, rates: Sequence[float]) -> pl.DataFrame:
    """Exact probability of each decision at a dose after each full cohort, per true DLT rate.

    The decisions are mutually exclusive: 'de-escalate' excludes counts that also eliminate.
    """
    rates_arr = np.asarray(list(rates), dtype=float)
    looks = np.arange(design.cohort_size, design.n_max + 1, design.cohort_size)
    y = np.arange(design.n_max + 1)
    pmf = stats.binom.pmf(y[None, None, :], looks[:, None, None], rates_arr[None, :, None])  # (n, rate, y)
    n_col = looks[:, None]
    elim = y[None, :] >= design.eliminate_min[n_col]
    deesc = (y[None, :] >= design.deescalate_min[n_col]) & ~elim
    esc = (y[None, :] <= design.escalate_max[n_col]) & ~elim & ~deesc
    stay = ~(elim | deesc | esc)
    probs = {name: (pmf * mask[:, None, :]).sum(axis=2)
             for name, mask in zip(DECISIONS, (esc, stay, deesc, elim), strict=True)}
    grid_n, grid_rate = np.meshgrid(looks, rates_arr, indexing="ij")
    return pl.DataFrame(
        {"design_id": [design.id] * grid_n.size, "true_rate": grid_rate.ravel(), "n": grid_n.ravel()}
        | {f"p_{name.replace('-', '')}": probs[name].ravel() for name in DECISIONS}
    ).sort("true_rate", "n")


def boin_status(design: BoinDesign, events: int, n: int) -> BoundaryStatus:
    check_counts(events, n, design.n_max)
    decision = decision_for(design, events, n)
    bound = int(design.eliminate_min[n]) if n >= 1 and design.eliminate_min[n] <= n else None
    crossed = decision == "eliminate"
    reach = events_to_stop(design.eliminate_min, events, n)
    to_stop = reach[0] if reach else None
    sentence = {
        "escalate": "escalate to the next dose",
        "stay": "stay at the current dose",
        "de-escalate": "de-escalate to the next lower dose",
        "eliminate": "eliminate this dose and all higher doses (P(p > phi) > cutoff)",
    }[decision]
    message = (f"BOIN (phi {design.phi:g}, lambda_e {design.lambda_e:.3f}, lambda_d {design.lambda_d:.3f}): "
               f"{events} DLTs in {n} treated at the current dose: {sentence}.")
    if not crossed and to_stop is not None:
        message += f" {to_stop} more DLT{'s' if to_stop != 1 else ''} would eliminate the dose."
    return BoundaryStatus(
        design_id=design.id, design_version=design.version, design="boin", events=events, n=n, boundary=bound,
        crossed=crossed, events_to_stop=to_stop, decision=decision, message=message,
    )
