"""The SUSAR line listing (one row per case, newest follow-up) and the DSUR cumulative tabulation.

Columns follow pharmacovigilance.md (EU 536/2014 art. 43 annual report line listings; ICH E2F
DSUR section 7.3 cumulative summary tabulation of serious adverse events).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from safety.dates import derive_dates
from safety.rsi import Rsi
from safety.susar.classify import classify_susars
from safety.susar.config import PvConfig

KEY = ["USUBJID", "AESEQ"]


def _latest(frame: pl.DataFrame) -> pl.DataFrame:
    # the store's history names the version `_VERSION` and keeps deletions (`_OP`), as the cases do not
    if "_VERSION" in frame.columns and "_version" not in frame.columns:
        frame = frame.rename({"_VERSION": "_version"})
    if "_OP" in frame.columns:
        frame = frame.filter(pl.col("_OP").ne_missing("deleted"))
    if "_version" not in frame.columns:
        return frame
    return frame.sort("_version").group_by(KEY, maintain_order=True).last()


def _dated(frame: pl.DataFrame, dtc: str, impute: str) -> pl.DataFrame:
    if dtc[:-1] in frame.columns:
        return frame
    if dtc not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(dtc))
    return derive_dates(frame, dtc, impute)


def _exposure(ex: pl.DataFrame | None) -> pl.DataFrame:
    """Per subject and drug: latest daily dose, first start, last stop (if every record has ended)."""
    schema = {"USUBJID": pl.String, "EXTRT": pl.String, "_dose": pl.String, "_start": pl.Date, "_stop": pl.Date}
    if ex is None or ex.height == 0:
        return pl.DataFrame(schema=schema)
    ex = _dated(_dated(ex, "EXSTDTC", "first"), "EXENDTC", "last")
    dose = pl.concat_str(pl.col("EXDOSE").cast(pl.Float64).round(3).cast(pl.String).str.replace(r"\.0$", ""),
                         pl.lit(" "), pl.col("EXDOSU").fill_null(""))
    return (
        ex.with_columns(pl.col("EXTRT").str.strip_chars().str.to_uppercase(), dose.alias("_dose"))
        # same-day records: the dose of the later EXSEQ, never the row order's pick
        .sort("EXSTDT", *(["EXSEQ"] if "EXSEQ" in ex.columns else []), nulls_last=True, maintain_order=True)
        .group_by("USUBJID", "EXTRT")
        .agg(pl.col("_dose").drop_nulls().last(), pl.col("EXSTDT").min().alias("_start"),
             pl.when(pl.col("EXENDT").is_null().any()).then(None).otherwise(pl.col("EXENDT").max()).alias("_stop"))
    )


def susar_line_listing(
    cases: pl.DataFrame,
    ae: pl.DataFrame,
    dm: pl.DataFrame | None,
    ex: pl.DataFrame | None,
    period_from: dt.date | None,
    period_to: dt.date | None,
) -> pl.DataFrame:
    """One row per case whose initial or latest report day 0 falls in the period (bounds inclusive,
    None = open), with the AE details of the newest version in `ae` (versions or current records).
    Trailing columns carry the source record key and the RSI / rule versions."""
    def within(day: str) -> pl.Expr:
        cond = pl.lit(True)
        if period_from is not None:
            cond = cond & (pl.col(day) >= period_from)
        if period_to is not None:
            cond = cond & (pl.col(day) <= period_to)
        return cond

    in_period = within("DAY0") | within("LATEST_REPORT_DAY0")
    chosen = cases.filter(in_period.fill_null(False))
    details = _dated(_dated(_latest(ae), "AESTDTC", "first"), "AEENDTC", "last")
    ae_cols = ["AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AEOUT", "AEACN", "AESTDTC", "AESTDT", "AEREL", "AEREL2"]
    details = details.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in ae_cols if c not in details.columns
    ).select(*KEY, *ae_cols, *(["_version"] if "_version" in details.columns else []))
    if "_version" not in details.columns:
        details = details.with_columns(pl.lit(None, dtype=pl.Int64).alias("_version"))
    frame = chosen.join(details, on=KEY, how="left")
    subj_types = {"AGE": pl.Float64, "SEX": pl.String, "RFXSTDT": pl.Date}
    subj_cols = list(subj_types)
    if dm is not None and dm.height:
        dmx = _dated(dm, "RFXSTDTC", "first")
        dmx = dmx.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in subj_types.items() if c not in dmx.columns)
        frame = frame.join(dmx.select("USUBJID", *subj_cols).unique("USUBJID"), on="USUBJID", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in subj_types.items())

    expo = _exposure(ex)
    drugs = (
        frame.select("CASE_ID", "USUBJID", pl.col("SUSPECT_DRUGS").str.split("; ").alias("EXTRT"))
        .explode("EXTRT").drop_nulls("EXTRT")
        .join(expo, on=["USUBJID", "EXTRT"], how="left")
        .group_by("CASE_ID")
        .agg(
            pl.concat_str(pl.col("EXTRT"), pl.lit(" "), pl.col("_dose").fill_null("dose not recorded"),
                          pl.lit(" daily")).str.join("; ").alias("_drug_dose"),
            pl.concat_str(pl.col("EXTRT"), pl.lit(": "), pl.col("_start").cast(pl.String).fill_null("?"),
                          pl.lit(" to "), pl.col("_stop").cast(pl.String).fill_null("ongoing"))
            .str.join("; ").alias("_drug_dates"),
        )
    )
    frame = frame.join(drugs, on="CASE_ID", how="left")
    causality = pl.concat_str(pl.lit("elacestrant: "), pl.col("AEREL").fill_null("missing"),
                              pl.lit("; exemestane: "), pl.col("AEREL2").fill_null("missing"))
    comments = pl.concat_str(
        [pl.when(pl.col("CASE_STATE") == "DOWNGRADED").then(pl.lit("downgraded: no longer a SUSAR in the latest version")),
         # DAY0_IMPUTED is about the initial report; the row may list a follow-up (its own day 0)
         pl.when(pl.col("DAY0_IMPUTED").is_not_null())
         .then(pl.concat_str(pl.when(pl.col("LATEST_REPORT_TYPE") != "initial").then(pl.lit("initial report's "))
                             .otherwise(pl.lit("")), pl.lit("day 0 = "), pl.col("DAY0_IMPUTED"))),
         pl.when(pl.col("DATA_QUERY").is_not_null()).then(pl.concat_str(pl.lit("data query: "), pl.col("DATA_QUERY")))],
        separator="; ", ignore_nulls=True,
    )
    return frame.sort("CASE_ID").select(
        pl.col("CASE_ID").alias("Case reference"),
        pl.col("STUDYID").alias("Study"),
        pl.col("SITEID").alias("Site"),
        pl.col("USUBJID").alias("Subject"),
        pl.col("AGE").cast(pl.Int64, strict=False).alias("Age"),
        pl.col("SEX").alias("Sex"),
        pl.col("_drug_dose").alias("Suspect drug(s) and daily dose"),
        pl.col("_drug_dates").alias("Suspect drug start / stop"),
        pl.col("AEDECOD").alias("Reaction (PT / CTCAE term)"),
        pl.col("AETERM").alias("Verbatim term"),
        pl.col("AESTDTC").alias("Onset date"),
        ((pl.col("AESTDT") - pl.col("RFXSTDT")).dt.total_days() + 1).alias("Time to onset (days from first dose)"),
        pl.col("AETOXGR").alias("CTCAE grade"),
        pl.col("SERIOUS_CRITERIA").alias("Seriousness criteria"),
        pl.col("AEOUT").alias("Outcome"),
        causality.alias("Causality (investigator)"),
        pl.concat_str(pl.when(pl.col("UNEXPECTED")).then(pl.lit("UNEXPECTED")).otherwise(pl.lit("expected")),
                      pl.lit(": "), pl.col("EXPECTEDNESS_BASIS")).alias("Expectedness and RSI"),
        pl.col("AEACN").alias("Action taken"),
        # the day 0 of the report the row lists (its type, due date, date reported)
        pl.col("LATEST_REPORT_DAY0").alias("Day 0"),
        pl.col("LATEST_REPORT_DUE").alias("Due date"),
        pl.col("LATEST_REPORT_SUBMITTED").alias("Date reported"),
        pl.col("LATEST_REPORT_TYPE").alias("Report type"),
        pl.col("LATEST_REPORT_STATUS").alias("Clock status"),
        pl.when(comments != "").then(comments).alias("Comments"),
        pl.concat_str(pl.col("USUBJID"), pl.lit("/"), pl.col("AESEQ").cast(pl.String), pl.lit("/v"),
                      pl.col("_version").cast(pl.String).fill_null("?")).alias("Source record"),
        pl.col("RSI_VERSION").alias("RSI version"),
        pl.col("PV_CONFIG_VERSION").alias("Rule version"),
    )


def cumulative_listing(
    cases: pl.DataFrame, ae: pl.DataFrame, dm: pl.DataFrame | None, ex: pl.DataFrame | None, data_cut: dt.date
) -> pl.DataFrame:
    """Every SUSAR case to the data cut (the same columns as the periodic line listing)."""
    return susar_line_listing(cases, ae, dm, ex, None, data_cut)


def cumulative_summary_tabulation(
    ae: pl.DataFrame, rsi: Rsi, pv_cfg: PvConfig, data_cut: dt.date
) -> pl.DataFrame:
    """Serious AEs (events, newest version) by SOC and PT and relatedness, to the data cut (ICH E2F
    7.3). AEs without a start date are counted, as they cannot be shown to fall after the cut."""
    latest = _dated(_latest(ae), "AESTDTC", "first")
    cls = classify_susars(latest, rsi, pv_cfg).filter(
        pl.col("SERIOUS") & (pl.col("AESTDT").is_null() | (pl.col("AESTDT") <= data_cut))
    )
    rel = {d.code: pl.col(f"RELATED_{d.code}") for d in pv_cfg.suspect_drugs}
    any_rel = pl.any_horizontal(*rel.values())
    return (
        cls.with_columns(pl.col("AEBODSYS").fill_null("(SOC not coded)"),
                         pl.coalesce(pl.col("AEDECOD"), pl.lit("(PT not coded)")).alias("AEDECOD"))
        .group_by("AEBODSYS", "AEDECOD")
        .agg(
            *(c.sum().cast(pl.Int64).alias(f"Related to {d.drug.lower()}")
              for d, c in zip(pv_cfg.suspect_drugs, rel.values(), strict=True)),
            any_rel.sum().cast(pl.Int64).alias("Related to either"),
            (~any_rel).sum().cast(pl.Int64).alias("Not related"),
            pl.len().cast(pl.Int64).alias("Total events"),
            pl.col("USUBJID").n_unique().cast(pl.Int64).alias("Subjects"),
        )
        .sort("AEBODSYS", "AEDECOD")
        .rename({"AEBODSYS": "System organ class", "AEDECOD": "Preferred term"})
        .with_columns(pl.lit(rsi.versions_label()).alias("RSI version"), pl.lit(pv_cfg.version).alias("Rule version"),
                      pl.lit(data_cut).alias("Data cut"))
    )
