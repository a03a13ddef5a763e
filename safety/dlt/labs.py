"""Lab-defined DLT rules: episodes of consecutive results at or beyond a threshold.

protocol.md "DLT definition": for lab-defined rules the duration comes from consecutive lab
results and ends at the first result below the grade. An episode starts at a qualifying result
(not the baseline record) whose predecessor was not in an episode, and ends at the first later
result that has recovered. With no recovery result yet the episode is ONGOING; since its end
must come after the last result not yet recovered, it has already lasted more than N days once
last - start >= N, and is otherwise PENDING: shown to the committee now rather than later.
"""

from __future__ import annotations

import polars as pl

from safety.dlt.rules import DltRules, Rule
from safety.dlt.window import ENGINE, with_dates

MET, PENDING = "CRITERIA MET", "DURATION PENDING"
_KEY = ["USUBJID", "SERIES"]
# What the lab rules and Hy's law read of a graded LB row (plus ABLFL, or else LBBLFL).
_LAB_COLUMNS = ("USUBJID", "LBSEQ", "LBTESTCD", "LBDT", "LBSTRESN", "LBSTNRHI",
                "ATOXDSCL", "ATOXGRL", "ATOXDSCH", "ATOXGRH")


def lab_frame(lb: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The graded LB reduced to the columns the DLT and Hy's law code reads (LBDT derived from
    LBDTC when absent). Selecting first matters: a filter on the full table copies every column."""
    lazy = lb.lazy()
    schema = lazy.collect_schema()
    blfl = next((c for c in ("ABLFL", "LBBLFL") if c in schema), None)
    keep = [c for c in (*_LAB_COLUMNS, blfl) if c is not None and c in schema]
    if "LBDT" in schema or "LBDTC" not in schema:
        return lazy.select(keep)
    return with_dates(lazy.select(*keep, "LBDTC"), "LBDTC").select(*keep, "LBDT")


def test_codes(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules, codes: list[str]) -> dict[str, str]:
    """Every LBTESTCD spelling in `lb` that names one of `codes` (trimmed, any case; synonyms of
    config/dlt.yaml), mapped to that code: the first of `codes` that lists it. Worked out on the
    distinct spellings, so that the rows can then be matched with a plain `is_in`."""
    return codes_of(lb.lazy().select(pl.col("LBTESTCD").unique()).collect(engine=ENGINE).to_series(), rules, codes)


def codes_of(spellings: pl.Series, rules: DltRules, codes: list[str]) -> dict[str, str]:
    """`test_codes` of the given distinct LBTESTCD values."""
    normal = spellings.cast(pl.String).str.strip_chars().str.to_uppercase()
    found = {}
    for raw, code in zip(spellings.to_list(), normal.to_list(), strict=True):
        canonical = next((c for c in codes if code in rules.synonyms(c)), None)
        if canonical is not None:
            found[raw] = canonical
    return found


def usual_codes(rules: DltRules, codes: list[str]) -> dict[str, str]:
    """`test_codes` of a table that writes every spelling as config/dlt.yaml does (upper case)."""
    found: dict[str, str] = {}
    for code in codes:
        for spelling in rules.synonyms(code):
            found.setdefault(spelling, code)
    return found


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
    names = test_codes(lb, rules, codes)
    return named_terms(uln_results(lb, list(names)), names)


def uln_results(lb: pl.DataFrame | pl.LazyFrame, spellings: list[str]) -> pl.LazyFrame:
    """The rows of `uln_long` for these LBTESTCD spellings, TERM still as spelled (`named_terms`)."""
    lazy = lb.lazy()
    schema = lazy.collect_schema()
    blfl = next((c for c in ("ABLFL", "LBBLFL") if c in schema), None)
    return (
        lazy.filter(pl.col("LBTESTCD").is_in(spellings) & (pl.col("LBSTNRHI") > 0))
        .select(
            "USUBJID", "LBSEQ", "LBTESTCD", "LBDT",
            pl.col("LBTESTCD").cast(pl.String).alias("TERM"),
            pl.lit("high").alias("DIRECTION"),
            # rounded so that 3 x 40 = 120.00000001 does not flip a comparison (ctcae.md)
            (pl.col("LBSTRESN") / pl.col("LBSTNRHI")).round(6).alias("GRADE"),
            (pl.col(blfl).cast(pl.String) if blfl else pl.lit(None, pl.String)).alias("BLFL"),
        )
        .filter(pl.col("GRADE").is_not_null())
    )


def named_terms(frame: pl.DataFrame | pl.LazyFrame, names: dict[str, str]):
    """TERM as the canonical code of `names` (spelling -> code)."""
    renamed = {raw: code for raw, code in names.items() if raw != code}
    return frame.with_columns(pl.col("TERM").replace(renamed)) if renamed else frame


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


def episode_hits(long: pl.LazyFrame, window: pl.LazyFrame, rule: Rule, rules: DltRules) -> pl.LazyFrame:
    """USUBJID, SERIES of `rule`'s series with a qualifying result in the window: only these can have
    an episode. Found first, on a filter that scans each row once; `lab_episodes` then works on
    their results only."""
    return (
        _series(long, rule, rules).filter(_qualifies(rule) & (pl.col("BLFL").fill_null("") != "Y"))
        .join(window, on="USUBJID")
        .filter(pl.col("LBDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")))
        .select(_KEY)
        .unique()
    )


def _series(long: pl.LazyFrame, rule: Rule, rules: DltRules) -> pl.LazyFrame:
    return _select(long, rule, rules).with_columns(
        pl.concat_str("TERM", pl.lit(" ("), "DIRECTION", pl.lit(")")).alias("SERIES")
    )


def _qualifies(rule: Rule) -> pl.Expr:
    thr = float(rule.threshold)  # validated present for lab rules
    return (pl.col("GRADE") > thr) if rule.strict else (pl.col("GRADE") >= thr)


def lab_episodes(long: pl.LazyFrame, window: pl.LazyFrame, rule: Rule, rules: DltRules,
                 hits: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Episodes of `rule` starting in the window that meet it or may still meet it.

    Columns: USUBJID, SERIES (term + direction), EPSTDT, SRCSEQS (LBSEQ of the qualifying
    results, then the recovery result), FIRSTSEQ, PEAK, DURDAYS (null while ongoing),
    DURSOFAR, CANDSTAT. `hits`: `episode_hits` of the same arguments, if already collected.
    """
    selected = _series(long, rule, rules)
    qualifies = _qualifies(rule)
    if hits is None:
        hits = episode_hits(long, window, rule, rules).collect(engine=ENGINE)
    recov = float(rule.recovery_below) if rule.recovery_below is not None else None
    below = (pl.col("GRADE") < recov) if recov is not None else ~qualifies
    # A result without a date cannot be placed among consecutive results (sorted first, it would
    # open an undated episode that swallows the dated one).
    series = (
        selected.filter(pl.col("LBDT").is_not_null())
        .join(hits.lazy(), on=_KEY, how="semi").join(window, on="USUBJID")
    )
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
        # the last result not yet recovered (a qualifying one, or one between the threshold and
        # recovery_below): the episode ends after it
        pl.col("LBDT").filter(post).last().alias("LASTQDT"),
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
    found = (
        episodes.filter(pl.col("EPSTDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")))
        .with_columns(
            dur.alias("DURDAYS"), sofar.alias("DURSOFAR"), status.alias("CANDSTAT"), seqs.alias("SRCSEQS")
        )
        .filter(pl.col("CANDSTAT").is_not_null())
        .select(*_KEY, "EPSTDT", "FIRSTSEQ", "SRCSEQS", "PEAK", "DURDAYS", "DURSOFAR", "CANDSTAT")
    )
    # With no series to follow (the usual case for most rules) the plan above need not run.
    return found if hits.height else pl.LazyFrame(schema=found.collect_schema())
