"""Candidate DLTs: every event that meets (or may meet) a DLT rule of config/dlt.yaml.

Candidates go to the committee, which confirms or rejects them (protocol.md "DLT
definition"); nothing here is a confirmed DLT. When in doubt an event is shown, flagged, rather
than dropped: a partial start date that cannot be placed in the window, a missing causality,
an exception whose duration is not known yet, a lab episode still ongoing.
"""

from __future__ import annotations

import polars as pl

from safety.dlt.exposure import OTHER, UNKNOWN, doses_in_window, dosing_periods, interruptions
from safety.dlt.lab_rows import LabRows, read_lab_rows
from safety.dlt.labs import MET, PENDING, episode_hits, graded_long, lab_episodes, uln_long
from safety.dlt.rules import DltRules, Rule
from safety.dlt.window import ENGINE, IN, OUT, REVIEW, dlt_window, latest_possible, placement, with_dates

CANDIDATE_COLUMNS = {
    "USUBJID": pl.String,
    "CANDIDATE_ID": pl.String,
    "DLT_RULE": pl.String,
    "DLT_DESC": pl.String,
    "DLTSTDT": pl.Date,
    "SRCDOM": pl.String,
    "SRCSEQ": pl.List(pl.Int64),
    "SRC": pl.String,  # e.g. "AE:12", "LB:301,305"
    "TERM": pl.String,
    "GRADE": pl.Float64,  # CTCAE grade, or multiple of ULN for rules measured so
    "GRADEUNIT": pl.String,
    "DURATION": pl.Float64,
    "DURUNIT": pl.String,
    "CANDSTAT": pl.String,  # CRITERIA MET, DURATION PENDING, REVIEW
    "REVIEW": pl.String,
    "REVIEWRSN": pl.String,
    "RULE_VERSION": pl.String,
}
REVIEW_STATUS = "REVIEW"


