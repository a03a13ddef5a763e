"""Baseline per subject and test, and which results are post-baseline.

Baseline is the record flagged LBBLFL='Y' when the source flags one; otherwise the last
non-missing result on or before first dose (DM.RFXSTDTC), comparing times of day only when both
have one (ctcae.md 'Baseline'; ADaM IG v1.3 ABLFL). BNRIND is the baseline value against the
baseline record's own normal range; it decides the CTCAE v5.0 liver baseline rule.
"""

from __future__ import annotations

import polars as pl

from safety.dates import derive_dates
from safety.grading.criteria import SIGNIFICANT_DIGITS

_KEYS = ["USUBJID", "_CODE"]


def _first_dose(dm: pl.DataFrame) -> pl.DataFrame:
    if "RFXSTDT" not in dm.columns or "RFXSTDTM" not in dm.columns:
        dm = derive_dates(dm, "RFXSTDTC", "first")
    return dm.select("USUBJID", pl.col("RFXSTDT").alias("_FDDT"), pl.col("RFXSTDTM").alias("_FDDTM")).unique(
        "USUBJID", keep="first"
    )


def _on_or_before(dt: str, dtm: str, ref_dt: str, ref_dtm: str) -> pl.Expr:
    both_times = pl.col(dtm).is_not_null() & pl.col(ref_dtm).is_not_null()
    return pl.when(both_times).then(pl.col(dtm) <= pl.col(ref_dtm)).otherwise(pl.col(dt) <= pl.col(ref_dt))


def derive_baseline(work: pl.DataFrame, dm: pl.DataFrame | None) -> pl.DataFrame:
    """Add ABLFL, BASE, BNRIND, _BASEROW and _POST to a frame with _ROW, _CODE, AVAL, ANRLO, ANRHI, _DT, _DTM."""
    flagged_groups = (
        work.filter(pl.col("LBBLFL") == "Y").select(_KEYS).unique().with_columns(pl.lit(True).alias("_FLAGGED"))
    )
    work = work.join(flagged_groups, on=_KEYS, how="left", maintain_order="left")
    from_flag = pl.col("_FLAGGED").fill_null(False)
    if dm is not None:
        work = work.join(_first_dose(dm), on="USUBJID", how="left", maintain_order="left")
        before_dose = pl.col("AVAL").is_not_null() & _on_or_before("_DT", "_DTM", "_FDDT", "_FDDTM").fill_null(False)
        candidate = pl.when(from_flag).then(pl.col("LBBLFL") == "Y").otherwise(before_dose)
    else:
        candidate = from_flag & (pl.col("LBBLFL") == "Y")
    # The last candidate in time; LBSEQ then row order break ties so the choice is reproducible.
    chosen = (
        work.filter(candidate.fill_null(False))
        .group_by(_KEYS)
        .agg(pl.col("_ROW").sort_by(["_DT", "_DTM", "_SEQ", "_ROW"], nulls_last=False).last().alias("_BASEROW"))
    )
    work = work.join(chosen, on=_KEYS, how="left", maintain_order="left")
    base = work.select(
        pl.col("_ROW").alias("_BASEROW"),
        pl.col("AVAL").alias("BASE"),
        pl.col("ANRLO").alias("_BANRLO"),
        pl.col("ANRHI").alias("_BANRHI"),
        pl.col("_DT").alias("_BDT"),
        pl.col("_DTM").alias("_BDTM"),
    )
    work = work.join(base, on="_BASEROW", how="left", maintain_order="left")
    value = pl.col("BASE").round_sig_figs(SIGNIFICANT_DIGITS)
    low, high = (pl.col(c).round_sig_figs(SIGNIFICANT_DIGITS) for c in ("_BANRLO", "_BANRHI"))
    bnrind = (
        pl.when(pl.col("BASE").is_null()).then(None)
        .when(high.is_not_null() & (value > high)).then(pl.lit("HIGH"))
        .when(low.is_not_null() & (value < low)).then(pl.lit("LOW"))
        .when(high.is_not_null() & low.is_not_null()).then(pl.lit("NORMAL"))
    )
    both_times = pl.col("_DTM").is_not_null() & pl.col("_BDTM").is_not_null()
    after = pl.when(both_times).then(pl.col("_DTM") > pl.col("_BDTM")).otherwise(pl.col("_DT") > pl.col("_BDT"))
    drop = ["_FLAGGED", "_BANRLO", "_BANRHI", "_BDT", "_BDTM"] + (["_FDDT", "_FDDTM"] if dm is not None else [])
    return work.with_columns(
        bnrind.cast(pl.String).alias("BNRIND"),
        pl.when(pl.col("_ROW") == pl.col("_BASEROW")).then(pl.lit("Y")).alias("ABLFL"),
        (after.fill_null(False) & (pl.col("_ROW") != pl.col("_BASEROW"))).fill_null(False).alias("_POST"),
    ).drop(drop)
