"""Potential Hy's law cases and the eDISH summary (protocol.md "Hy's law").

A case: ALT or AST >= 3 x ULN, then total bilirubin >= 2 x ULN 0 to 30 days after it (same
day allowed), with ALP < 2 x ULN at the time. "At the time" is the nearest ALP on or before
the bilirubin date: the value the investigator had when jaundice appeared, never a later one.
With no ALP on or before that date the case is kept with ALPSTAT "MISSING" for the committee
rather than dropped. Only post-baseline results count (after the baseline record of the test).
"""

from __future__ import annotations

import polars as pl

from safety.dlt.labs import uln_long
from safety.dlt.rules import DltRules
from safety.dlt.window import with_dates

CASE_COLUMNS = [
    "USUBJID", "HYSCASEID", "AMTTEST", "AMTSEQ", "AMTDT", "AMTULN", "BILISEQ", "BILIDT", "BILIULN",
    "BILIDAYS", "ALPSEQ", "ALPDT", "ALPULN", "ALPSTAT", "SRC", "RULE_VERSION",
]


def _liver(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules) -> pl.LazyFrame:
    """ALT, AST, BILI, ALP results as multiples of ULN with a post-baseline flag."""
    lazy = with_dates(lb, "LBDTC")
    key = ["USUBJID", "TERM"]
    return (
        uln_long(lazy, rules, ["ALT", "AST", "BILI", "ALP"])
        .filter(pl.col("LBDT").is_not_null())
        .with_columns(pl.col("LBDT").filter(pl.col("BLFL") == "Y").max().over(key).alias("BLDT"))
        .with_columns(
            ((pl.col("BLFL").fill_null("") != "Y") & (pl.col("BLDT").is_null() | (pl.col("LBDT") > pl.col("BLDT"))))
            .alias("POST")
        )
    )


def hys_law(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cases, edish).

    cases: one row per ALT/AST result >= the threshold that is followed by a qualifying
    bilirubin, with the first such bilirubin: CASE_COLUMNS (AMT = the aminotransferase; *ULN
    are multiples of ULN; SRC like "LB:12,15,14" = aminotransferase, bilirubin, ALP).
    edish: one row per subject with post-baseline liver results: PEAKALT, PEAKAST, PEAKBILI
    (multiples of ULN) with the LBSEQ of each peak, EDISHX, EDISHY, EDISHQ (quadrant).
    """
    p = rules.hys_law
    liver = _liver(lb, rules).collect()
    post = liver.filter("POST")
    amt = post.filter(pl.col("TERM").is_in(["ALT", "AST"]) & (pl.col("GRADE") >= p.aminotransferase_uln)).select(
        "USUBJID", pl.col("TERM").alias("AMTTEST"), pl.col("LBSEQ").alias("AMTSEQ"),
        pl.col("LBDT").alias("AMTDT"), pl.col("GRADE").alias("AMTULN"),
    )
    bili = post.filter((pl.col("TERM") == "BILI") & (pl.col("GRADE") >= p.bilirubin_uln)).select(
        "USUBJID", pl.col("LBSEQ").alias("BILISEQ"), pl.col("LBDT").alias("BILIDT"), pl.col("GRADE").alias("BILIULN"),
    )
    alp = (
        liver.filter(pl.col("TERM") == "ALP")
        .select("USUBJID", pl.col("LBSEQ").alias("ALPSEQ"), pl.col("LBDT").alias("ALPDT"), pl.col("GRADE").alias("ALPULN"))
        .sort("ALPDT", "ALPSEQ")
    )
    days = (pl.col("BILIDT") - pl.col("AMTDT")).dt.total_days()
    pairs = (
        amt.join(bili, on="USUBJID")
        .with_columns(days.alias("BILIDAYS"))
        .filter(pl.col("BILIDAYS").is_between(0, p.bilirubin_within_days))
        .sort("BILIDT", "BILISEQ")
        .join_asof(alp, left_on="BILIDT", right_on="ALPDT", by="USUBJID", strategy="backward",
                   check_sortedness=False)
        .with_columns(
            pl.when(pl.col("ALPULN").is_null()).then(pl.lit("MISSING"))
            .when(pl.col("ALPULN") < p.alp_below_uln).then(pl.lit("BELOW"))
            .otherwise(pl.lit("AT OR ABOVE")).alias("ALPSTAT")
        )
        .filter(pl.col("ALPSTAT") != "AT OR ABOVE")
    )
    cases = (
        pairs.sort("USUBJID", "AMTDT", "AMTSEQ", "BILIDT", "BILISEQ")
        .group_by("USUBJID", "AMTSEQ", maintain_order=True)
        .first()
        .with_columns(
            pl.concat_str(pl.lit("HYS:"), "USUBJID", pl.lit(":LB:"), pl.col("AMTSEQ").cast(pl.String)).alias("HYSCASEID"),
            pl.concat_str(
                pl.lit("LB:"), pl.concat_str("AMTSEQ", "BILISEQ", "ALPSEQ", separator=",", ignore_nulls=True)
            ).alias("SRC"),
            pl.lit(rules.version).alias("RULE_VERSION"),
        )
        .select(CASE_COLUMNS)
    )
    return cases, edish(post, rules)


def edish(post: pl.DataFrame, rules: DltRules) -> pl.DataFrame:
    """Per-subject peaks from post-baseline liver results (see `hys_law`)."""
    p = rules.hys_law
    peaks = (
        post.filter(pl.col("TERM").is_in(["ALT", "AST", "BILI"]))
        .group_by("USUBJID", "TERM")
        .agg(pl.col("GRADE").max().alias("PEAK"), pl.col("LBSEQ").sort_by("GRADE", "LBSEQ").last().alias("SEQ"))
    )
    subjects = peaks.select("USUBJID").unique().sort("USUBJID")
    for term in ("ALT", "AST", "BILI"):
        one = peaks.filter(pl.col("TERM") == term).select(
            "USUBJID", pl.col("PEAK").alias(f"PEAK{term}"), pl.col("SEQ").alias(f"PEAK{term}SEQ")
        )
        subjects = subjects.join(one, on="USUBJID", how="left")
    x = pl.max_horizontal("PEAKALT", "PEAKAST") if p.edish_x == "max_alt_ast" else pl.col("PEAKALT")
    high_x, high_y = pl.col("EDISHX") >= p.edish_x_line, pl.col("EDISHY") >= p.edish_y_line
    return subjects.with_columns(x.alias("EDISHX"), pl.col("PEAKBILI").alias("EDISHY")).with_columns(
        pl.when(pl.col("EDISHX").is_null() | pl.col("EDISHY").is_null()).then(pl.lit("Not classifiable"))
        .when(high_x & high_y).then(pl.lit("Potential Hy's law"))
        .when(high_x).then(pl.lit("Temple's corollary"))
        .when(high_y).then(pl.lit("Cholestasis"))
        .otherwise(pl.lit("Normal range")).alias("EDISHQ"),
        pl.lit(rules.version).alias("RULE_VERSION"),
    )