def _upper(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars().str.to_uppercase()


def _candidate_id(rule: Rule) -> pl.Expr:
    """Same subject, rule, first source record (and, for EX and LB, term) => same id in every cycle.

    A gap between EX records has no record of its own: its start date stands for it. One EX
    record can start both an interruption and a dose shortfall, and one LB result can be graded
    in both directions, so their ids name the term; an AE record is one event of one term.
    """
    anchor = pl.coalesce(pl.col("SRCSEQ").list.first().cast(pl.String),
                         pl.concat_str(pl.lit("start "), pl.col("DLTSTDT").cast(pl.String)))
    base = pl.concat_str("USUBJID", pl.lit(f":{rule.id}:"), pl.col("SRCDOM"), pl.lit(":"), anchor)
    named = pl.concat_str(base, pl.lit(":"), pl.col("TERM"))
    return pl.when(pl.col("SRCDOM").is_in(["EX", "LB"])).then(named).otherwise(base)


def _finish(frame: pl.LazyFrame, rule: Rule, rules: DltRules) -> pl.LazyFrame:
    """Add the rule, the source string, the stable id and the version; fix the column set."""
    seqs = pl.col("SRCSEQ").list.eval(pl.element().cast(pl.String)).list.join(",")
    return (
        frame.with_columns(
            pl.lit(rule.id).alias("DLT_RULE"),
            pl.lit(rule.description).alias("DLT_DESC"),
            pl.concat_str(pl.col("SRCDOM"), pl.lit(":"), seqs).alias("SRC"),
            _candidate_id(rule).alias("CANDIDATE_ID"),
            pl.when(pl.col("CANDSTAT") == REVIEW_STATUS).then(pl.lit("Y")).alias("REVIEW"),
            pl.lit(rules.version).alias("RULE_VERSION"),
        )
        .with_columns(
            [pl.col(c).cast(t) if c in ("GRADE", "DURATION") else pl.col(c) for c, t in CANDIDATE_COLUMNS.items()]
        )
        .select(list(CANDIDATE_COLUMNS))
    )


def _ae_frame(ae: pl.DataFrame | pl.LazyFrame, window: pl.LazyFrame, rules: DltRules) -> pl.LazyFrame:
    related = [v.upper() for v in rules.related_values]
    lazy = with_dates(with_dates(ae, "AESTDTC"), "AEENDTC", "last")
    has_times = pl.col("AESTDTM").is_not_null() & pl.col("AEENDTM").is_not_null()
    hours = (
        pl.when(has_times).then((pl.col("AEENDTM") - pl.col("AESTDTM")).dt.total_seconds() / 3600)
        # dates only: whole days, so 3 calendar days count as 72 hours
        .otherwise((pl.col("AEENDT") - pl.col("AESTDT")).dt.total_days() * 24.0)
    )
    is_related = (_upper("AEREL").is_in(related) | _upper("AEREL2").is_in(related)).fill_null(False)
    # not related to one drug, relatedness to the other not recorded: it may be related to that one
    missing = pl.col("AEREL").is_null() | pl.col("AEREL2").is_null()
    return lazy.join(window, on="USUBJID").with_columns(
        pl.coalesce(pl.col("AEDECOD"), pl.col("AETERM")).cast(pl.String).str.strip_chars().alias("TERM"),
        is_related.alias("RELATED"),
        (~is_related & missing).alias("NOCAUS"),
        placement(pl.col("AESTDT"), latest_possible("AESTDT", "AESTDTF")).alias("PLACE"),
        hours.alias("DURHRS"),
        has_times.alias("HASTIMES"),
    )


def _ae_candidates(aes: pl.LazyFrame, rule: Rule, rules: DltRules, selected: pl.Expr) -> pl.LazyFrame:
    term = pl.col("TERM").str.to_lowercase()
    keep = selected & (pl.col("PLACE") != OUT) & (pl.col("RELATED") | pl.col("NOCAUS"))
    pending = pl.lit(False)
    for exc in rule.exceptions:
        eligible = term.is_in([t.lower() for t in exc.terms]) & (pl.col("AETOXGR") <= exc.max_grade)
        if exc.max_duration_hours is None:
            keep = keep & ~eligible
        else:
            keep = keep & ~(eligible & (pl.col("DURHRS") <= exc.max_duration_hours).fill_null(False))
            pending = pending | (eligible & pl.col("DURHRS").is_null())
    if rule.min_duration_days:
        long_enough = (pl.col("DURHRS") > rule.min_duration_days * 24).fill_null(False)
        keep = keep & (long_enough | pl.col("DURHRS").is_null())
        pending = pending | pl.col("DURHRS").is_null()
    reason = (
        pl.when(pl.col("PLACE") == REVIEW)
        .then(pl.concat_str(pl.lit("start date '"), pl.col("AESTDTC").fill_null(""),
                            pl.lit("' cannot be placed in the DLT window")))
        .when(pl.col("NOCAUS")).then(
            pl.when(pl.col("AEREL").is_null() & pl.col("AEREL2").is_null())
            .then(pl.lit("relatedness to both drugs not recorded"))
            .when(pl.col("AEREL").is_null()).then(pl.lit("relatedness to elacestrant not recorded"))
            .otherwise(pl.lit("relatedness to exemestane not recorded"))
        )
    )
    return aes.filter(keep).select(
        "USUBJID",
        pl.col("AESTDT").alias("DLTSTDT"),
        pl.lit("AE").alias("SRCDOM"),
        pl.concat_list(pl.col("AESEQ").cast(pl.Int64)).alias("SRCSEQ"),
        "TERM",
        pl.col("AETOXGR").alias("GRADE"),
        pl.lit("CTCAE grade").alias("GRADEUNIT"),
        pl.when(pl.col("HASTIMES")).then(pl.col("DURHRS")).otherwise(pl.col("DURHRS") / 24).alias("DURATION"),
        pl.when(pl.col("DURHRS").is_null()).then(None)
        .when(pl.col("HASTIMES")).then(pl.lit("hours")).otherwise(pl.lit("days")).alias("DURUNIT"),
        pl.when(reason.is_not_null()).then(pl.lit(REVIEW_STATUS))
        .when(pending).then(pl.lit(PENDING)).otherwise(pl.lit(MET)).alias("CANDSTAT"),
        reason.alias("REVIEWRSN"),
    )


def _ae_rule(aes: pl.LazyFrame, rule: Rule, rules: DltRules) -> pl.LazyFrame:
    term = pl.col("TERM").str.to_lowercase()
    if rule.kind == "grade5":
        fatal = _upper("AEOUT").is_in([o.upper() for o in rule.fatal_outcomes]).fill_null(False)
        return _ae_candidates(aes, rule, rules, (pl.col("AETOXGR") == 5).fill_null(False) | fatal)
    if rule.non_haematological:
        chosen = ~term.is_in([t.lower() for t in rules.haematological_terms])
    else:
        chosen = term.is_in([t.lower() for t in rule.ae_terms])
    return _ae_candidates(aes, rule, rules, chosen & (pl.col("AETOXGR") >= rule.min_grade).fill_null(False))


def _lab_rule(long: pl.LazyFrame, window: pl.LazyFrame, rule: Rule, rules: DltRules,
              hits: pl.DataFrame | None = None) -> pl.LazyFrame:
    return lab_episodes(long, window, rule, rules, hits).select(
        "USUBJID",
        pl.col("EPSTDT").alias("DLTSTDT"),
        pl.lit("LB").alias("SRCDOM"),
        pl.col("SRCSEQS").alias("SRCSEQ"),
        pl.col("SERIES").alias("TERM"),
        pl.col("PEAK").alias("GRADE"),
        pl.lit("CTCAE grade" if rule.measure == "grade" else "x ULN").alias("GRADEUNIT"),
        pl.coalesce("DURDAYS", "DURSOFAR").cast(pl.Float64).alias("DURATION"),
        pl.when(pl.col("DURDAYS").is_null()).then(pl.lit("days so far (ongoing)"))
        .otherwise(pl.lit("days")).alias("DURUNIT"),
        "CANDSTAT",
        pl.lit(None, pl.String).alias("REVIEWRSN"),
    )


def _bleeding_rule(aes: pl.LazyFrame, graded: pl.LazyFrame, window: pl.LazyFrame, rule: Rule,
                   rules: DltRules) -> pl.LazyFrame:
    words = "|".join(w.upper() for w in rule.bleeding_terms_containing)
    bleeds = aes.filter(
        pl.col("TERM").str.to_uppercase().str.contains(words)
        & (pl.col("AETOXGR") >= rule.min_grade).fill_null(False)
        & (pl.col("PLACE") != OUT)
    ).select("USUBJID", "AESEQ", "AESTDT", pl.coalesce("AEENDT", "AESTDT").alias("BLEEDEND"), "PLACE", "AESTDTC")
    terms = [t.lower() for t in rule.lab_terms]
    low = graded.filter(
        pl.col("TERM").str.to_lowercase().is_in(terms) & (pl.col("GRADE") >= rule.threshold)
    ).join(window, on="USUBJID").filter(pl.col("LBDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")))
    near = pl.duration(days=rule.within_days)
    pairs = (
        low.join(bleeds, on="USUBJID")
        .filter(pl.col("LBDT").is_between(pl.col("AESTDT") - near, pl.col("BLEEDEND") + near))
        .sort("USUBJID", "LBDT", "LBSEQ")
        .group_by("USUBJID", "AESEQ", maintain_order=True)
        .first()
    )
    return pairs.select(
        "USUBJID",
        pl.min_horizontal("LBDT", "AESTDT").alias("DLTSTDT"),
        pl.lit("LB").alias("SRCDOM"),
        pl.concat_list(pl.col("LBSEQ").cast(pl.Int64)).alias("SRCSEQ"),
        pl.concat_str(pl.col("TERM"), pl.lit(" with bleeding AE:"), pl.col("AESEQ").cast(pl.String)).alias("TERM"),
        "GRADE",
        pl.lit("CTCAE grade").alias("GRADEUNIT"),
        pl.lit(None, pl.Float64).alias("DURATION"),
        pl.lit(None, pl.String).alias("DURUNIT"),
        pl.when(pl.col("PLACE") == REVIEW).then(pl.lit(REVIEW_STATUS)).otherwise(pl.lit(MET)).alias("CANDSTAT"),
        pl.when(pl.col("PLACE") == REVIEW).then(pl.lit("bleeding AE start date cannot be placed in the window"))
        .alias("REVIEWRSN"),
    )


