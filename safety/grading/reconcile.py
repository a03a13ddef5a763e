"""Lab grades against reported AEs: items a safety officer should review.

(a) a post-baseline lab grade >= 3 with no AE of the same CTCAE term starting within
    +/- `window_days` of the sample or running on its date (an unreported severe lab abnormality);
(b) an AE of a lab term whose AETOXGR differs from the worst lab-derived grade of that term
    between AESTDT and AEENDT (an open AE runs to the last result).
AE terms match the criterion term or its configured synonyms (`ae_terms`), case-insensitively,
on AEDECOD or AETERM. Rows carry LBSEQ(s) and AESEQ so every item leads back to its records.
"""

from __future__ import annotations

import polars as pl

from safety.dates import derive_dates
from safety.grading.criteria import Criteria, load_criteria
from safety.grading.summary import graded_long

UNREPORTED = "lab grade >=3 without AE"
GRADE_MISMATCH = "AE grade differs from lab grade"
SEVERE = 3

SCHEMA = {
    "KIND": pl.String, "USUBJID": pl.String, "TERM": pl.String, "LBSEQ": pl.List(pl.Int64),
    "AESEQ": pl.Int64, "LAB_GRADE": pl.Int8, "AE_GRADE": pl.Int64, "LBDTC": pl.String,
    "AESTDTC": pl.String, "AEENDTC": pl.String, "ATOXVER": pl.String,
}


def _ae_terms(ae: pl.DataFrame, criteria: Criteria) -> pl.DataFrame:
    """One row per AE and matched criterion term: USUBJID, AESEQ, TERM, AETOXGR, dates."""
    if "AESTDT" not in ae.columns:
        ae = derive_dates(ae, "AESTDTC", "first")
    if "AEENDT" not in ae.columns:
        ae = derive_dates(ae, "AEENDTC", "last")
    terms = criteria.ae_term_map()
    base = ae.select(
        "USUBJID", pl.col("AESEQ").cast(pl.Int64),
        pl.col("AETOXGR").cast(pl.Int64, strict=False) if "AETOXGR" in ae.columns else pl.lit(None, pl.Int64).alias("AETOXGR"),
        "AESTDTC", "AEENDTC", "AESTDT", "AEENDT",
        *(pl.col(c).cast(pl.String).str.strip_chars().str.to_lowercase().alias(f"_{c}")
          for c in ("AEDECOD", "AETERM") if c in ae.columns),
    )
    matched = [
        base.join(terms, left_on=f"_{c}", right_on="ae_term_lower", how="inner")
        for c in ("AEDECOD", "AETERM") if f"_{c}" in base.columns
    ]
    keep = ["USUBJID", "AESEQ", "term", "AETOXGR", "AESTDTC", "AEENDTC", "AESTDT", "AEENDT"]
    return pl.concat([m.select(keep) for m in matched]).unique(["USUBJID", "AESEQ", "term"]).rename({"term": "TERM"})


def reconcile_labs_with_aes(
    graded: pl.DataFrame, ae: pl.DataFrame, window_days: int = 7, criteria: Criteria | None = None
) -> pl.DataFrame:
    """Review items (columns in `SCHEMA`): KIND, USUBJID, TERM, LBSEQ (list), AESEQ, LAB_GRADE,
    AE_GRADE, LBDTC, AESTDTC, AEENDTC, ATOXVER."""
    criteria = criteria or load_criteria()
    labs = graded_long(graded).filter(pl.col("ATOXGR").is_not_null()).rename({"ATOXDSC": "TERM"})
    # Lab terms are criteria.term_enum; an AE term no criterion names cannot match one anyway.
    aes = _ae_terms(ae, criteria).with_columns(pl.col("TERM").cast(labs.schema["TERM"], strict=False))

    severe = labs.filter((pl.col("POSTBLFL") == "Y") & (pl.col("ATOXGR") >= SEVERE))
    window = pl.duration(days=window_days)
    reported = (
        severe.join(aes, on=["USUBJID", "TERM"], how="inner")
        .filter(
            ((pl.col("AESTDT") >= pl.col("LBDT") - window) & (pl.col("AESTDT") <= pl.col("LBDT") + window))
            # an AE still running on the sample date (not ended, or open) reports it too
            | ((pl.col("AESTDT") <= pl.col("LBDT")) & (pl.col("AEENDT").is_null() | (pl.col("AEENDT") >= pl.col("LBDT"))))
        )
        .select("USUBJID", "LBSEQ", "TERM").unique()
    )
    unreported = severe.join(reported, on=["USUBJID", "LBSEQ", "TERM"], how="anti").select(
        pl.lit(UNREPORTED).alias("KIND"), "USUBJID", "TERM", pl.concat_list("LBSEQ").alias("LBSEQ"),
        pl.lit(None, pl.Int64).alias("AESEQ"), pl.col("ATOXGR").alias("LAB_GRADE"),
        pl.lit(None, pl.Int64).alias("AE_GRADE"), "LBDTC",
        pl.lit(None, pl.String).alias("AESTDTC"), pl.lit(None, pl.String).alias("AEENDTC"), "ATOXVER",
    )

    in_period = (
        aes.filter(pl.col("AETOXGR").is_not_null())
        .join(labs, on=["USUBJID", "TERM"], how="inner")
        .filter((pl.col("LBDT") >= pl.col("AESTDT")) & (pl.col("AEENDT").is_null() | (pl.col("LBDT") <= pl.col("AEENDT"))))
    )
    mismatched = (
        in_period.with_columns(pl.col("ATOXGR").max().over("USUBJID", "AESEQ", "TERM").alias("_WORST"))
        .filter(pl.col("ATOXGR") == pl.col("_WORST"))
        .group_by("USUBJID", "AESEQ", "TERM")
        .agg(
            pl.col("LBSEQ").sort().alias("LBSEQ"), pl.col("_WORST").first().alias("LAB_GRADE"),
            pl.col("AETOXGR").first().alias("AE_GRADE"), pl.col("LBDTC").sort().first(),
            pl.col("AESTDTC").first(), pl.col("AEENDTC").first(), pl.col("ATOXVER").first(),
        )
        .filter(pl.col("LAB_GRADE").cast(pl.Int64) != pl.col("AE_GRADE"))
        .select(pl.lit(GRADE_MISMATCH).alias("KIND"), *[c for c in SCHEMA if c != "KIND"])
    )
    items = pl.concat([unreported.cast(SCHEMA), mismatched.cast(SCHEMA)])
    return items.sort("USUBJID", "TERM", "KIND", "LBDTC", "LBSEQ", "AESEQ", nulls_last=True)
