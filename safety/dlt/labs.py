"""Lab-defined DLT rules: episodes of consecutive results at or beyond a threshold.

protocol.md "DLT definition": for lab-defined rules the duration comes from consecutive lab
results and ends at the first result below the grade. An episode starts at a qualifying result
(not the baseline record) whose predecessor was not in an episode, and ends at the first later
result that has recovered. With no recovery result yet the episode is ONGOING; since its end
must come after the last qualifying result, it has already lasted more than N days once
last - start >= N, and is otherwise PENDING: shown to the committee now rather than later.
"""

from __future__ import annotations

import polars as pl

from safety.dlt.rules import DltRules, Rule

MET, PENDING = "CRITERIA MET", "DURATION PENDING"
_KEY = ["USUBJID", "SERIES"]


def graded_long(lb_graded: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Both grading directions stacked: USUBJID, LBSEQ, LBTESTCD, LBDT, TERM, DIRECTION, GRADE, BLFL."""
    lazy = lb_graded.lazy()
    schema = lazy.collect_schema()
    blfl = next((c for c in ("ABLFL", "LBBLFL") if c in schema), None)
    parts = []
    for direction, term, grade in (("low", "ATOXDSCL", "ATOXGRL"), ("high", "ATOXDSCH", "ATOXGRH")):
        if term not in schema or grade not in schema:
            continue
        parts.append(
            lazy.select(
                "USUBJID", "LBSEQ", "LBTESTCD", "LBDT",
                pl.col(term).cast(pl.String).str.strip_chars().alias("TERM"),
                pl.lit(direction).alias("DIRECTION"),
                pl.col(grade).cast(pl.Float64, strict=False).alias("GRADE"),
                (pl.col(blfl).cast(pl.String) if blfl else pl.lit(None, pl.String)).alias("BLFL"),
            ).filter(pl.col("TERM").is_not_null() & pl.col("GRADE").is_not_null())
        )
    if not parts:
        raise ValueError("graded labs need ATOXDSCL/ATOXGRL or ATOXDSCH/ATOXGRH columns")
    return pl.concat(parts)


def uln_long(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules, codes: list[str]) -> pl.LazyFrame:
    """Results of the given canonical tests as multiples of ULN: same columns as graded_long,
    TERM = canonical code (ALT, AST, ...), GRADE = LBSTRESN / LBSTNRHI."""
    lazy = lb.lazy()
    schema = lazy.collect_schema()
    blfl = next((c for c in ("ABLFL", "LBBLFL") if c in schema), None)
    code = pl.col("LBTESTCD").str.strip_chars().str.to_uppercase()
    canonical = pl.lit(None, pl.String)
    for c in reversed(codes):
        canonical = pl.when(code.is_in(rules.synonyms(c))).then(pl.lit(c)).otherwise(canonical)
    return (
        lazy.filter(code.is_in(rules.synonyms(*codes)) & (pl.col("LBSTNRHI") > 0))
        .select(
            "USUBJID", "LBSEQ", "LBTESTCD", "LBDT",
            canonical.alias("TERM"),
            pl.lit("high").alias("DIRECTION"),
            # rounded so that 3 x 40 = 120.00000001 does not flip a comparison (ctcae.md)
            (pl.col("LBSTRESN") / pl.col("LBSTNRHI")).round(6).alias("GRADE"),
            (pl.col(blfl).cast(pl.String) if blfl else pl.lit(None, pl.String)).alias("BLFL"),
        )
        .filter(pl.col("GRADE").is_not_null())
    )


def _select(long: pl.LazyFrame, rule: Rule, rules: DltRules) -> pl.LazyFrame:
    term = pl.col("TERM")
    keep = pl.lit(True)
    if rule.lab_terms:
        keep = term.str.to_lowercase().is_in([t.lower() for t in rule.lab_terms])
    if rule.lab_tests:
        keep = term.is_in([t.upper() for t in rule.lab_tests])
    if rule.non_haematological:
        keep = keep & ~term.str.to_lowercase().is_in([t.lower() for t in rules.haematological_terms])
    if rule.exclude_lab_terms:
        keep = keep & ~term.str.to_lowercase().is_in([t.lower() for t in rule.exclude_lab_terms])
    if rule.direction:
        keep = keep & (pl.col("DIRECTION") == rule.direction)
    return long.filter(keep)


def lab_episodes(long: pl.LazyFrame, window: pl.LazyFrame, rule: Rule, rules: DltRules) -> pl.LazyFrame:
    """Episodes of `rule` starting in the window that meet it or may still meet it.

    Columns: USUBJID, SERIES (term + direction), EPSTDT, SRCSEQS (LBSEQ of the qualifying
    results, then the recovery result), FIRSTSEQ, PEAK, DURDAYS (null while ongoing),
    DURSOFAR, CANDSTAT.
    """
    thr = float(rule.threshold)  # validated present for lab rules
    selected = _select(long, rule, rules).with_columns(
        pl.concat_str("TERM", pl.lit(" ("), "DIRECTION", pl.lit(")")).alias("SERIES")
    )
    qualifies = (pl.col("GRADE") > thr) if rule.strict else (pl.col("GRADE") >= thr)
    # Only subjects with a qualifying result in their window can have an episode: find those
    # series first, on a filter that scans each row once, then work on their results only.
    hits = (
        selected.filter(qualifies & (pl.col("BLFL").fill_null("") != "Y"))
        .join(window, on="USUBJID")
        .filter(pl.col("LBDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")))
        .select(_KEY)
        .unique()
    )
    recov = float(rule.recovery_below) if rule.recovery_below is not None else None
    below = (pl.col("GRADE") < recov) if recov is not None else ~qualifies
    series = selected.join(hits, on=_KEY, how="semi").join(window, on="USUBJID")
    if rule.recover_to_baseline:
        base = pl.col("GRADE").filter(pl.col("BLFL") == "Y").last().over(_KEY)
        below = below | (pl.col("GRADE") <= base).fill_null(False)
    post = pl.col("BLFL").fill_null("") != "Y"
    q = qualifies & post
    rec = ~qualifies & below & post
    state = pl.when(q).then(1).when(rec).then(0).otherwise(None)
    rows = (
        series.sort("USUBJID", "SERIES", "LBDT", "LBSEQ")
        .with_columns(
            state.forward_fill().over(_KEY).alias("STATE"),
            pl.when(rec).then(pl.col("LBDT")).backward_fill().over(_KEY).alias("RECDT"),
            pl.when(rec).then(pl.col("LBSEQ")).backward_fill().over(_KEY).alias("RECSEQ"),
        )
        .with_columns(
            (q & (pl.col("STATE").shift(1).over(_KEY).fill_null(0) != 1)).alias("START"),
        )
        .with_columns(pl.col("START").cum_sum().over(_KEY).alias("EPISODE"))
        .filter((pl.col("STATE") == 1) & (pl.col("EPISODE") > 0))
    )
    episodes = rows.group_by(*_KEY, "EPISODE").agg(
        pl.col("LBDT").first().alias("EPSTDT"),
        pl.col("LBSEQ").first().alias("FIRSTSEQ"),
        pl.col("LBSEQ").filter(q).alias("QSEQS"),
        pl.col("GRADE").max().alias("PEAK"),
        pl.col("LBDT").filter(q).last().alias("LASTQDT"),
        pl.col("RECDT").first(),
        pl.col("RECSEQ").first(),
        pl.col("WINSTDT").first(),
        pl.col("WINENDT").first(),
    )
    min_days = rule.min_duration_days
    dur = (pl.col("RECDT") - pl.col("EPSTDT")).dt.total_days()
    sofar = (pl.col("LASTQDT") - pl.col("EPSTDT")).dt.total_days()
    status = (
        pl.when(pl.lit(min_days == 0)).then(pl.lit(MET))
        .when(pl.col("RECDT").is_not_null() & (dur > min_days)).then(pl.lit(MET))
        .when(pl.col("RECDT").is_null() & (sofar >= min_days)).then(pl.lit(MET))
        .when(pl.col("RECDT").is_null()).then(pl.lit(PENDING))
    )
    seqs = pl.concat_list(pl.col("QSEQS"), pl.col("RECSEQ").cast(pl.Int64)).list.drop_nulls()
    return (
        episodes.filter(pl.col("EPSTDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")))
        .with_columns(
            dur.alias("DURDAYS"), sofar.alias("DURSOFAR"), status.alias("CANDSTAT"), seqs.alias("SRCSEQS")
        )
        .filter(pl.col("CANDSTAT").is_not_null())
        .select(*_KEY, "EPSTDT", "FIRSTSEQ", "SRCSEQS", "PEAK", "DURDAYS", "DURSOFAR", "CANDSTAT")
    )