def _hys_rule(lb: pl.LazyFrame, window: pl.LazyFrame, rules: DltRules) -> pl.LazyFrame:
    # imported here: safety.hyslaw uses safety.dlt.labs, so a top-level import would be circular
    from safety.hyslaw import hys_law_cases

    cases = hys_law_cases(lb, rules)
    # The case dates from its aminotransferase rise: the onset of the liver injury.
    return (
        cases.lazy().join(window, on="USUBJID")
        .filter(pl.col("AMTDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")))
        .sort("USUBJID", "AMTDT", "AMTSEQ")
        .group_by("USUBJID", maintain_order=True)
        .first()
        .select(
            "USUBJID",
            pl.col("AMTDT").alias("DLTSTDT"),
            pl.lit("LB").alias("SRCDOM"),
            pl.concat_list("AMTSEQ", "BILISEQ", "ALPSEQ").list.drop_nulls().alias("SRCSEQ"),
            pl.concat_str(pl.col("AMTTEST"), pl.lit(" + BILI")).alias("TERM"),
            pl.col("BILIULN").alias("GRADE"),
            pl.lit("BILI x ULN").alias("GRADEUNIT"),
            pl.col("BILIDAYS").cast(pl.Float64).alias("DURATION"),
            pl.lit("days from aminotransferase to bilirubin").alias("DURUNIT"),
            pl.when(pl.col("ALPSTAT") == "MISSING").then(pl.lit(REVIEW_STATUS)).otherwise(pl.lit(MET)).alias("CANDSTAT"),
            pl.when(pl.col("ALPSTAT") == "MISSING").then(pl.lit("no ALP on or before the bilirubin date"))
            .alias("REVIEWRSN"),
        )
    )


