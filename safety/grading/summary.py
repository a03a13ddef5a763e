"""Per-subject worst post-baseline grade and baseline-by-worst shift counts, per CTCAE term.

Both directions are summarised as separate terms (ADaM ADLB: ATOXGRL and ATOXGRH are separate
analyses). Only post-baseline results count, as in the usual 'worst on-treatment grade' tables.
"""

from __future__ import annotations

import polars as pl

_LONG = ["USUBJID", "LBSEQ", "PARAMCD", "LBDTC", "LBDT", "ATOXDIR", "ATOXDSC", "ATOXGR", "BTOXGR", "POSTBLFL",
         "ATOXVER"]


def graded_long(graded: pl.DataFrame) -> pl.DataFrame:
    """One row per result and direction with a criterion: ATOXDIR (L/H), ATOXDSC, ATOXGR, BTOXGR."""
    def direction(d: str) -> pl.DataFrame:
        return graded.filter(pl.col(f"ATOXDSC{d}").is_not_null()).select(
            "USUBJID", pl.col("LBSEQ").cast(pl.Int64), "PARAMCD", "LBDTC", "LBDT",
            pl.lit(d).alias("ATOXDIR"),
            pl.col(f"ATOXDSC{d}").alias("ATOXDSC"),
            pl.col(f"ATOXGR{d}").alias("ATOXGR"),
            pl.col(f"BTOXGR{d}").alias("BTOXGR"),
            "POSTBLFL", "ATOXVER",
        )
    return pl.concat([direction("L"), direction("H")]).select(_LONG)


def worst_grades(graded: pl.DataFrame) -> pl.DataFrame:
    """Worst post-baseline grade per USUBJID and term.

    Columns: USUBJID, ATOXDSC, ATOXDIR, PARAMCD, ATOXGR (worst grade), LBSEQ and LBDTC of the
    earliest record with that grade, BTOXGR (baseline grade), NRESULTS (graded post-baseline
    results), ATOXVER. Subjects with no graded post-baseline result for a term are absent.
    """
    post = graded_long(graded).filter((pl.col("POSTBLFL") == "Y") & pl.col("ATOXGR").is_not_null())
    return (
        post.sort("USUBJID", "ATOXDSC", pl.col("ATOXGR"), "LBDT", "LBSEQ", descending=[False, False, True, False, False],
                  nulls_last=True)
        .group_by("USUBJID", "ATOXDSC", maintain_order=True)
        .agg(
            pl.col("ATOXDIR").first(), pl.col("PARAMCD").first(), pl.col("ATOXGR").first(),
            pl.col("LBSEQ").first(), pl.col("LBDTC").first(), pl.col("BTOXGR").first(),
            pl.len().alias("NRESULTS"), pl.col("ATOXVER").first(),
        )
    )


def shift_table(graded: pl.DataFrame) -> pl.DataFrame:
    """Counts of subjects by baseline grade x worst post-baseline grade, per term.

    Columns: ATOXDSC, ATOXDIR, BTOXGR (null: no baseline grade), ATOXGR (worst post-baseline),
    NSUBJ, ATOXVER. Every observed combination appears; absent combinations are zero.
    """
    return (
        worst_grades(graded)
        .group_by("ATOXDSC", "ATOXDIR", "BTOXGR", "ATOXGR")
        .agg(pl.col("USUBJID").n_unique().alias("NSUBJ"), pl.col("ATOXVER").first())
        .sort("ATOXDSC", "BTOXGR", "ATOXGR", nulls_last=True)
    )
