"""The event counted by continuous toxicity monitoring, per subject (protocol.md "Continuous
toxicity monitoring"): a treatment-related grade >= 3 AE in the first two cycles, or
discontinuation for toxicity. A subject is evaluable once they had the event or completed the
two cycles by the data cut without leaving early for another reason. An AE whose partial start
date cannot be placed in the period is not counted but flagged (TOXREVIEW) for the committee.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from safety.dlt.rules import DltRules
from safety.dlt.status import departures
from safety.dlt.window import ENGINE, IN, REVIEW, first_dose, latest_possible, placement, with_dates


def toxicity_events(
    ae: pl.DataFrame | pl.LazyFrame,
    dm: pl.DataFrame | pl.LazyFrame,
    ex: pl.DataFrame | pl.LazyFrame,
    ds: pl.DataFrame | pl.LazyFrame | None,
    rules: DltRules,
    data_cut: date,
    *,
    window: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per dosed subject: USUBJID, FIRSTDOSE, PERIODEND (day 56), TOXEVFL (Y/N), TOXEVDT,
    TOXEVSRC ("AE:12" / "DS:3"), TOXEVDESC, TOXEVAL (Y/N), TOXEVALRSN, TOXREVIEW, RULE_VERSION.
    `window`: the DLT windows (dlt_window), collected, if already worked out: their first doses."""
    cm = rules.continuous_monitoring
    related = [v.upper() for v in rules.related_values]
    first = first_dose(dm, ex) if window is None else window.lazy().select("USUBJID", "FIRSTDOSE")
    period = (
        first
        .with_columns(
            pl.col("FIRSTDOSE").alias("WINSTDT"),
            (pl.col("FIRSTDOSE") + pl.duration(days=cm.within_days - 1)).alias("WINENDT"),
        )
        .collect(engine=ENGINE)
        .lazy()
    )
    rel = (
        pl.col("AEREL").cast(pl.String).str.strip_chars().str.to_uppercase().is_in(related)
        | pl.col("AEREL2").cast(pl.String).str.strip_chars().str.to_uppercase().is_in(related)
    ).fill_null(False)
    aes = (
        with_dates(ae, "AESTDTC")
        .join(period, on="USUBJID")
        .filter(rel & (pl.col("AETOXGR") >= cm.min_grade).fill_null(False))
        .with_columns(placement(pl.col("AESTDT"), latest_possible("AESTDT", "AESTDTF")).alias("PLACE"))
    )
    ae_events = aes.filter(pl.col("PLACE") == IN).select(
        "USUBJID", pl.col("AESTDT").alias("TOXEVDT"),
        pl.concat_str(pl.lit("AE:"), pl.col("AESEQ").cast(pl.String)).alias("TOXEVSRC"),
        pl.concat_str(pl.coalesce("AEDECOD", "AETERM"), pl.lit(" grade "), pl.col("AETOXGR").cast(pl.String))
        .alias("TOXEVDESC"),
    )
    review = aes.filter(pl.col("PLACE") == REVIEW).group_by("USUBJID").agg(
        pl.concat_str(pl.lit("AE:"), pl.col("AESEQ").cast(pl.String), pl.lit(" start "), pl.col("AESTDTC"))
        .str.join(", ").alias("TOXREVIEW")
    )
    events = [ae_events]
    depart = departures(dm, ds, period, rules, days=cm.within_days)
    if ds is not None and cm.discontinuation_within_days:
        window = period.with_columns(
            (pl.col("FIRSTDOSE") + pl.duration(days=cm.discontinuation_within_days - 1)).alias("WINENDT")
        )
        events.append(
            departures(dm, ds, window, rules, days=cm.discontinuation_within_days)
            .filter(pl.col("DEPARTTOX") & pl.col("DEPARTSRC").str.starts_with("DS:"))
            .select("USUBJID", pl.col("DEPARTDT").alias("TOXEVDT"), pl.col("DEPARTSRC").alias("TOXEVSRC"),
                    pl.concat_str(pl.lit("discontinuation: "), pl.col("DEPARTRSN")).alias("TOXEVDESC"))
        )
    first_event = (
        pl.concat(events, how="vertical_relaxed")
        .sort("USUBJID", "TOXEVDT", "TOXEVSRC")
        .group_by("USUBJID", maintain_order=True)
        .first()
    )
    cut = pl.lit(data_cut)
    has_event = pl.col("TOXEVSRC").is_not_null()
    left = pl.col("DEPARTDT").is_not_null() & (pl.col("DEPARTDT") < pl.col("WINENDT"))
    completed = cut >= pl.col("WINENDT")
    return (
        period.join(first_event, on="USUBJID", how="left")
        .join(depart.select("USUBJID", "DEPARTDT", "DEPARTRSN"), on="USUBJID", how="left")
        .join(review, on="USUBJID", how="left")
        .with_columns(
            pl.when(has_event).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("TOXEVFL"),
            pl.when(has_event | (completed & ~left)).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("TOXEVAL"),
            pl.when(has_event).then(pl.lit("event"))
            .when(left).then(pl.concat_str(pl.lit("left before day "), pl.lit(str(cm.within_days)), pl.lit(" ("),
                                           pl.col("DEPARTRSN"), pl.lit(") without an event")))
            .when(completed).then(pl.lit(f"completed {cm.within_days} days without an event"))
            .otherwise(pl.lit(f"fewer than {cm.within_days} days of follow-up at the data cut")).alias("TOXEVALRSN"),
            pl.lit(rules.version).alias("RULE_VERSION"),
        )
        .select("USUBJID", "FIRSTDOSE", pl.col("WINENDT").alias("PERIODEND"), "TOXEVFL", "TOXEVDT", "TOXEVSRC",
                "TOXEVDESC", "TOXEVAL", "TOXEVALRSN", "TOXREVIEW", "RULE_VERSION")
        .sort("FIRSTDOSE", "USUBJID")
        .collect(engine=ENGINE)
    )