def _interruption_rule(ex: pl.DataFrame | pl.LazyFrame, window: pl.LazyFrame, rule: Rule,
                       rules: DltRules, periods: pl.DataFrame) -> pl.LazyFrame:
    ev = rules.evaluability
    gaps = (
        interruptions(ex, rules, periods=periods).join(window, on="USUBJID")
        .filter(pl.col("INTSTDT").is_between(pl.col("WINSTDT"), pl.col("WINENDT")) & (pl.col("INTRSN") != OTHER))
        .collect(engine=ENGINE)
    )
    # Too few doses counts only with an interruption in the window: only those subjects' doses are counted.
    interrupted = window.filter(pl.col("USUBJID").is_in(gaps.get_column("USUBJID").implode()))
    gaps = gaps.lazy()
    unknown = pl.col("INTRSN") == UNKNOWN
    seqs = pl.col("INTSEQ").fill_null("").str.split(",").list.eval(pl.element().cast(pl.Int64, strict=False))
    long_gaps = gaps.filter(pl.col("INTDAYS") > rule.max_interruption_days).select(
        "USUBJID",
        pl.col("INTSTDT").alias("DLTSTDT"),
        pl.lit("EX").alias("SRCDOM"),
        seqs.list.drop_nulls().alias("SRCSEQ"),
        pl.concat_str(pl.col("DRUG"), pl.lit(" interrupted")).alias("TERM"),
        pl.lit(None, pl.Float64).alias("GRADE"),
        pl.lit(None, pl.String).alias("GRADEUNIT"),
        pl.col("INTDAYS").cast(pl.Float64).alias("DURATION"),
        pl.lit("consecutive days interrupted").alias("DURUNIT"),
        pl.when(unknown).then(pl.lit(REVIEW_STATUS)).otherwise(pl.lit(MET)).alias("CANDSTAT"),
        pl.when(unknown).then(pl.lit("interruption with no EX record of its reason")).alias("REVIEWRSN"),
    )
    # Fewer than 75% is certain once more days are missed than the evaluability margin allows.
    allowed_missed = ev.planned_doses - ev.min_doses
    observed_days = (
        (pl.min_horizontal("LASTEXDT", "WINENDT") - pl.col("WINSTDT")).dt.total_days() + 1
    ).clip(lower_bound=0)
    short = (
        doses_in_window(ex, interrupted, rules, periods=periods)
        .join(window, on="USUBJID")
        .filter((observed_days - pl.col("DOSES")) > allowed_missed)
        .join(
            gaps.group_by("USUBJID", "DRUG").agg(
                pl.col("INTSTDT").min(), pl.col("INTSEQ").drop_nulls().str.join(","),
                (pl.col("INTRSN") == UNKNOWN).all().alias("ALLUNKNOWN"),
            ),
            on=["USUBJID", "DRUG"],
        )
        .select(
            "USUBJID",
            pl.col("INTSTDT").alias("DLTSTDT"),
            pl.lit("EX").alias("SRCDOM"),
            seqs.list.drop_nulls().alias("SRCSEQ"),
            pl.concat_str(pl.col("DRUG"), pl.lit(" doses below 75%")).alias("TERM"),
            pl.lit(None, pl.Float64).alias("GRADE"),
            pl.lit(None, pl.String).alias("GRADEUNIT"),
            pl.col("DOSES").cast(pl.Float64).alias("DURATION"),
            pl.lit(f"doses taken of {ev.planned_doses}").alias("DURUNIT"),
            pl.when(pl.col("ALLUNKNOWN")).then(pl.lit(REVIEW_STATUS)).otherwise(pl.lit(MET)).alias("CANDSTAT"),
            pl.when(pl.col("ALLUNKNOWN")).then(pl.lit("interruptions with no EX record of their reason"))
            .alias("REVIEWRSN"),
        )
    )
    return pl.concat([long_gaps, short], how="vertical_relaxed")


