"""Boundary table, operating characteristics and status shared by the continuous-monitoring designs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from safety.boundaries.exact import SequentialBoundary, events_to_stop, sequential_oc
from safety.boundaries.types import BoundaryStatus, DesignKind, check_counts


def boundary_frame(boundary: SequentialBoundary, p0: float) -> pl.DataFrame:
    """One row per look: n, the smallest event count that stops, and the cumulative crossing under p0."""
    n = np.arange(1, boundary.n_max + 1)
    stop = boundary.stop_at[1:]
    possible = stop <= n
    oc = sequential_oc(boundary.stop_at, np.array([p0]))
    cumulative = np.cumsum(oc.stop_by_n[1:, 0])
    return pl.DataFrame(
        {
            "n": n,
            "stop_if_events_ge": pl.Series([int(s) if ok else None for s, ok in zip(stop, possible, strict=True)],
                                           dtype=pl.Int64),
            "cum_p_cross_p0": cumulative,
        }
    )


def oc_frame(design_id: str, boundary: SequentialBoundary, rates: Sequence[float]) -> pl.DataFrame:
    """Exact operating characteristics per true event rate.

    p_stop: crossing at any look up to n_max (the rule declares the regimen too toxic);
    p_stop_before_max: crossing before the last subject, i.e. the trial stops early;
    expected_n: expected number of subjects treated.
    """
    rates_arr = np.asarray(list(rates), dtype=float)
    oc = sequential_oc(boundary.stop_at, rates_arr)
    return pl.DataFrame(
        {
            "design_id": [design_id] * len(rates_arr),
            "true_rate": rates_arr,
            "p_stop": oc.p_stop,
            "p_stop_before_max": oc.p_stop_before_max,
            "expected_n": oc.expected_n,
        }
    )


def _distance(reach: tuple[int, int] | None) -> str:
    if reach is None:
        return "; the boundary cannot be reached before the maximum sample size."
    extra, at = reach
    return f"; {extra} more event{'s' if extra != 1 else ''} would cross it (earliest at n={at})."


def sequential_status(
    kind: DesignKind, design_id: str, version: str, boundary: SequentialBoundary, events: int, n: int, rule: str
) -> BoundaryStatus:
    check_counts(events, n, boundary.n_max)
    bound = int(boundary.stop_at[n]) if n >= 1 and boundary.stop_at[n] <= n else None
    crossed = bound is not None and events >= bound
    reach = events_to_stop(boundary.stop_at, events, n)
    to_stop = reach[0] if reach else None
    if crossed:
        message = (f"{rule}: boundary crossed: {events} events in {n} evaluable subjects "
                   f"(stop at {bound} or more); the committee should consider stopping.")
        decision = "stop"
    elif bound is None:
        message = (f"{rule}: no stopping look at n={n}; {events} events so far"
                   + _distance(reach))
        decision = "continue"
    else:
        message = (f"{rule}: not crossed: {events} events in {n} evaluable subjects; "
                   f"the boundary at n={n} is {bound}"
                   + _distance(reach))
        decision = "continue"
    return BoundaryStatus(
        design_id=design_id, design_version=version, design=kind, events=events, n=n,
        boundary=bound, crossed=crossed, events_to_stop=to_stop, decision=decision, message=message,
    )
