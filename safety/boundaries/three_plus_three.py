"""The classic 3+3 dose-escalation design (Storer 1989, Biometrics 45:925-937, design 'A+B' with A=B=3).

Treat 3 at a dose: 0/3 escalate; 1/3 treat 3 more, and at most 1/6 escalates; 2 or more DLTs (of 3
or of 6) exceed the MTD: go back one dose, which is declared the MTD once 6 there show at most 1 DLT
(3 more are added when it has only 3). The MTD is always a dose with 6 treated, so 0/3 at the top
dose adds 3 more before it is declared. Operating characteristics are exact: the decision tree
is enumerated with binomial probabilities, no simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from safety.boundaries.types import BoundaryStatus, check_counts

COHORT = 3
# the decision tree is enumerated path by path; its size grows geometrically with the number of doses
MAX_DOSES = 12
EXCEEDS_AT = 2  # DLTs among the first 3, or among 6, that exceed the MTD


@dataclass(frozen=True)
class ThreePlusThreeDesign:
    id: str = "3+3"
    version: str = ""


def three_plus_three_design(id: str = "3+3", version: str = "") -> ThreePlusThreeDesign:
    return ThreePlusThreeDesign(id, version)


def decision_for(events: int, n: int) -> str:
    """Decision at one dose from its DLT count; n is 3 or 6 once a cohort is complete."""
    if events >= EXCEEDS_AT:
        return "mtd_exceeded"
    if n < COHORT or COHORT < n < 2 * COHORT:
        return "pending"
    if n == COHORT:
        return "escalate" if events == 0 else "expand"
    return "escalate"


def three_plus_three_table(design: ThreePlusThreeDesign | None = None) -> pl.DataFrame:
    """The decision table: every DLT count at 3 and at 6 treated."""
    rows = [(n, y, decision_for(y, n)) for n in (COHORT, 2 * COHORT) for y in range(n + 1)]
    return pl.DataFrame(rows, schema={"n": pl.Int64, "dlt": pl.Int64, "decision": pl.String}, orient="row")


def three_plus_three_oc(rates: Sequence[float], design: ThreePlusThreeDesign | None = None) -> pl.DataFrame:
    """Exact probability that each dose is selected as MTD and expected subjects per dose.

    `rates` are the true DLT probabilities of the doses, lowest first. The row with dose 0 is
    'no dose selected' (the lowest dose exceeds the MTD).
    """
    p = np.asarray(list(rates), dtype=float)
    if p.size == 0 or np.any((p < 0) | (p > 1)):
        raise ValueError("true DLT rates must be a non-empty list of probabilities")
    if p.size > MAX_DOSES:
        raise ValueError(f"at most {MAX_DOSES} dose levels, got {p.size}")
    top = len(p) - 1
    pmf = stats.binom.pmf(np.arange(COHORT + 1)[None, :], COHORT, p[:, None])  # (dose, dlt of 3)
    select = np.zeros(len(p) + 1)  # index 0 = none, d + 1 = dose d
    expected_n = np.zeros(len(p))

    def finish(chosen: int, treated: np.ndarray, prob: float) -> None:
        select[chosen + 1] += prob
        expected_n[:] += prob * treated

    def exceeded(dose: int, treated: np.ndarray, prob: float) -> None:
        below = dose - 1
        if below < 0:
            finish(-1, treated, prob)
        elif treated[below] == 2 * COHORT:
            finish(below, treated, prob)
        else:  # it showed 0/3 when we escalated from it: add 3, at most 1 DLT of 6 makes it the MTD
            more = treated.copy()
            more[below] += COHORT
            finish(below, more, prob * (pmf[below, 0] + pmf[below, 1]))
            exceeded(below, more, prob * (pmf[below, 2] + pmf[below, 3]))

    def passed(dose: int, treated: np.ndarray, prob: float) -> None:
        if dose == top:
            finish(dose, treated, prob) if treated[dose] == 2 * COHORT else confirm_top(treated, prob)
        else:
            visit(dose + 1, treated, prob)

    def confirm_top(treated: np.ndarray, prob: float) -> None:
        more = treated.copy()
        more[top] += COHORT
        finish(top, more, prob * (pmf[top, 0] + pmf[top, 1]))
        exceeded(top, more, prob * (pmf[top, 2] + pmf[top, 3]))

    def visit(dose: int, treated: np.ndarray, prob: float) -> None:
        first = treated.copy()
        first[dose] = COHORT
        passed(dose, first, prob * pmf[dose, 0])
        exceeded(dose, first, prob * (pmf[dose, 2] + pmf[dose, 3]))
        six = first.copy()
        six[dose] = 2 * COHORT
        # 1/3 then 0/3 more: at most 1/6 passes; 1/3 then 1 or more of 3 exceeds
        passed(dose, six, prob * pmf[dose, 1] * pmf[dose, 0])
        exceeded(dose, six, prob * pmf[dose, 1] * (1 - pmf[dose, 0]))

    visit(0, np.zeros(len(p)), 1.0)
    return pl.DataFrame(
        {
            "dose": np.arange(len(p) + 1),
            "true_rate": pl.Series([None, *p.tolist()], dtype=pl.Float64),
            "p_select_mtd": select,
            "expected_n": np.concatenate([[expected_n.sum()], expected_n]),
        }
    )


def three_plus_three_status(design: ThreePlusThreeDesign, events: int, n: int) -> BoundaryStatus:
    """events = DLTs among n treated at the current dose (n at most 6)."""
    check_counts(events, n, 2 * COHORT)
    decision = decision_for(events, n)
    crossed = decision == "mtd_exceeded"
    needed = max(0, EXCEEDS_AT - events)
    # at most 6 are treated at a dose: beyond that no look is left to reach
    to_stop = needed if needed <= 2 * COHORT - n else None
    sentence = {
        "mtd_exceeded": "the MTD is exceeded: stop escalating and go back one dose",
        "escalate": "escalate to the next dose",
        "expand": "treat 3 more at this dose",
        "pending": "cohort incomplete",
    }[decision]
    message = f"3+3: {events} DLT{'s' if events != 1 else ''} in {n} treated at the current dose: {sentence}."
    if not crossed and to_stop is not None:
        message += f" {to_stop} more DLT{'s' if to_stop != 1 else ''} would exceed the MTD."
    return BoundaryStatus(
        design_id=design.id, design_version=design.version, design="3+3", events=events, n=n,
        boundary=EXCEEDS_AT, crossed=crossed, events_to_stop=to_stop, decision=decision, message=message,
    )
