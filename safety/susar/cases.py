"""SUSAR cases and their follow-ups from the versioned AE records, with reporting clocks.

Day 0 is the date the sponsor first had the minimum information (ICH E2A III.A). For the first
version of an AE that is the awareness date (AEAWDT); if the case only became a SUSAR, or became
fatal/life-threatening, on a later version, the clock starts when that new information arrived
(EU 536/2014 annex III; 21 CFR 312.32(c)(1)): the awareness date if the version changed it, else the
date the version was ingested (`_valid_from`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from safety.dates import derive_dates
from safety.rsi import Rsi
from safety.schemas import SERIOUSNESS_FLAGS
from safety.susar.classify import classify_susars
from safety.susar.clock import clock_status, days_to_due, due_date
from safety.susar.config import PvConfig

KEY = ["USUBJID", "AESEQ"]
# Changes that make a follow-up report (pharmacovigilance.md: outcome, causality, seriousness; and
# grade and term, which change the nature or severity judged against the RSI).
FOLLOWUP_FIELDS = ("AEOUT", "AESER", *SERIOUSNESS_FLAGS, "AETOXGR", "AETERM", "AEDECOD")
AWARENESS_MISSING = "AE start date (awareness date missing)"
COMPLETE = "complete"  # report type of the complete report of a fatal or life-threatening case
NO_DATES = "date this version was received (awareness and AE start dates missing)"


def _with_dates(frame: pl.DataFrame) -> pl.DataFrame:
    for dtc in ("AESTDTC", "AEAWDTC"):
        derived = dtc[:-1]
        if derived not in frame.columns:
            frame = derive_dates(frame if dtc in frame.columns else frame.with_columns(
                pl.lit(None, dtype=pl.String).alias(dtc)), dtc, "first")
    return frame


def _version_day0(frame: pl.DataFrame) -> pl.DataFrame:
    """Per version: the day 0 of the information that version brought, and how it was chosen."""
    prev_aw = pl.col("AEAWDT").shift(1).over(KEY)
    first = pl.col("_version") == pl.col("_version").min().over(KEY)
    aw_changed = pl.col("AEAWDT").is_not_null() & pl.col("AEAWDT").ne_missing(prev_aw)
    ingested = pl.col("_valid_from").cast(pl.Datetime("us")).dt.date()
    return frame.with_columns(
        pl.when(first & pl.col("AEAWDT").is_not_null()).then(pl.col("AEAWDT"))
        .when(first & pl.col("AESTDT").is_not_null()).then(pl.col("AESTDT"))
        # no date at all: the sponsor had the information, at the latest, when the record arrived
        .when(first).then(ingested)
        .when(aw_changed).then(pl.col("AEAWDT"))
        .when(ingested.is_not_null()).then(ingested)
        .otherwise(pl.coalesce("AEAWDT", "AESTDT"))
        .alias("VERSION_DAY0"),
        pl.when(first & pl.col("AEAWDT").is_not_null()).then(pl.lit("awareness date (AEAWDT)"))
        .when(first & pl.col("AESTDT").is_not_null()).then(pl.lit(AWARENESS_MISSING))
        .when(first).then(pl.lit(NO_DATES))
        .when(aw_changed).then(pl.lit("awareness date changed in this version (AEAWDT)"))
        .when(ingested.is_not_null()).then(pl.lit("date this version was received (_valid_from)"))
        .when(pl.col("AEAWDT").is_not_null()).then(pl.lit("awareness date (AEAWDT)"))
        .otherwise(pl.lit(AWARENESS_MISSING))
        .alias("VERSION_DAY0_BASIS"),
    )


def _submitted(submissions: pl.DataFrame | None) -> pl.DataFrame:
    schema = {"CASE_ID": pl.String, "REPORT_TYPE": pl.String, "SUBMITTED_ON": pl.Date}
    if submissions is None or submissions.height == 0:
        return pl.DataFrame(schema=schema)
    on = pl.col("SUBMITTED_ON")
    if submissions.schema["SUBMITTED_ON"] == pl.String:
        on = on.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return (
        submissions.select(pl.col("CASE_ID").cast(pl.String),
                           pl.col("REPORT_TYPE").cast(pl.String).str.strip_chars().str.to_lowercase(),
                           on.cast(pl.Date).alias("SUBMITTED_ON"))
        .group_by("CASE_ID", "REPORT_TYPE").agg(pl.col("SUBMITTED_ON").min())
    )


def susar_cases(
    ae_versions: pl.DataFrame,
    rsi: Rsi,
    pv_cfg: PvConfig,
    dm: pl.DataFrame | None,
    ex: pl.DataFrame | None,
    submissions: pl.DataFrame | None,
    today: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cases, followups).

    cases, one row per AE (USUBJID, AESEQ) that is or ever was a SUSAR: CASE_ID, STUDYID, USUBJID,
    AESEQ, SITEID, COUNTRY, CASE_STATE ('SUSAR' | 'DOWNGRADED'), INITIAL_VERSION, INITIAL_RUN_ID,
    LATEST_VERSION, LATEST_RUN_ID, DAY0, DAY0_BASIS, DAY0_IMPUTED, FATAL_OR_LT, DUE_DATE,
    SUBMITTED_DATE, STATUS, DAYS_TO_DUE, COMPLETE_DUE / COMPLETE_SUBMITTED / COMPLETE_STATUS /
    COMPLETE_DAYS_TO_DUE (the complete report of a fatal or life-threatening case, 8 days after the
    7-day report of the initial or of the follow-up that made it fatal/LT; null otherwise),
    N_FOLLOWUPS, LATEST_REPORT_TYPE/_DAY0/_DUE/_SUBMITTED/_STATUS, NEXT_DUE_DATE (earliest
    unsubmitted report), the latest version's classification (SERIOUS, SERIOUS_CRITERIA,
    RELATED_*, EXPECTED_*, UNEXPECTED, IS_SUSAR, SUSPECT_DRUGS, EXPECTEDNESS_BASIS, DATA_QUERY),
    RSI_VERSION, PV_CONFIG_VERSION.

    followups, one row per later version (after the case's initial version) that changed a field
    of FOLLOWUP_FIELDS or causality: CASE_ID, USUBJID, AESEQ, _version, _run_id, _valid_from,
    FOLLOWUP_N, REPORT_TYPE ('follow-up n'), CHANGED_FIELDS, DAY0, DAY0_BASIS, FATAL_OR_LT, IS_SUSAR,
    DUE_DATE, SUBMITTED_DATE, STATUS, DAYS_TO_DUE, RSI_VERSION, PV_CONFIG_VERSION.
    `ex` is accepted for a uniform signature and not used: exposure enters the line listing.
    """
    del ex
    missing = [c for c in ("_version", "_valid_from") if c not in ae_versions.columns]
    if missing:
        raise ValueError(f"AE versions frame lacks {', '.join(missing)}: pass every stored version")
    frame = ae_versions
    if "_run_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("_run_id"))
    clocks = pv_cfg.clocks
    cls = _version_day0(classify_susars(_with_dates(frame), rsi, pv_cfg).sort(*KEY, "_version"))
    cls = cls.with_columns(
        pl.concat_str(pl.col("STUDYID").fill_null(""), pl.lit("-"), pl.col("USUBJID"), pl.lit("-"),
                      pl.col("AESEQ").cast(pl.String)).alias("CASE_ID"),
    )
    causality_cols = [d.causality_column for d in pv_cfg.suspect_drugs]
    changed = {f: pl.col(f).ne_missing(pl.col(f).shift(1).over(KEY)) for f in (*FOLLOWUP_FIELDS, *causality_cols)}
    cls = cls.with_columns(
        pl.concat_str([pl.when(c).then(pl.lit(f)) for f, c in changed.items()], separator=", ",
                      ignore_nulls=True).alias("CHANGED_FIELDS"),
        pl.col("IS_SUSAR").any().over(KEY).alias("_EVER_SUSAR"),
    ).filter(pl.col("_EVER_SUSAR"))

    # a partial awareness date (2025-03) gives an imputed day 0 (its first day): say so
    aw_partial = (pl.col("AEAWDTF").is_not_null() & pl.col("AEAWDTC").is_not_null()
                  if {"AEAWDTF", "AEAWDTC"} <= set(cls.columns) else pl.lit(False))
    aw_text = pl.col("AEAWDTC").cast(pl.String) if "AEAWDTC" in cls.columns else pl.lit(None, pl.String)
    initial = (
        cls.filter(pl.col("IS_SUSAR")).group_by(KEY).agg(pl.all().sort_by("_version").first())
        .select(
            *KEY, "CASE_ID",
            pl.col("_version").alias("INITIAL_VERSION"), pl.col("_run_id").alias("INITIAL_RUN_ID"),
            pl.col("VERSION_DAY0").alias("DAY0"), pl.col("VERSION_DAY0_BASIS").alias("DAY0_BASIS"),
            pl.col("FATAL_OR_LT"), aw_partial.alias("_aw_partial"), aw_text.alias("_aw_text"),
        )
        .with_columns(
            pl.when(pl.col("DAY0_BASIS").is_in([AWARENESS_MISSING, NO_DATES])).then(pl.col("DAY0_BASIS"))
            .when(pl.col("DAY0_BASIS").str.starts_with("awareness date") & pl.col("_aw_partial"))
            .then(pl.concat_str(pl.lit("awareness date partial ("), pl.col("_aw_text"),
                                pl.lit("), imputed to its first day")))
            .alias("DAY0_IMPUTED"),
            due_date(pl.col("DAY0"), pl.col("FATAL_OR_LT"), clocks).alias("DUE_DATE"),
        )
        .drop("_aw_partial", "_aw_text")
    )
    subs = _submitted(submissions)

    followups = (
        cls.join(initial.select(*KEY, "INITIAL_VERSION"), on=KEY)
        .filter((pl.col("_version") > pl.col("INITIAL_VERSION")) & (pl.col("CHANGED_FIELDS") != ""))
        .sort(*KEY, "_version")
        .with_columns(pl.int_range(1, pl.len() + 1).over(KEY).alias("FOLLOWUP_N"))
        .with_columns(
            pl.concat_str(pl.lit("follow-up "), pl.col("FOLLOWUP_N").cast(pl.String)).alias("REPORT_TYPE"),
            pl.col("VERSION_DAY0").alias("DAY0"), pl.col("VERSION_DAY0_BASIS").alias("DAY0_BASIS"),
            # the 7-day clock runs from the follow-up that first shows a fatal/LT outcome
            due_date(pl.col("VERSION_DAY0"), pl.col("FATAL_OR_LT"), clocks).alias("DUE_DATE"),
        )
        .join(subs.rename({"SUBMITTED_ON": "SUBMITTED_DATE"}), on=["CASE_ID", "REPORT_TYPE"], how="left")
        .with_columns(
            clock_status(pl.col("DUE_DATE"), pl.col("SUBMITTED_DATE"), today, clocks).alias("STATUS"),
            days_to_due(pl.col("DUE_DATE"), today).alias("DAYS_TO_DUE"),
        )
        .select(
            "CASE_ID", "STUDYID", *KEY, "_version", "_run_id", "_valid_from", "FOLLOWUP_N", "REPORT_TYPE",
            "CHANGED_FIELDS", "DAY0", "DAY0_BASIS", "FATAL_OR_LT", "IS_SUSAR", "DUE_DATE", "SUBMITTED_DATE",
            "STATUS", "DAYS_TO_DUE", "RSI_VERSION", "PV_CONFIG_VERSION",
        )
    )

    initial_sub = subs.filter(pl.col("REPORT_TYPE") == "initial").select(
        "CASE_ID", pl.col("SUBMITTED_ON").alias("SUBMITTED_DATE"))
    complete_sub = subs.filter(pl.col("REPORT_TYPE") == COMPLETE).select(
        "CASE_ID", pl.col("SUBMITTED_ON").alias("COMPLETE_SUBMITTED"))
    # A fatal or life-threatening case owes a complete report 8 days after its 7-day report: the
    # initial one, or the follow-up that first brought the fatal/LT information.
    fatal_fu_due = followups.filter("FATAL_OR_LT").group_by(KEY).agg(pl.col("DUE_DATE").min().alias("_fatal_fu_due"))
    latest_fu = (
        followups.sort("FOLLOWUP_N").group_by(KEY).agg(
            pl.len().alias("N_FOLLOWUPS"),
            pl.col("REPORT_TYPE").last().alias("_fu_type"), pl.col("DAY0").last().alias("_fu_day0"),
            pl.col("DUE_DATE").last().alias("_fu_due"), pl.col("SUBMITTED_DATE").last().alias("_fu_sub"),
            pl.col("STATUS").last().alias("_fu_status"),
            pl.col("DUE_DATE").filter(pl.col("SUBMITTED_DATE").is_null()).min().alias("_fu_next_due"),
        )
    )
    latest = cls.group_by(KEY).agg(pl.all().sort_by("_version").last()).select(
        "STUDYID", *KEY,
        pl.col("_version").alias("LATEST_VERSION"), pl.col("_run_id").alias("LATEST_RUN_ID"),
        pl.when(pl.col("IS_SUSAR")).then(pl.lit("SUSAR")).otherwise(pl.lit("DOWNGRADED")).alias("CASE_STATE"),
        "SERIOUS", "SERIOUS_CRITERIA", "FATAL", "LIFE_THREATENING",
        *(c for d in pv_cfg.suspect_drugs for c in (f"RELATED_{d.code}", f"EXPECTED_{d.code}", f"RSI_TERM_{d.code}")),
        "SUSPECT_DRUGS", "UNEXPECTED", "IS_SUSAR", "EXPECTEDNESS_BASIS", "DATA_QUERY", "RSI_VERSION",
        "PV_CONFIG_VERSION",
    )
    cases = (
        initial.join(latest, on=KEY)
        .join(initial_sub, on="CASE_ID", how="left")
        .join(latest_fu, on=KEY, how="left")
        .join(fatal_fu_due, on=KEY, how="left")
        .join(complete_sub, on="CASE_ID", how="left")
        .with_columns(
            (pl.when(pl.col("FATAL_OR_LT")).then(pl.col("DUE_DATE")).otherwise(pl.col("_fatal_fu_due"))
             + pl.duration(days=clocks.fatal_followup_days)).alias("COMPLETE_DUE"),
        )
        .with_columns(
            clock_status(pl.col("DUE_DATE"), pl.col("SUBMITTED_DATE"), today, clocks).alias("STATUS"),
            days_to_due(pl.col("DUE_DATE"), today).alias("DAYS_TO_DUE"),
            pl.col("N_FOLLOWUPS").fill_null(0).cast(pl.Int64),
            pl.when(pl.col("COMPLETE_DUE").is_not_null())
            .then(clock_status(pl.col("COMPLETE_DUE"), pl.col("COMPLETE_SUBMITTED"), today, clocks))
            .alias("COMPLETE_STATUS"),
            days_to_due(pl.col("COMPLETE_DUE"), today).alias("COMPLETE_DAYS_TO_DUE"),
        )
        .with_columns(
            pl.coalesce("_fu_type", pl.lit("initial")).alias("LATEST_REPORT_TYPE"),
            pl.coalesce("_fu_day0", "DAY0").alias("LATEST_REPORT_DAY0"),
            pl.coalesce("_fu_due", "DUE_DATE").alias("LATEST_REPORT_DUE"),
            pl.when(pl.col("_fu_type").is_null()).then(pl.col("SUBMITTED_DATE")).otherwise(pl.col("_fu_sub"))
            .alias("LATEST_REPORT_SUBMITTED"),
            pl.coalesce("_fu_status", "STATUS").alias("LATEST_REPORT_STATUS"),
            pl.min_horizontal(pl.when(pl.col("SUBMITTED_DATE").is_null()).then(pl.col("DUE_DATE")),
                              pl.col("_fu_next_due"),
                              pl.when(pl.col("COMPLETE_SUBMITTED").is_null()).then(pl.col("COMPLETE_DUE")))
            .alias("NEXT_DUE_DATE"),
        )
        .drop("_fu_type", "_fu_day0", "_fu_due", "_fu_sub", "_fu_status", "_fu_next_due", "_fatal_fu_due")
    )
    if dm is not None and dm.height:
        site = dm.select("USUBJID", *(c for c in ("SITEID", "COUNTRY") if c in dm.columns)).unique("USUBJID")
        cases = cases.join(site, on="USUBJID", how="left")
    for c in ("SITEID", "COUNTRY"):
        if c not in cases.columns:
            cases = cases.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    first = ["CASE_ID", "STUDYID", *KEY, "SITEID", "COUNTRY", "CASE_STATE"]
    return cases.select(*first, pl.exclude(first)).sort("CASE_ID"), followups.sort("CASE_ID", "FOLLOWUP_N")
