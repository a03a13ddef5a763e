"""Kaplan-Meier estimate with Greenwood variance and the Kalbfleisch-Prentice log(-log) interval.

The log(-log) ("exponential Greenwood") interval stays inside [0, 1] and behaves better than the
plain interval in small samples and near the tails (Kalbfleisch & Prentice 2002, section 1.4;
Collett 2015, section 2.2.3); it is lifelines' KaplanMeierFitter default and R survival's
conf.type = "log-log".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import norm

KM_COLUMNS = ["time", "n_at_risk", "n_events", "n_censored", "survival", "se", "lower", "upper"]


def kaplan_meier(time: Any, event: Any, confidence_level: float = 0.95) -> pl.DataFrame:
    """One row per distinct observed time (event or censoring), in increasing order.

    `time`: survival times (e.g. ADTTE AVAL); `event`: 1/True for an event, 0/False for censored
    (i.e. 1 - CNSR). Columns: time, n_at_risk (at risk just before `time`), n_events, n_censored,
    survival S(time), se (Greenwood standard error of S), lower/upper (log(-log) interval; equal to
    S where S is 1, both 0 where S is 0).
    """
    data = pl.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=np.int64)})
    if data.filter(pl.col("time").is_nan() | pl.col("time").is_null()).height:
        raise ValueError("kaplan_meier: time has missing values")
    if not data.filter(~pl.col("event").is_in([0, 1])).is_empty():
        raise ValueError("kaplan_meier: event must be 0 (censored) or 1 (event)")
    z = float(norm.ppf(0.5 + confidence_level / 2))
    table = (
        data.group_by("time")
        .agg(pl.col("event").sum().alias("n_events"), pl.len().alias("n_obs"))
        .sort("time")
        .with_columns(
            (pl.lit(data.height, pl.Int64) - pl.col("n_obs").cast(pl.Int64).cum_sum().shift(1, fill_value=0))
            .alias("n_at_risk"),
            (pl.col("n_obs") - pl.col("n_events")).alias("n_censored"),
        )
        .with_columns(pl.col("n_at_risk").cast(pl.Int64), pl.col("n_events").cast(pl.Int64),
                      pl.col("n_censored").cast(pl.Int64))
    )
    n, d = pl.col("n_at_risk").cast(pl.Float64), pl.col("n_events").cast(pl.Float64)
    table = table.with_columns(
        (1.0 - d / n).cum_prod().alias("survival"),
        # Greenwood: sum of d / (n (n - d)) over event times up to t; infinite once S reaches 0
        pl.when(d > 0).then(d / (n * (n - d))).otherwise(0.0).cum_sum().alias("greenwood"),
    )
    s, gw = pl.col("survival"), pl.col("greenwood")
    log_log_se = gw.sqrt() / s.log().abs()
    inside = (s > 0) & (s < 1)
    return table.with_columns(
        pl.when(s > 0).then(s * gw.sqrt()).otherwise(0.0).alias("se"),
        # exp(-exp(log(-log S) +/- z se)) written as S ** exp(+/- z se)
        pl.when(inside).then(s.pow((z * log_log_se).exp())).otherwise(s).alias("lower"),
        pl.when(inside).then(s.pow((-z * log_log_se).exp())).otherwise(s).alias("upper"),
    ).select(KM_COLUMNS)


@dataclass(frozen=True)
class KmPoint:
    """The Kaplan-Meier step function read at one time."""

    time: float
    survival: float
    se: float
    lower: float
    upper: float
    n_at_risk: int  # subjects still at risk at `time` (observed time >= time)
    beyond_follow_up: bool  # `time` is after the last observed time: the estimate is carried forward


def km_at(table: pl.DataFrame, t: float) -> KmPoint:
    """S(t) from a `kaplan_meier` table: the last step at or before t (1 before the first step)."""
    upto = table.filter(pl.col("time") <= t)
    later = table.filter(pl.col("time") >= t)
    at_risk = int(later.select(pl.col("n_events") + pl.col("n_censored")).sum().item()) if later.height else 0
    if upto.is_empty():
        return KmPoint(t, 1.0, 0.0, 1.0, 1.0, at_risk, table.is_empty())
    row = upto.row(-1, named=True)
    return KmPoint(
        t, float(row["survival"]), float(row["se"]), float(row["lower"]), float(row["upper"]), at_risk,
        bool(t > table["time"].max()),
    )
