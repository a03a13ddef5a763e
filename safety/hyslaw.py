"""Potential Hy's law cases and the eDISH summary (protocol.md "Hy's law").

A case: ALT or AST >= 3 x ULN, then total bilirubin >= 2 x ULN 0 to 30 days after it (same
day allowed), with ALP < 2 x ULN at the time. "At the time" is the nearest ALP on or before
the bilirubin date: the value the investigator had when jaundice appeared, never a later one.
With no ALP on or before that date the case is kept with ALPSTAT "MISSING" for the committee
rather than dropped. Only post-baseline results count (after the baseline record of the test).
"""

from __future__ import annotations

import polars as pl

from safety.dlt.lab_rows import EDISH_TESTS, LIVER_TESTS, LabRows, read_lab_rows
from safety.dlt.labs import codes_of, lab_frame, named_terms, uln_results, usual_codes
from safety.dlt.rules import DltRules
from safety.dlt.window import ENGINE

CASE_COLUMNS = [
    "USUBJID", "HYSCASEID", "AMTTEST", "AMTSEQ", "AMTDT", "AMTULN", "BILISEQ", "BILIDT", "BILIULN",
    "BILIDAYS", "ALPSEQ", "ALPDT", "ALPULN", "ALPSTAT", "SRC", "RULE_VERSION",
]


_KEY = ["USUBJID", "TERM"]


def _liver(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules) -> pl.DataFrame:
    """ALT, AST, BILI, ALP results with a date, as multiples of ULN, collected once:
    USUBJID, LBSEQ, TERM (canonical code), LBDT, GRADE, BLFL.

    The rows are matched on the spellings of config/dlt.yaml while the distinct spellings of the
    table are read (the two scans run side by side); a table that also writes a liver test some
    other way (lower case, padded) is matched again on its own spellings."""
    narrow = lab_frame(lb)

    def rows(spellings: dict[str, str]) -> pl.LazyFrame:
        return (
            uln_results(narrow, list(spellings))
            .filter(pl.col("LBDT").is_not_null())
            .select("USUBJID", "LBSEQ", "TERM", "LBDT", "GRADE", "BLFL")
        )

    usual = usual_codes(rules, LIVER_TESTS)
    distinct, liver = pl.collect_all([narrow.select(pl.col("LBTESTCD").unique()), rows(usual)], engine=ENGINE)
    names = codes_of(distinct.to_series(), rules, LIVER_TESTS)
    if names != {s: usual[s] for s in distinct.to_series().to_list() if s in usual}:
        liver = rows(names).collect(engine=ENGINE)
    return named_terms(liver, names)


def _baseline_dates(liver: pl.DataFrame) -> pl.DataFrame:
    """USUBJID, TERM, BLDT: the (latest) date of the baseline record of each subject's test."""
    return liver.filter(pl.col("BLFL") == "Y").group_by(_KEY).agg(pl.col("LBDT").max().alias("BLDT"))


def _post(rows: pl.DataFrame | pl.LazyFrame, baseline: pl.DataFrame | pl.LazyFrame):
    """The post-baseline rows: not the baseline record, and after it when there is one."""
    return (
        rows.join(baseline, on=_KEY, how="left")
        .filter((pl.col("BLFL").fill_null("") != "Y") & (pl.col("BLDT").is_null() | (pl.col("LBDT") > pl.col("BLDT"))))
        .drop("BLDT")
    )


