"""Doses taken and interruptions, per subject and drug, from EX dosing periods.

Canonical EX has one row per drug per dosing period, EXSTDTC..EXENDTC inclusive, EXDOSE 0 for
an interruption; a day with no EX record between the first dose and the last EX end is an
interruption too (its reason is then unknown). Interval arithmetic only: no day expansion.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from safety.dlt.rules import DltRules
from safety.dlt.window import ENGINE, only, with_dates

TOXICITY, OTHER, UNKNOWN = "TOXICITY", "OTHER", "UNKNOWN"


def dosing_periods(ex: pl.DataFrame | pl.LazyFrame, rules: DltRules, data_cut: date | None = None) -> pl.LazyFrame:
    """The EX records of the evaluability drugs with a start date: EXENDT filled, DRUG normalised.
    `doses_in_window` and `interruptions` take them collected (`periods=`) to share one read of EX.

    A record without an end date is ongoing (an EDC leaves the current dosing period open): it
    runs to the day before the drug's next record starts, or, the last one, to the data cut
    (without a cut: its start day only). Read as one day, an open record would make a subject
    who is still dosed look as if they had taken too few doses to be evaluable."""
    drugs = [d.upper() for d in rules.evaluability.drugs]
    ex = only(ex, "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXADJ", "EXSTDTC", "EXSTDT", "EXENDTC", "EXENDT")
    lazy = with_dates(with_dates(ex, "EXSTDTC"), "EXENDTC", "last")
    next_start = pl.col("EXSTDT").shift(-1).over("USUBJID", "DRUG", order_by=["EXSTDT", "EXSEQ"])
    open_end = pl.coalesce(next_start - pl.duration(days=1), pl.lit(data_cut, pl.Date), pl.col("EXSTDT"))
    return (
        lazy.with_columns(pl.col("EXTRT").str.strip_chars().str.to_uppercase().alias("DRUG"))
        .filter(pl.col("DRUG").is_in(drugs) & pl.col("EXSTDT").is_not_null())
        .with_columns(pl.col("EXENDT").fill_null(pl.max_horizontal(open_end, pl.col("EXSTDT"))).alias("EXENDT"))
    )


def doses_in_window(ex: pl.DataFrame | pl.LazyFrame, window: pl.LazyFrame, rules: DltRules, *,
                    periods: pl.DataFrame | None = None) -> pl.LazyFrame:
    """USUBJID, DRUG, DOSES (days with a dose > 0 inside the window), LASTEXDT (last EX end).

    One row per subject in `window` and drug, DOSES 0 when a drug was never given.
    """
    drugs = pl.LazyFrame({"DRUG": [d.upper() for d in rules.evaluability.drugs]})
    periods = (dosing_periods(ex, rules) if periods is None else periods.lazy()).join(window, on="USUBJID")
    overlap = (
        pl.min_horizontal("EXENDT", "WINENDT") - pl.max_horizontal("EXSTDT", "WINSTDT")
    ).dt.total_days() + 1
    taken = (
        periods.group_by("USUBJID", "DRUG")
        .agg(
            pl.when(pl.col("EXDOSE") > 0).then(overlap.clip(lower_bound=0)).otherwise(0).sum().alias("DOSES"),
            pl.col("EXENDT").max().alias("LASTEXDT"),
        )
    )
    return (
        window.select("USUBJID").join(drugs, how="cross")
        .join(taken, on=["USUBJID", "DRUG"], how="left")
        .with_columns(pl.col("DOSES").fill_null(0).cast(pl.Int64))
    )


def interruptions(ex: pl.DataFrame | pl.LazyFrame, rules: DltRules, *,
                  periods: pl.DataFrame | None = None) -> pl.LazyFrame:
    """One row per interruption of a drug: USUBJID, DRUG, INTSTDT, INTENDT, INTDAYS, INTRSN
    (TOXICITY / OTHER / UNKNOWN from EXADJ of the zero-dose records in it), INTSEQ (EXSEQ of
    those records, comma-separated)."""
    if periods is None:  # small: worked on eagerly, read several times
        periods = dosing_periods(ex, rules).collect(engine=ENGINE)
    key = ["USUBJID", "DRUG"]
    # The rows are sorted by subject and drug, so the previous row's running maximum is the one
    # before in the same subject and drug unless the previous row is another subject's or drug's.
    same_as_before = pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).shift(1)) for c in key)
    # The running maximum per subject and drug, as one running maximum of the whole sorted column:
    # each subject and drug is lifted above those before it (its rank times the span of the dates),
    # which spares a window over the string keys.
    day = pl.col("EXENDT").cast(pl.Int64)
    lift = (~same_as_before).cum_sum() * (day.max() - day.min() + 1)
    running_end = ((day - day.min() + lift).cum_max() - lift + day.min()).cast(pl.Date)
    dosed = (
        periods.filter(pl.col("EXDOSE") > 0)
        .sort("USUBJID", "DRUG", "EXSTDT")
        .with_columns(pl.when(same_as_before).then(running_end.shift(1)).alias("PREVEND"))
    )
    gaps = (
        dosed.filter(pl.col("EXSTDT") > pl.col("PREVEND") + pl.duration(days=1))
        .select(
            "USUBJID", "DRUG",
            (pl.col("PREVEND") + pl.duration(days=1)).alias("INTSTDT"),
            (pl.col("EXSTDT") - pl.duration(days=1)).alias("INTENDT"),
        )
    )
    # Zero-dose records with no later dose yet: the interruption is still running at the last EX end.
    last_dose = dosed.group_by(key).agg(pl.col("EXENDT").max().alias("LASTDOSE"))
    open_ended = (
        periods.filter(pl.col("EXDOSE") == 0)
        .join(last_dose, on=key)
        .filter(pl.col("EXENDT") > pl.col("LASTDOSE"))
        .group_by(key)
        .agg(
            (pl.col("LASTDOSE").first() + pl.duration(days=1)).alias("INTSTDT"),
            pl.col("EXENDT").max().alias("INTENDT"),
        )
    )
    gaps = pl.concat([gaps, open_ended], how="vertical_relaxed")
    tox = [r.upper() for r in rules.evaluability.toxicity_reasons]
    reasons = (
        periods.filter(pl.col("EXDOSE") == 0)
        .join(gaps, on=["USUBJID", "DRUG"])
        .filter((pl.col("EXSTDT") <= pl.col("INTENDT")) & (pl.col("EXENDT") >= pl.col("INTSTDT")))
        .group_by("USUBJID", "DRUG", "INTSTDT")
        .agg(
            pl.col("EXADJ").str.strip_chars().str.to_uppercase().is_in(tox).any().alias("ANYTOX"),
            pl.col("EXADJ").is_not_null().any().alias("ANYRSN"),
            pl.col("EXSEQ").sort().cast(pl.String).str.join(",").alias("INTSEQ"),
        )
    )
    return (
        gaps.join(reasons, on=["USUBJID", "DRUG", "INTSTDT"], how="left")
        .with_columns(
            ((pl.col("INTENDT") - pl.col("INTSTDT")).dt.total_days() + 1).alias("INTDAYS"),
            pl.when(pl.col("ANYTOX")).then(pl.lit(TOXICITY))
            .when(pl.col("ANYRSN")).then(pl.lit(OTHER))
            .otherwise(pl.lit(UNKNOWN)).alias("INTRSN"),
        )
        .drop("ANYTOX", "ANYRSN")
        .lazy()
    )
