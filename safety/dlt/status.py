"""DLT status of each subject at a data cut (protocol.md "DLT window and evaluability").

Only committee-confirmed DLTs count. A subject with a confirmed DLT in the window is
"EVALUABLE, DLT" whatever the doses taken or why they left (protocol.md: "or had a DLT in the
window whatever the doses taken"); without one, leaving the window early or taking < 75% of
planned doses of either drug makes the subject "NOT EVALUABLE" (replaced). A confirmation
names a CANDIDATE_ID of the current candidates; the latest decision (by AT) stands.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from safety.dlt.exposure import doses_in_window, dosing_periods
from safety.dlt.rules import DltRules
from safety.dlt.window import ENGINE, dlt_window, only, with_dates

IN_WINDOW, NO_DLT, DLT, NOT_EVALUABLE = "IN WINDOW", "EVALUABLE, NO DLT", "EVALUABLE, DLT", "NOT EVALUABLE"


def latest_decisions(confirmations: pl.DataFrame | pl.LazyFrame | None) -> pl.LazyFrame:
    """CANDIDATE_ID, DECISION, BY, AT, COMMENT: the latest decision per candidate."""
    if confirmations is None:
        return pl.LazyFrame(schema={"CANDIDATE_ID": pl.String, "DECISION": pl.String, "BY": pl.String,
                                    "AT": pl.Datetime("us"), "COMMENT": pl.String})
    return (
        confirmations.lazy()
        .with_columns(pl.col("DECISION").str.strip_chars().str.to_uppercase())
        # stable: of two decisions at the same AT the later row (recorded later) stands
        .sort("CANDIDATE_ID", "AT", maintain_order=True)
        .group_by("CANDIDATE_ID")
        .last()
    )


def dose_levels(ex: pl.DataFrame | pl.LazyFrame, rules: DltRules) -> pl.LazyFrame:
    """USUBJID, STARTDOSE, DOSELVL: the level of the first dose of the run-in drug."""
    r = rules.runin
    to_level = {float(dose): level for level, dose in r.dose_levels.items()}
    return (
        with_dates(only(ex, "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXSTDTC", "EXSTDT"), "EXSTDTC")
        .filter((pl.col("EXTRT").str.strip_chars().str.to_uppercase() == r.dose_drug.upper()) & (pl.col("EXDOSE") > 0))
        .sort("USUBJID", "EXSTDT", "EXSEQ")
        .group_by("USUBJID", maintain_order=True)
        .agg(pl.col("EXDOSE").first().alias("STARTDOSE"))
        .with_columns(pl.col("STARTDOSE").replace_strict(to_level, default=None, return_dtype=pl.Int64).alias("DOSELVL"))
    )


def departures(dm: pl.DataFrame | pl.LazyFrame, ds: pl.DataFrame | pl.LazyFrame | None, window: pl.LazyFrame,
               rules: DltRules, days: int | None = None) -> pl.LazyFrame:
    """USUBJID, DEPARTDT, DEPARTRSN, DEPARTSRC, DEPARTTOX: the first departure from first dose to
    the end of the window (or to day `days`): a DS record not in `not_a_departure`, or death.

    Several on the first day: a toxicity reason first (a same-day administrative record must not
    hide a discontinuation for toxicity, which is a monitoring event), a DS record before the death
    date in DM, then the lowest DSSEQ, so the choice never depends on row order."""
    ev = rules.evaluability
    end = pl.col("WINENDT") if days is None else pl.col("FIRSTDOSE") + pl.duration(days=days - 1)
    parts = [
        with_dates(dm, "DTHDTC").select(
            "USUBJID", pl.col("DTHDT").alias("DEPARTDT"), pl.lit("DEATH").alias("DEPARTRSN"), pl.lit("DM").alias("DEPARTSRC"),
            pl.lit(None, pl.Float64).alias("_SEQ"),
        )
    ]
    if ds is not None:
        lazy = with_dates(with_dates(ds, "DSSTDTC"), "DSDTC")
        parts.append(
            lazy.filter(~pl.col("DSDECOD").str.strip_chars().str.to_uppercase().is_in([d.upper() for d in ev.not_a_departure]))
            .select(
                "USUBJID", pl.coalesce("DSSTDT", "DSDT").alias("DEPARTDT"),
                pl.col("DSDECOD").str.strip_chars().str.to_uppercase().alias("DEPARTRSN"),
                pl.concat_str(pl.lit("DS:"), pl.col("DSSEQ").cast(pl.String)).alias("DEPARTSRC"),
                pl.col("DSSEQ").cast(pl.Float64, strict=False).alias("_SEQ"),
            )
        )
    toxicity = pl.col("DEPARTRSN").is_in([t.upper() for t in ev.toxicity_reasons])
    return (
        pl.concat(parts, how="vertical_relaxed")
        .join(window, on="USUBJID")
        .filter(pl.col("DEPARTDT").is_between(pl.col("FIRSTDOSE"), end))
        .with_columns(toxicity.alias("DEPARTTOX"))
        .sort("USUBJID", "DEPARTDT", "DEPARTTOX", pl.col("DEPARTSRC") == "DM", "_SEQ", "DEPARTSRC",
              descending=[False, False, True, False, False, False], nulls_last=True)
        .group_by("USUBJID", maintain_order=True)
        .first()
        .select("USUBJID", "DEPARTDT", "DEPARTRSN", "DEPARTSRC", "DEPARTTOX")
    )


def dlt_status(
    dm: pl.DataFrame | pl.LazyFrame,
    ex: pl.DataFrame | pl.LazyFrame,
    candidates: pl.DataFrame,
    confirmations: pl.DataFrame | None,
    rules: DltRules,
    data_cut: date,
    ds: pl.DataFrame | pl.LazyFrame | None = None,
    *,
    window: pl.DataFrame | None = None,
    periods: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per dosed subject: USUBJID, COHORT, DOSELVL, FIRSTDOSE, WINENDT, DOSES (per drug,
    text), MINDOSES, N_CAND, N_PENDING (no decision yet), N_CONFIRMED, CONFIRMED_IDS,
    CANDIDATE_IDS, DEPARTDT, DEPARTRSN, DEPARTSRC, DLTSTAT, DLTRSN, DATACUT, RULE_VERSION.
    `window` (dlt_window) and `periods` (dosing_periods), collected, if already worked out."""
    ev = rules.evaluability
    window = (dlt_window(dm, ex, rules).collect(engine=ENGINE) if window is None else window).lazy()
    decided = candidates.lazy().join(latest_decisions(confirmations), on="CANDIDATE_ID", how="left")
    tally = decided.group_by("USUBJID").agg(
        pl.len().alias("N_CAND"),
        pl.col("DECISION").is_null().sum().alias("N_PENDING"),
        pl.col("CANDIDATE_ID").filter(pl.col("DECISION") == "CONFIRMED").unique().sort().alias("CONFIRMED_IDS"),
        pl.col("CANDIDATE_ID").unique().sort().alias("CANDIDATE_IDS"),
    ).with_columns(pl.col("CONFIRMED_IDS").list.len().alias("N_CONFIRMED"))
    if periods is None:
        periods = dosing_periods(ex, rules, data_cut).collect(engine=ENGINE)
    doses = doses_in_window(ex, window, rules, periods=periods).group_by("USUBJID").agg(
        pl.concat_str("DRUG", pl.lit(" "), pl.col("DOSES").cast(pl.String), pl.lit(f"/{ev.planned_doses}"))
        .sort().str.join("; ").alias("DOSES"),
        pl.col("DOSES").min().alias("MINDOSES"),
    )
    cohort = dm.lazy().select("USUBJID", *(["COHORT"] if "COHORT" in dm.lazy().collect_schema() else []))
    frame = (
        window.join(cohort, on="USUBJID", how="left")
        .join(dose_levels(ex, rules), on="USUBJID", how="left")
        .join(doses, on="USUBJID", how="left")
        .join(tally, on="USUBJID", how="left")
        .join(departures(dm, ds, window, rules), on="USUBJID", how="left")
        .with_columns(pl.col("N_CAND", "N_PENDING", "N_CONFIRMED").fill_null(0))
    )
    cut = pl.lit(data_cut)
    left_early = pl.col("DEPARTDT").is_not_null() & (pl.col("DEPARTDT") < pl.col("WINENDT"))
    status = (
        pl.when(pl.col("N_CONFIRMED") > 0).then(pl.lit(DLT))
        .when(left_early & ~pl.col("DEPARTTOX")).then(pl.lit(NOT_EVALUABLE))
        .when(~left_early & (cut < pl.col("WINENDT"))).then(pl.lit(IN_WINDOW))
        .when(left_early).then(pl.lit(NOT_EVALUABLE))
        .when(pl.col("MINDOSES") < ev.min_doses).then(pl.lit(NOT_EVALUABLE))
        .otherwise(pl.lit(NO_DLT))
    )
    pending = pl.when(pl.col("N_PENDING") > 0).then(
        pl.concat_str(pl.lit("; "), pl.col("N_PENDING").cast(pl.String), pl.lit(" candidate(s) awaiting committee review"))
    ).otherwise(pl.lit(""))
    reason = (
        pl.when(pl.col("DLTSTAT") == DLT).then(
            pl.concat_str(pl.lit("confirmed DLT "), pl.col("CONFIRMED_IDS").list.join(", "))
        )
        .when((pl.col("DLTSTAT") == NOT_EVALUABLE) & left_early).then(
            pl.concat_str(pl.lit("left the window early on "), pl.col("DEPARTDT").cast(pl.String), pl.lit(" ("),
                          pl.col("DEPARTRSN"), pl.lit(") without a confirmed DLT"), pending)
        )
        .when(pl.col("DLTSTAT") == NOT_EVALUABLE).then(
            pl.concat_str(pl.lit(f"fewer than {ev.min_doses} of {ev.planned_doses} planned doses ("), pl.col("DOSES"),
                          pl.lit(") without a confirmed DLT"), pending)
        )
        .otherwise(pl.when(pl.col("N_PENDING") > 0).then(pending.str.strip_prefix("; ")))
    )
    return (
        frame.with_columns(status.alias("DLTSTAT"))
        .with_columns(reason.alias("DLTRSN"), cut.alias("DATACUT"), pl.lit(rules.version).alias("RULE_VERSION"))
        .select(
            "USUBJID", pl.col("COHORT") if "COHORT" in frame.collect_schema() else pl.lit(None, pl.String).alias("COHORT"),
            "DOSELVL", "FIRSTDOSE", "WINENDT", "DOSES", "MINDOSES", "N_CAND", "N_PENDING", "N_CONFIRMED",
            "CONFIRMED_IDS", "CANDIDATE_IDS", "DEPARTDT", "DEPARTRSN", "DEPARTSRC", "DLTSTAT", "DLTRSN",
            "DATACUT", "RULE_VERSION",
        )
        .sort("FIRSTDOSE", "USUBJID")
        .collect(engine=ENGINE)
    )


def dlt_report(status: pl.DataFrame, candidates: pl.DataFrame,
               confirmations: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per candidate (or per subject without one) for the CLI: the subject's status
    beside each candidate, its triggering records and the committee's latest decision."""
    latest = latest_decisions(confirmations).collect(engine=ENGINE)
    decided = candidates.join(latest, on="CANDIDATE_ID", how="left").select(
        "USUBJID", "CANDIDATE_ID", "DLT_RULE", "DLTSTDT", "SRC", "TERM", "GRADE", "DURATION", "DURUNIT",
        "CANDSTAT", "REVIEWRSN",
        pl.col("DECISION").fill_null("AWAITING REVIEW").alias("DECISION"), pl.col("BY").alias("DECIDED_BY"),
    )
    return (
        status.select("USUBJID", "COHORT", "DOSELVL", "FIRSTDOSE", "DLTSTAT", "DLTRSN", "DOSES", "RULE_VERSION")
        .join(decided, on="USUBJID", how="left")
        .sort("FIRSTDOSE", "USUBJID", "DLTSTDT", "CANDIDATE_ID", nulls_last=True)
    )