def _cases(liver: pl.DataFrame, baseline: pl.DataFrame, rules: DltRules) -> pl.DataFrame:
    """CASE_COLUMNS (see `hys_law`), from the few results at the thresholds."""
    p = rules.hys_law
    is_amt = pl.col("TERM").is_in(["ALT", "AST"]) & (pl.col("GRADE") >= p.aminotransferase_uln)
    is_bili = (pl.col("TERM") == "BILI") & (pl.col("GRADE") >= p.bilirubin_uln)
    # The numeric test first: it leaves the few results at either threshold.
    high = liver.lazy().filter(pl.col("GRADE") >= min(p.aminotransferase_uln, p.bilirubin_uln)).filter(is_amt | is_bili)
    high = _post(high, baseline.lazy())
    amt = high.filter(is_amt).select(
        "USUBJID", pl.col("TERM").alias("AMTTEST"), pl.col("LBSEQ").alias("AMTSEQ"),
        pl.col("LBDT").alias("AMTDT"), pl.col("GRADE").alias("AMTULN"),
    )
    bili = high.filter(is_bili).select(
        "USUBJID", pl.col("LBSEQ").alias("BILISEQ"), pl.col("LBDT").alias("BILIDT"), pl.col("GRADE").alias("BILIULN"),
    )
    days = (pl.col("BILIDT") - pl.col("AMTDT")).dt.total_days()
    pairs = (
        amt.join(bili, on="USUBJID")
        .with_columns(days.alias("BILIDAYS"))
        .filter(pl.col("BILIDAYS").is_between(0, p.bilirubin_within_days))
        .collect(engine=ENGINE)
    )
    # ALP only of the subjects it is asked about (usually none)
    asked = liver.filter(pl.col("TERM") == "ALP").join(pairs, on="USUBJID", how="semi") if pairs.height else liver.clear()
    alp = asked.lazy().select(
        "USUBJID", pl.col("LBSEQ").alias("ALPSEQ"), pl.col("LBDT").alias("ALPDT"), pl.col("GRADE").alias("ALPULN")
    ).sort("ALPDT", "ALPSEQ")
    pairs = (
        pairs.lazy().sort("BILIDT", "BILISEQ")
        .join_asof(alp, left_on="BILIDT", right_on="ALPDT", by="USUBJID", strategy="backward",
                   check_sortedness=False)
        .with_columns(
            pl.when(pl.col("ALPULN").is_null()).then(pl.lit("MISSING"))
            .when(pl.col("ALPULN") < p.alp_below_uln).then(pl.lit("BELOW"))
            .otherwise(pl.lit("AT OR ABOVE")).alias("ALPSTAT")
        )
        .filter(pl.col("ALPSTAT") != "AT OR ABOVE")
    )
    return (
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
        .collect(engine=ENGINE)
    )


def _peak_of(post: pl.DataFrame | pl.LazyFrame, *extra: pl.Expr) -> pl.LazyFrame:
    """USUBJID, TERM, PEAK, SEQ: the highest result of each subject's test and its LBSEQ
    (the later record on a tie), plus any `extra` aggregates."""
    return post.lazy().group_by(_KEY).agg(
        pl.col("GRADE").max().alias("PEAK"), pl.col("LBSEQ").sort_by("GRADE", "LBSEQ").last().alias("SEQ"), *extra
    )


def _post_peaks(liver: pl.DataFrame, baseline: pl.DataFrame) -> pl.DataFrame:
    """`_peak_of` the post-baseline ALT, AST and BILI results, in one pass over the results.

    A test none of whose non-baseline results is dated on or before its baseline record (the
    usual case) has only post-baseline results, so its peak comes from that pass as it is; the
    other tests, if any, are worked out again from their post-baseline results alone.
    """
    results = liver.lazy().filter(
        pl.col("TERM").is_in(["ALT", "AST", "BILI"]) & (pl.col("BLFL").fill_null("") != "Y")
    )
    # The default (streaming) engine: this group-by reads every liver result.
    first = _peak_of(results, pl.col("LBDT").min().alias("FIRSTDT")).collect().join(baseline, on=_KEY, how="left")
    all_post = pl.col("BLDT").is_null() | (pl.col("FIRSTDT") > pl.col("BLDT"))
    peaks = first.filter(all_post).select(*_KEY, "PEAK", "SEQ")
    redo = first.filter(~all_post).select(_KEY)
    if redo.is_empty():
        return peaks
    redone = _post(results.join(redo.lazy(), on=_KEY, how="semi").collect(engine=ENGINE), baseline)
    return pl.concat([peaks, _peak_of(redone).collect(engine=ENGINE)])


