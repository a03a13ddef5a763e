"""Simon's two-stage phase II design (Simon 1989, Control Clin Trials 10:1-10).

Stage 1 treats n1 subjects; stop for futility when responses <= r1. Otherwise treat up to n and
reject H0 (p <= p0) when responses > r. Among designs with type I error <= alpha at p0 and power
>= 1 - beta at p1, 'optimal' minimises the expected sample size under p0 (EN0) and 'minimax'
minimises n, then EN0 (paper, section 2). The search is exhaustive over n1, r1, n, r.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from safety.boundaries.types import BoundaryStatus, check_counts

Criterion = Literal["optimal", "minimax"]


@dataclass(frozen=True)
class SimonDesign:
    id: str
    version: str
    p0: float
    p1: float
    alpha: float
    power: float
    criterion: Criterion
    n1: int
    r1: int
    n: int
    r: int
    en0: float
    pet0: float
    actual_alpha: float
    actual_power: float


@dataclass(frozen=True)
class SimonSearch:
    optimal: SimonDesign
    minimax: SimonDesign


def reject_probability(n1: int, r1: np.ndarray, n: int, r: np.ndarray, p: float) -> np.ndarray:
    """P(X1 > r1 and X1 + X2 > r) for X1 ~ Bin(n1, p), X2 ~ Bin(n - n1, p) (Simon 1989, eq. 1 complement)."""
    x1 = np.arange(n1 + 1)
    r1 = np.asarray(r1)[..., None]
    r = np.asarray(r)[..., None]
    cont = stats.binom.pmf(x1, n1, p) * stats.binom.sf(r - x1, n - n1, p)
    return np.where(x1 > r1, cont, 0.0).sum(axis=-1)


def _stage_tables(p: float, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """pmf[m, x] = P(Bin(m, p) = x) and sf[m, t] = P(Bin(m, p) > t - 1 - ... ) indexed with an offset.

    sf[m, t + n_max] = P(Bin(m, p) > t) for t = -n_max..n_max, so that negative thresholds read 1.
    """
    m = np.arange(n_max + 1)[:, None]
    x = np.arange(n_max + 1)[None, :]
    pmf = np.where(x <= m, stats.binom.pmf(x, m, p), 0.0)
    t = np.arange(-n_max, n_max + 1)[None, :]
    sf = np.where(t < 0, 1.0, np.where(t >= m, 0.0, stats.binom.sf(t, m, p)))
    return pmf, sf


def _candidates(p0: float, p1: float, alpha: float, power: float, n_max: int) -> np.ndarray:
    """All admissible (n1, r1, n, r, EN0, PET0, alpha, power), r the smallest meeting alpha."""
    pmf0, sf0 = _stage_tables(p0, n_max)
    pmf1, sf1 = _stage_tables(p1, n_max)
    cdf0 = np.cumsum(pmf0, axis=1)
    found = []
    for n in range(2, n_max + 1):
        r_all = np.arange(n)
        for n1 in range(1, n):
            n2 = n - n1
            x1 = np.arange(n1 + 1)
            idx = r_all[None, :] - x1[:, None] + n_max  # threshold r - x1 for stage 2
            # contrib[x1, r] = P(X1 = x1) P(X2 > r - x1); reverse cumsum over x1 gives sum over x1 > r1
            c0 = pmf0[n1, : n1 + 1, None] * sf0[n2, idx]
            c1 = pmf1[n1, : n1 + 1, None] * sf1[n2, idx]
            rej0 = np.cumsum(c0[::-1], axis=0)[::-1][1:]  # row r1 = 0..n1-1: sum over x1 >= r1 + 1
            rej1 = np.cumsum(c1[::-1], axis=0)[::-1][1:]
            r1 = np.arange(n1)[:, None]
            ok_alpha = (rej0 <= alpha) & (r_all[None, :] >= r1)
            has = ok_alpha.any(axis=1)
            if not has.any():
                continue
            r_first = ok_alpha.argmax(axis=1)  # rejection probability falls as r grows
            rows = np.nonzero(has)[0]
            pw = rej1[rows, r_first[rows]]
            keep = pw >= power
            if not keep.any():
                continue
            rows, pw = rows[keep], pw[keep]
            pet0 = cdf0[n1, rows]
            en0 = n1 + (1 - pet0) * n2
            a = rej0[rows, r_first[rows]]
            found.append(np.column_stack([np.full(len(rows), n1), rows, np.full(len(rows), n), r_first[rows],
                                          en0, pet0, a, pw]))
    return np.vstack(found) if found else np.empty((0, 8))


def simon_search(p0: float, p1: float, alpha: float = 0.05, power: float = 0.80, n_max: int = 70,
                 id: str = "simon", version: str = "") -> SimonSearch:
    """Both Simon designs; ValueError when none exists with n <= n_max."""
    if not 0 < p0 < p1 < 1:
        raise ValueError(f"need 0 < p0 < p1 < 1, got p0={p0}, p1={p1}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be between 0 and 1, got alpha={alpha}, power={power}")
    if n_max < 2:
        raise ValueError(f"search maximum n must be at least 2, got {n_max}")
    cand = _candidates(p0, p1, alpha, power, n_max)
    if len(cand) == 0:
        raise ValueError(f"no two-stage design with n <= {n_max} meets alpha {alpha} and power {power}")
    # ties broken by smaller n then smaller n1, so the choice is reproducible
    optimal = cand[np.lexsort((cand[:, 0], cand[:, 2], np.round(cand[:, 4], 10)))[0]]
    minimax = cand[np.lexsort((cand[:, 0], np.round(cand[:, 4], 10), cand[:, 2]))[0]]

    def build(row: np.ndarray, criterion: Criterion) -> SimonDesign:
        n1, r1, n, r = (int(v) for v in row[:4])
        return SimonDesign(id, version, p0, p1, alpha, power, criterion, n1, r1, n, r,
                           float(row[4]), float(row[5]), float(row[6]), float(row[7]))

    return SimonSearch(build(optimal, "optimal"), build(minimax, "minimax"))


def simon_design(p0: float, p1: float, alpha: float = 0.05, power: float = 0.80,
                 criterion: Criterion = "optimal", n_max: int = 70, id: str = "simon",
                 version: str = "") -> SimonDesign:
    search = simon_search(p0, p1, alpha, power, n_max, id, version)
    return search.optimal if criterion == "optimal" else search.minimax


def simon_boundary_table(*designs: SimonDesign) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"design_id": d.id, "criterion": d.criterion, "p0": d.p0, "p1": d.p1, "n1": d.n1, "r1": d.r1,
             "n": d.n, "r": d.r, "en0": d.en0, "pet0": d.pet0, "alpha": d.actual_alpha, "power": d.actual_power}
            for d in designs
        ]
    )


def simon_operating_characteristics(design: SimonDesign, rates: Sequence[float]) -> pl.DataFrame:
    """Per true rate: probability of early termination, expected n, probability of declaring activity."""
    p = np.asarray(list(rates), dtype=float)
    pet = stats.binom.cdf(design.r1, design.n1, p)
    reject = np.array([reject_probability(design.n1, np.array(design.r1), design.n, np.array(design.r), q)
                       for q in p])
    return pl.DataFrame(
        {
            "design_id": [design.id] * len(p),
            "criterion": [design.criterion] * len(p),
            "true_rate": p,
            "p_stop_early": pet,
            "expected_n": design.n1 + (1 - pet) * (design.n - design.n1),
            "p_declare_active": reject,
        }
    )


def simon_status(design: SimonDesign, events: int, n: int) -> BoundaryStatus:
    """events = progression-free (responding) subjects among n evaluable.

    In stage 1 (n <= n1) the boundary is r1 and events_to_stop is how many more progression-free
    subjects are needed to pass it; past n1 the boundary is r. 'crossed' is set once the stage's
    count is complete and at or below its boundary.
    """
    check_counts(events, n, design.n)
    stage1 = n <= design.n1
    bound, stage_n, label = (design.r1, design.n1, "stage 1") if stage1 else (design.r, design.n, "final")
    needed = max(0, bound + 1 - events)
    remaining = stage_n - n
    crossed = n >= stage_n and events <= bound
    certain = not crossed and needed > remaining
    if crossed:
        decision = "futility" if stage1 else "not_active"
        sentence = (f"futility boundary crossed at stage 1: {events} progression-free of {n} (at most {bound})"
                    if stage1 else f"final analysis: {events} progression-free of {n}, at most r={bound}: "
                    "the regimen is not declared active")
    elif needed == 0:
        decision = "continue" if stage1 else "active"
        sentence = (f"{events} progression-free of {n}: more than r1={bound}, stage 1 passed"
                    if stage1 else f"{events} progression-free of {n}: more than r={bound}, activity shown")
    else:
        decision = "futility_certain" if certain else "continue"
        sentence = (f"{events} progression-free of {n} ({label}, boundary {bound} of {stage_n}): "
                    f"{needed} more progression-free needed among the remaining {remaining}")
        if certain:
            sentence += "; the boundary can no longer be avoided"
    return BoundaryStatus(
        design_id=design.id, design_version=design.version, design="simon", events=events, n=n, boundary=bound,
        crossed=crossed, events_to_stop=needed, decision=decision,
        message=f"Simon {design.criterion} two-stage ({design.r1}/{design.n1}, {design.r}/{design.n}): {sentence}.",
    )
