"""The DLT window of each subject, and whether a (possibly partial) date falls in it.

protocol.md "DLT window and evaluability": day 1 = the first dose of either drug; the window
runs from `window.first_day` to `window.last_day` inclusive (day 28 in, day 29 out).
"""

from __future__ import annotations

import polars as pl

from safety.dates import derive_dates, derived_names
from safety.dlt.rules import DltRules

IN, OUT, REVIEW = "IN", "OUT", "REVIEW"
# The polars engine for the DLT plans: they read small tables (a row per subject, AE, dosing
# period or lab result found), where the in-memory engine starts faster than the default
# streaming one. (The eDISH group-by over every liver result is left to the default.)
ENGINE = "in-memory"


def with_dates(frame: pl.DataFrame | pl.LazyFrame, dtc: str, impute: str = "first") -> pl.LazyFrame:
    """The frame (lazy) with the derived --DT/--DTF/--DTM of `dtc`, derived here if absent."""
    lazy = frame.lazy()
    if dtc in lazy.collect_schema() and derived_names(dtc)[0] not in lazy.collect_schema():
        lazy = derive_dates(lazy, dtc, impute)
    return lazy


def only(frame: pl.DataFrame | pl.LazyFrame, *columns: str) -> pl.LazyFrame:
    """The frame (lazy) with those of `columns` it has: a sort or filter then copies only these."""
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    return lazy.select(c for c in columns if c in schema)


def first_dose(dm: pl.DataFrame | pl.LazyFrame, ex: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """USUBJID, FIRSTDOSE: the earliest of DM RFXSTDT and any EX start with a dose taken."""
    from_dm = with_dates(dm, "RFXSTDTC").select("USUBJID", pl.col("RFXSTDT").alias("D"))
    from_ex = (
        with_dates(ex, "EXSTDTC")
        .filter(pl.col("EXDOSE") > 0)
        .select("USUBJID", pl.col("EXSTDT").alias("D"))
    )
    return (
        pl.concat([from_dm, from_ex])
        .group_by("USUBJID")
        .agg(pl.col("D").min().alias("FIRSTDOSE"))
        .filter(pl.col("FIRSTDOSE").is_not_null())
    )


def dlt_window(dm: pl.DataFrame | pl.LazyFrame, ex: pl.DataFrame | pl.LazyFrame, rules: DltRules) -> pl.LazyFrame:
    """USUBJID, FIRSTDOSE, WINSTDT, WINENDT (inclusive dates of the DLT window)."""
    return first_dose(dm, ex).with_columns(
        (pl.col("FIRSTDOSE") + pl.duration(days=rules.window.first_day - 1)).alias("WINSTDT"),
        (pl.col("FIRSTDOSE") + pl.duration(days=rules.window.last_day - 1)).alias("WINENDT"),
    )


def latest_possible(date_col: str, flag_col: str) -> pl.Expr:
    """The last date a partial start date allows (its derived date is the first)."""
    d = pl.col(date_col)
    return (
        pl.when(pl.col(flag_col) == "D").then(d.dt.month_end())
        .when(pl.col(flag_col) == "M").then(pl.date(d.dt.year(), 12, 31))
        .otherwise(d)
    )


def placement(earliest: pl.Expr, latest: pl.Expr, start: str = "WINSTDT", end: str = "WINENDT") -> pl.Expr:
    """IN when every date the known part allows is inside the window, OUT when none is,
    REVIEW otherwise or when there is no date (protocol.md: placed only when the known part
    allows it, otherwise flagged for review)."""
    return (
        pl.when(earliest.is_null()).then(pl.lit(REVIEW))
        .when((earliest >= pl.col(start)) & (latest <= pl.col(end))).then(pl.lit(IN))
        .when((latest < pl.col(start)) | (earliest > pl.col(end))).then(pl.lit(OUT))
        .otherwise(pl.lit(REVIEW))
    )
