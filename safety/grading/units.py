"""Bring each lab result and its normal range into the unit its CTCAE criterion expects.

Conversions come from `config/lab_units.csv`; a unit not listed for the test is never guessed
(ctcae.md 'Units'): the value stays null and the row says 'unknown unit'. Total calcium is
corrected for albumin because CTCAE grades corrected calcium (ctcae.md 'Calcium').
"""

from __future__ import annotations

import polars as pl

from safety.grading.criteria import Criteria, normalise_unit

UNKNOWN_UNIT = "unknown unit"
NO_ALBUMIN = "no albumin for corrected calcium"

# Corrected Ca (mmol/L) = total Ca + 0.02 x (40 - albumin g/L) (ctcae.md 'Calcium'; Payne et al., BMJ 1973).
ALBUMIN_CODES = ("ALB",)
CALCIUM_ALBUMIN_REFERENCE_G_L = 40.0
CALCIUM_PER_ALBUMIN_G_L = 0.02


def _finite(col: str) -> pl.Expr:
    # Source files carry NaN where a range does not apply (CDISC pilot): NaN is not a value.
    return pl.col(col).cast(pl.Float64).fill_nan(None)


def convert_units(work: pl.DataFrame, criteria: Criteria) -> pl.DataFrame:
    """Add AVAL, AVALU, ANRLO, ANRHI (criterion unit) and _UNITRSN to a frame with _CODE and LBSTRESU.

    Tests without any conversion listed (no criterion uses them) get no AVAL and no reason.
    """
    units = criteria.unit_map()
    known_codes = units.get_column("LBTESTCD_UP").unique().implode()
    work = work.with_columns(normalise_unit(pl.col("LBSTRESU")).alias("_UNITKEY")).join(
        units.rename({"LBTESTCD_UP": "_CODE", "UNIT_KEY": "_UNITKEY"}),
        on=["_CODE", "_UNITKEY"], how="left", maintain_order="left",
    )
    factor = pl.col("FACTOR")
    unknown = factor.is_null() & pl.col("_CODE").is_in(known_codes)
    return work.with_columns(
        (_finite("LBSTRESN") * factor).alias("AVAL"),
        (_finite("LBSTNRLO") * factor).alias("ANRLO"),
        (_finite("LBSTNRHI") * factor).alias("ANRHI"),
        pl.when(unknown).then(pl.lit(UNKNOWN_UNIT)).alias("_UNITRSN"),
    ).drop("FACTOR", "_UNITKEY")


def correct_calcium(work: pl.DataFrame, criteria: Criteria) -> pl.DataFrame:
    """Replace AVAL of total-calcium rows by albumin-corrected calcium from the same sample.

    Same sample = same subject and same LBDTC text. Adds _CACORR (True where corrected) and
    _CARSN ('no albumin for corrected calcium' where no albumin result of that sample exists).
    """
    codes = sorted({c for t in criteria.terms for c in t.correct_codes})
    is_total_ca = pl.col("_CODE").is_in(codes)
    albumin = (
        work.filter(pl.col("_CODE").is_in(ALBUMIN_CODES) & pl.col("AVAL").is_not_null() & (pl.col("AVALU") == "g/L"))
        .group_by("USUBJID", "LBDTC")
        # Two albumin results in one sample: the first by LBSEQ, so the choice is reproducible.
        .agg(pl.col("AVAL").sort_by("_SEQ").first().alias("_ALB"))
    )
    work = work.join(albumin, on=["USUBJID", "LBDTC"], how="left", maintain_order="left")
    corrected = pl.col("AVAL") + CALCIUM_PER_ALBUMIN_G_L * (CALCIUM_ALBUMIN_REFERENCE_G_L - pl.col("_ALB"))
    has_value = pl.col("AVAL").is_not_null()
    return work.with_columns(
        pl.when(is_total_ca).then(corrected).otherwise(pl.col("AVAL")).alias("AVAL"),
        (is_total_ca & has_value & pl.col("_ALB").is_not_null()).alias("_CACORR"),
        pl.when(is_total_ca & has_value & pl.col("_ALB").is_null()).then(pl.lit(NO_ALBUMIN)).alias("_CARSN"),
    ).drop("_ALB")