def hys_law(lb: pl.DataFrame | pl.LazyFrame | LabRows, rules: DltRules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cases, edish), from the graded LB or the rows `read_lab_rows` found in it.

    cases: one row per ALT/AST result >= the threshold that is followed by a qualifying
    bilirubin, with the first such bilirubin: CASE_COLUMNS (AMT = the aminotransferase; *ULN
    are multiples of ULN; SRC like "LB:12,15,14" = aminotransferase, bilirubin, ALP).
    edish: one row per subject with post-baseline liver results: PEAKALT, PEAKAST, PEAKBILI
    (multiples of ULN) with the LBSEQ of each peak, EDISHX, EDISHY, EDISHQ (quadrant).
    """
    labs = lb if isinstance(lb, LabRows) else read_lab_rows(lb, rules)
    # Every case is a subject's own: their results alone give the cases of the whole table.
    return hys_law_cases(labs.case_rows, rules), _quadrants(_summary_peaks(labs, rules), rules)


def _summary_peaks(labs: LabRows, rules: DltRules) -> pl.DataFrame:
    """`_post_peaks` of the whole table, from its summary per spelling and subject (`LabRows.liver`)
    and its results with a baseline flag (`LabRows.flagged`).

    A subject's test summed up under one spelling, with its results all after its baseline
    record, or without one (the usual case), has its peak in the summary as it is. A subject with
    a test under two spellings, with results on or before the baseline date, or with a flag other
    than Y, is worked out again from all of its results, as `_post_peaks` does."""
    summary = labs.liver
    names = codes_of(summary.get_column("LBTESTCD").unique(), rules, EDISH_TESTS)
    tests = named_terms(
        summary.filter(pl.col("LBTESTCD").is_in(list(names))).with_columns(pl.col("LBTESTCD").cast(pl.String).alias("TERM")),
        names,
    )
    flagged = _liver(labs.flagged, rules)
    first = tests.join(_baseline_dates(flagged), on=_KEY, how="left")
    redo = pl.concat([
        first.filter(pl.col("BLDT").is_not_null() & (pl.col("FIRSTDT") <= pl.col("BLDT"))).get_column("USUBJID"),
        tests.filter(pl.len().over(_KEY) > 1).get_column("USUBJID"),
        flagged.filter((pl.col("BLFL") != "Y") & pl.col("TERM").is_in(EDISH_TESTS)).get_column("USUBJID"),
    ]).unique()
    peaks = first.filter(~pl.col("USUBJID").is_in(redo.implode())).select(*_KEY, "PEAK", "SEQ")
    if redo.is_empty():
        return peaks
    liver = _liver(labs.source.filter(pl.col("USUBJID").is_in(redo.implode())).collect(engine=ENGINE), rules)
    return pl.concat([peaks, _post_peaks(liver, _baseline_dates(liver))])


def hys_law_cases(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules) -> pl.DataFrame:
    """The cases of `hys_law` alone, from the whole graded LB or the results of some subjects."""
    liver = _liver(lb, rules)
    return _cases(liver, _baseline_dates(liver), rules)


def edish(post: pl.DataFrame, rules: DltRules) -> pl.DataFrame:
    """Per-subject peaks from post-baseline liver results (see `hys_law`)."""
    peaks = _peak_of(post.filter(pl.col("TERM").is_in(["ALT", "AST", "BILI"]))).collect(engine=ENGINE)
    return _quadrants(peaks, rules)


def _quadrants(peaks: pl.DataFrame, rules: DltRules) -> pl.DataFrame:
    """One row per subject from `_peak_of` rows: PEAK* and PEAK*SEQ per test, EDISHX, EDISHY, EDISHQ."""
    p = rules.hys_law
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