def dlt_candidates(
    ae: pl.DataFrame | pl.LazyFrame,
    lb_graded: pl.DataFrame | pl.LazyFrame | LabRows,
    ex: pl.DataFrame | pl.LazyFrame,
    dm: pl.DataFrame | pl.LazyFrame,
    rules: DltRules,
    *,
    window: pl.DataFrame | None = None,
    periods: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per candidate DLT (columns CANDIDATE_COLUMNS), sorted by subject, onset, rule.
    `lb_graded`: the graded LB, or the rows `read_lab_rows` found in it; `window` (dlt_window)
    and `periods` (dosing_periods), collected, if already worked out.

    An EX source lists the EXSEQ of the zero-dose records of the interruption (empty when the
    interruption is a gap without records).
    """
    # Every rule reads these: materialised once rather than recomputed in each rule's plan.
    window = (dlt_window(dm, ex, rules).collect(engine=ENGINE) if window is None else window).lazy()
    labs = lb_graded if isinstance(lb_graded, LabRows) else read_lab_rows(lb_graded, rules, hys_law=False)
    lb = labs.relevant
    long = {"grade": graded_long(lb), "uln": uln_long(lb, rules, ["ALT", "AST"])}
    lab_rules = [r for r in rules.rules if r.kind == "lab"]
    # Which series each lab rule follows is found for every rule in the same collect as the frames.
    shared = [_ae_frame(ae, window, rules), long["grade"], long["uln"],
              *(episode_hits(long[r.measure], window, r, rules) for r in lab_rules)]
    aes, graded, liver, *hits = pl.collect_all(shared, engine=ENGINE)
    aes, graded, liver = aes.lazy(), graded.lazy(), liver.lazy()
    hits_of = {r.id: h for r, h in zip(lab_rules, hits, strict=True)}
    parts: list[pl.LazyFrame] = []
    no_episodes: dict[str, pl.LazyFrame] = {}
    for rule in rules.rules:
        if rule.kind == "lab" and hits_of[rule.id].is_empty():
            # No series to follow (the usual case for most rules): the rule adds no rows, only its
            # columns, which are those of every lab rule on the same measure.
            if rule.measure not in no_episodes:
                lab = _lab_rule(graded if rule.measure == "grade" else liver, window, rule, rules, hits_of[rule.id])
                no_episodes[rule.measure] = pl.LazyFrame(schema=_finish(lab, rule, rules).collect_schema())
            parts.append(no_episodes[rule.measure])
            continue
        if rule.kind in ("ae", "grade5"):
            part = _ae_rule(aes, rule, rules)
        elif rule.kind == "lab":
            part = _lab_rule(graded if rule.measure == "grade" else liver, window, rule, rules, hits_of[rule.id])
        elif rule.kind == "lab_bleeding":
            part = _bleeding_rule(aes, graded, window, rule, rules)
        elif rule.kind == "hys_law":
            part = _hys_rule(lb, window, rules)
        else:
            if periods is None:
                periods = dosing_periods(ex, rules).collect(engine=ENGINE)
            part = _interruption_rule(ex, window, rule, rules, periods)
        parts.append(_finish(part, rule, rules))
    frames = pl.collect_all(parts, engine=ENGINE)
    order = {r.id: i for i, r in enumerate(rules.rules)}
    out = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=CANDIDATE_COLUMNS)
    return (
        out.with_columns(pl.col("DLT_RULE").replace_strict(order, return_dtype=pl.Int64).alias("_ORDER"))
        .sort("USUBJID", "DLTSTDT", "_ORDER", "CANDIDATE_ID", nulls_last=True)
        .drop("_ORDER")
    )


__all__ = ["CANDIDATE_COLUMNS", "IN", "dlt_candidates"]
