"""Progression-free survival per RECIST 1.1: one ADTTE row (PARAMCD PFS) per treated subject.

Events and censoring follow the FDA guidance "Clinical Trial Endpoints for the Approval of Cancer
Drugs and Biologics" (2018), table of PFS date-of-progression/censoring options, in admiralonco's
vocabulary (event_source pd_event/death_event, censor_source lasta_censor/rand_censor):

| situation (FDA 2018 table)                         | ADT                                           | CNSR |
| progression documented                             | date of the first PD overall response         | 0    |
| death before first PD / between assessments        | date of death                                 | 0    |
| death or progression after more than one missed    | last adequate assessment before the missed    | 1    |
|   visit                                            |   visits                                      |      |
| new anticancer treatment started                   | last adequate assessment before new treatment | 1    |
| no progression                                     | last adequate assessment                      | 1    |
| no (adequate) post-baseline assessment             | start date (day 1)                            | 1    |

Dates: partial ISO dates are imputed to the first day of the known period (safety.dates, the
admiral `derive_vars_dt(date_imputation = "first")` choice: for an event, the earliest date the
record allows, so progression is never dated later than the data say); an imputed date that falls
before first dose is moved to first dose (admiral's `min_dates = list(TRTSDT)` convention). ADTF
carries the imputation flag ('D' day, 'M' month and day) of the record that decided ADT.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from safety.activity.config import PfsConfig
from safety.dates import derive_dates

EVENT_PD = "PD"
EVENT_DEATH = "DEATH"
CENSOR_LAST = "LAST ADEQUATE ASSESSMENT"
CENSOR_NEW_THERAPY = "LAST ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY"
CENSOR_MISSED = "LAST ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS"
CENSOR_MISSED_NO_ASSESSMENT = "NO ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS"
CENSOR_NEW_THERAPY_NO_ASSESSMENT = "NO ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY"
CENSOR_NO_ASSESSMENT = "NO POST-BASELINE ASSESSMENT"

PFS_COLUMNS = [
    "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "ADTF", "AVAL", "CNSR", "EVNTDESC",
    "SRCDOM", "SRCVAR", "SRCSEQ", "RULE_VERSION", "EVNTDT",
]


def with_dates(frame: pl.DataFrame, dtc: str) -> pl.DataFrame:
    """Ensure the derived --DT/--DTF of a --DTC column exist (canonical frames already carry them)."""
    stem = dtc[:-1]
    if stem in frame.columns and stem + "F" in frame.columns:
        return frame
    if dtc not in frame.columns:
        return frame.with_columns(pl.lit(None, pl.Date).alias(stem), pl.lit(None, pl.String).alias(stem + "F"))
    return derive_dates(frame, dtc, "first")


def _cut(column: str, data_cut: date | None) -> pl.Expr:
    return pl.lit(True) if data_cut is None else pl.col(column) <= pl.lit(data_cut)


def _not_before_start(column: str) -> pl.Expr:
    # an imputed partial date may not precede first dose (admiral min_dates = TRTSDT)
    return (
        pl.when(pl.col(column + "F").is_not_null() & (pl.col(column) < pl.col("STARTDT")))
        .then(pl.col("STARTDT"))
        .otherwise(pl.col(column))
        .alias(column)
    )


def _text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().str.to_uppercase()


def treated_subjects(dm: pl.DataFrame, data_cut: date | None = None) -> pl.DataFrame:
    """USUBJID, STARTDT (first dose), STARTDTF: subjects dosed on or before the data cut."""
    dm = with_dates(dm, "RFXSTDTC")
    return (
        dm.filter(pl.col("RFXSTDT").is_not_null() & _cut("RFXSTDT", data_cut))
        .select("USUBJID", pl.col("RFXSTDT").alias("STARTDT"), pl.col("RFXSTDTF").alias("STARTDTF"))
        .unique("USUBJID", keep="first", maintain_order=True)
    )


def _ds(ds: pl.DataFrame | None) -> pl.DataFrame:
    if ds is None:
        return pl.DataFrame(
            schema={"USUBJID": pl.String, "DSSEQ": pl.Int64, "DSDECOD": pl.String, "DSTERM": pl.String,
                    "DSSTDT": pl.Date, "DSSTDTF": pl.String}
        )
    ds = with_dates(with_dates(ds, "DSSTDTC"), "DSDTC")
    for col in ("DSTERM", "DSDECOD"):
        if col not in ds.columns:
            ds = ds.with_columns(pl.lit(None, pl.String).alias(col))
    # a disposition event without its own start date is dated by its collection date
    return ds.with_columns(
        pl.coalesce("DSSTDT", "DSDT").alias("DSSTDT"),
        pl.when(pl.col("DSSTDT").is_null()).then(pl.col("DSDTF")).otherwise(pl.col("DSSTDTF")).alias("DSSTDTF"),
    )


def new_therapy_starts(
    subjects: pl.DataFrame, ds: pl.DataFrame | None, cfg: PfsConfig, data_cut: date | None = None
) -> pl.DataFrame:
    """USUBJID, NATDT: first start of new anticancer therapy after first dose, on or before the cut."""
    terms = [t.upper() for t in cfg.new_anticancer_therapy.ds_terms]
    return (
        _ds(ds)
        .filter(_text("DSDECOD").is_in(terms) | _text("DSTERM").is_in(terms))
        .join(subjects, on="USUBJID", how="inner")
        .with_columns(_not_before_start("DSSTDT"))
        # therapy started before first dose is prior therapy, not a censoring reason
        .filter(pl.col("DSSTDT") > pl.col("STARTDT"), _cut("DSSTDT", data_cut))
        .group_by("USUBJID")
        .agg(pl.col("DSSTDT").min().alias("NATDT"))
    )


def _deaths(subjects: pl.DataFrame, dm: pl.DataFrame, ds: pl.DataFrame | None, cfg: PfsConfig) -> pl.DataFrame:
    """Every dated death record (DM and DS) of a treated subject: USUBJID, DEATHDT, DEATHDTF, SRC*."""
    parts = []
    if cfg.death.from_dm:
        dm = with_dates(dm, "DTHDTC")
        parts.append(
            dm.select(
                "USUBJID", pl.col("DTHDT").alias("DEATHDT"), pl.col("DTHDTF").alias("DEATHDTF"),
                pl.lit("DM").alias("DEATHDOM"), pl.lit("DTHDTC").alias("DEATHVAR"),
                pl.lit(None, pl.Int64).alias("DEATHSEQ"),
            )
        )
    decods = [t.upper() for t in cfg.death.ds_decod]
    if decods:
        parts.append(
            _ds(ds)
            .filter(_text("DSDECOD").is_in(decods))
            .select(
                "USUBJID", pl.col("DSSTDT").alias("DEATHDT"), pl.col("DSSTDTF").alias("DEATHDTF"),
                pl.lit("DS").alias("DEATHDOM"), pl.lit("DSSTDTC").alias("DEATHVAR"),
                pl.col("DSSEQ").cast(pl.Int64).alias("DEATHSEQ"),
            )
        )
    if not parts:
        return pl.DataFrame(schema={"USUBJID": pl.String, "DEATHDT": pl.Date, "DEATHDTF": pl.String,
                                    "DEATHDOM": pl.String, "DEATHVAR": pl.String, "DEATHSEQ": pl.Int64})
    return (
        pl.concat(parts, how="vertical_relaxed")
        .filter(pl.col("DEATHDT").is_not_null())
        .join(subjects.select("USUBJID", "STARTDT"), on="USUBJID", how="inner")
        .with_columns(
            pl.when(pl.col("DEATHDTF").is_not_null() & (pl.col("DEATHDT") < pl.col("STARTDT")))
            .then(pl.col("STARTDT")).otherwise(pl.col("DEATHDT")).alias("DEATHDT")
        )
        .drop("STARTDT")
    )


def evaluator_reads(frame: pl.DataFrame, prefix: str, evaluator: str, accepted_only: bool = True) -> pl.DataFrame:
    """Records of one evaluator (--EVAL); with several readers, only the accepted read (--ACPTFL 'Y').

    Independent review has two radiologists per timepoint and flags the adjudicated read with
    --ACPTFL = 'Y' (SDTMIG 3.x oncology domains); timepoints without any flag keep all records.
    """
    eval_col, flag_col, date_col = prefix + "EVAL", prefix + "ACPTFL", prefix + "DT"
    for col in (eval_col, flag_col):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(col))
    records = frame.filter(_text(eval_col) == evaluator.upper())
    if not accepted_only:
        return records
    accepted = (_text(flag_col) == "Y").fill_null(False)
    return records.filter(accepted | ~accepted.any().over("USUBJID", date_col))


def adequate_assessments(
    subjects: pl.DataFrame, rs: pl.DataFrame, cfg: PfsConfig, data_cut: date | None = None
) -> pl.DataFrame:
    """Post-baseline adequate overall responses of the configured evaluator, on or before the cut.

    Columns: USUBJID, RSSEQ, RSDT, RSDTF, AVALC (the response), IS_PD.
    """
    rules = cfg.response
    rs = with_dates(rs, "RSDTC")
    for col in ("RSSTRESC", "RSORRES"):
        if col not in rs.columns:
            rs = rs.with_columns(pl.lit(None, pl.String).alias(col))
    response = pl.coalesce(_text("RSSTRESC"), _text("RSORRES"))
    # the last day the (possibly partial) date allows: a partial date whose period reaches past
    # first dose may be post-baseline, so it is kept (at first dose), not dropped as baseline
    latest_possible = (
        pl.when(pl.col("RSDTF") == "M").then(pl.date(pl.col("RSDT").dt.year(), 12, 31))
        .when(pl.col("RSDTF") == "D").then(pl.col("RSDT").dt.month_end())
        .otherwise(pl.col("RSDT"))
    )
    records = evaluator_reads(
        rs.filter(_text("RSTESTCD") == rules.test_code.upper(), pl.col("RSDT").is_not_null(), _cut("RSDT", data_cut)),
        "RS", rules.evaluator, rules.accepted_records_only,
    )
    return (
        records.with_columns(response.alias("AVALC"))
        .filter(pl.col("AVALC").is_in([r.upper() for r in rules.adequate]))
        .join(subjects, on="USUBJID", how="inner")
        # an assessment on day 1 is baseline, not a post-baseline assessment
        .filter(latest_possible > pl.col("STARTDT"))
        .with_columns(_not_before_start("RSDT"))
        .select(
            "USUBJID", pl.col("RSSEQ").cast(pl.Int64), "RSDT", "RSDTF", "AVALC",
            pl.col("AVALC").is_in([r.upper() for r in rules.progression]).alias("IS_PD"),
        )
    )


def derive_pfs(
    dm: pl.DataFrame,
    rs: pl.DataFrame,
    ds: pl.DataFrame | None,
    cfg: PfsConfig,
    data_cut: date | None = None,
) -> pl.DataFrame:
    """ADTTE PARAMCD 'PFS', one row per treated subject (see the module docstring for the rules).

    Returns USUBJID, PARAMCD, PARAM, STARTDT, ADT, ADTF, AVAL (ADT - STARTDT + 1 days), CNSR
    (0 event, 1 censored), EVNTDESC, SRCDOM, SRCVAR, SRCSEQ (the record that decided ADT),
    RULE_VERSION, EVNTDT (date of the progression or death that ended PFS, kept also when it is
    censored for 2+ missed assessments: the 6-month landmark still counts it; null without one).
    Records dated after `data_cut` are ignored.
    """
    subjects = treated_subjects(dm, data_cut)
    nat = new_therapy_starts(subjects, ds, cfg, data_cut)
    on_start_day = cfg.new_anticancer_therapy.assessment_on_start_day_counts

    def before_new_therapy(column: str) -> pl.Expr:
        # FDA 2018: censor at the last adequate assessment prior to the start of new treatment
        limit = pl.col(column) <= pl.col("NATDT") if on_start_day else pl.col(column) < pl.col("NATDT")
        return pl.col("NATDT").is_null() | limit

    base = subjects.join(nat, on="USUBJID", how="left")
    assessments = (
        adequate_assessments(subjects, rs, cfg, data_cut)
        .join(nat, on="USUBJID", how="left")
        .filter(before_new_therapy("RSDT"))
        .drop("NATDT")
        .sort("USUBJID", "RSDT", "RSSEQ")
    )
    first_pd = (
        assessments.filter("IS_PD")
        .group_by("USUBJID")
        .agg(pl.col("RSDT").first().alias("PDDT"), pl.col("RSDTF").first().alias("PDDTF"),
             pl.col("RSSEQ").first().alias("PDSEQ"))
    )
    death = (
        _deaths(subjects, dm, ds, cfg)
        .join(nat, on="USUBJID", how="left")
        .filter(_cut("DEATHDT", data_cut), before_new_therapy("DEATHDT"))
        .drop("NATDT")
        # earliest death record; DM before DS on the same date
        .sort("USUBJID", "DEATHDT", "DEATHDOM", "DEATHSEQ", nulls_last=True)
        .group_by("USUBJID")
        .first()
    )
    events = (
        base.join(first_pd, on="USUBJID", how="left")
        .join(death, on="USUBJID", how="left")
        .with_columns(
            # progression documented on the day of death is reported as progression (the RS record)
            (pl.col("PDDT").is_not_null() & ~(pl.col("DEATHDT") < pl.col("PDDT")).fill_null(False)).alias("IS_PD"),
            pl.min_horizontal("PDDT", "DEATHDT").alias("EVDT"),
        )
    )
    # the last adequate assessment strictly before the event (or the last one at all, without an event)
    last_adequate = (
        assessments.join(events.select("USUBJID", "EVDT"), on="USUBJID", how="inner")
        .filter(pl.col("EVDT").is_null() | (pl.col("RSDT") < pl.col("EVDT")))
        .group_by("USUBJID")
        .agg(pl.col("RSDT").last().alias("LADT"), pl.col("RSDTF").last().alias("LADTF"),
             pl.col("RSSEQ").last().alias("LASEQ"))
    )
    max_gap = cfg.missed_assessments.max_gap_days
    frame = events.join(last_adequate, on="USUBJID", how="left").with_columns(
        (pl.col("EVDT") - pl.coalesce("LADT", "STARTDT")).dt.total_days().alias("GAP")
    )
    has_event = pl.col("EVDT").is_not_null()
    counted_event = has_event & (pl.col("GAP") <= max_gap)
    missed = has_event & (pl.col("GAP") > max_gap)
    has_la = pl.col("LADT").is_not_null()
    has_nat = pl.col("NATDT").is_not_null()

    def pick(event_pd, event_death, at_assessment, at_start) -> pl.Expr:
        return (
            pl.when(counted_event & pl.col("IS_PD")).then(event_pd)
            .when(counted_event).then(event_death)
            .when(has_la).then(at_assessment)
            .otherwise(at_start)
        )

    evntdesc = (
        pl.when(counted_event & pl.col("IS_PD")).then(pl.lit(EVENT_PD))
        .when(counted_event).then(pl.lit(EVENT_DEATH))
        .when(missed & has_la).then(pl.lit(CENSOR_MISSED))
        .when(missed).then(pl.lit(CENSOR_MISSED_NO_ASSESSMENT))
        .when(has_la & has_nat).then(pl.lit(CENSOR_NEW_THERAPY))
        .when(has_la).then(pl.lit(CENSOR_LAST))
        .when(has_nat).then(pl.lit(CENSOR_NEW_THERAPY_NO_ASSESSMENT))
        .otherwise(pl.lit(CENSOR_NO_ASSESSMENT))
    )
    return (
        frame.with_columns(
            pick(pl.col("PDDT"), pl.col("DEATHDT"), pl.col("LADT"), pl.col("STARTDT")).alias("ADT"),
            pick(pl.col("PDDTF"), pl.col("DEATHDTF"), pl.col("LADTF"), pl.col("STARTDTF")).alias("ADTF"),
            pick(pl.lit("RS"), pl.col("DEATHDOM"), pl.lit("RS"), pl.lit("DM")).alias("SRCDOM"),
            pick(pl.lit("RSDTC"), pl.col("DEATHVAR"), pl.lit("RSDTC"), pl.lit("RFXSTDTC")).alias("SRCVAR"),
            pick(pl.col("PDSEQ"), pl.col("DEATHSEQ"), pl.col("LASEQ"), pl.lit(None, pl.Int64)).alias("SRCSEQ"),
            pl.when(counted_event).then(0).otherwise(1).cast(pl.Int8).alias("CNSR"),
            evntdesc.alias("EVNTDESC"),
            pl.lit("PFS").alias("PARAMCD"),
            pl.lit("Progression-Free Survival (RECIST 1.1)").alias("PARAM"),
            pl.lit(cfg.version).alias("RULE_VERSION"),
            pl.col("EVDT").alias("EVNTDT"),
        )
        .with_columns(((pl.col("ADT") - pl.col("STARTDT")).dt.total_days() + 1).cast(pl.Int64).alias("AVAL"))
        .select(PFS_COLUMNS)
        .sort("USUBJID")
    )
