"""The rows of a graded LB that the DLT lab rules and Hy's law read, found in one read of the table.

A graded LB has millions of rows and the rules read few of them. One read (one `pl.collect_all`)
finds the results at a grade or multiple-of-ULN threshold (a numeric test), the results with a
baseline flag, and, over every other ALT, AST and bilirubin result, each subject's peak for eDISH
(a group-by that never materialises the results). A second read, only when the first found a
subject whose results a rule needs, keeps that subject's results. Everything after works on
these few rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from safety.dlt.labs import codes_of, lab_frame
from safety.dlt.rules import DltRules
from safety.dlt.window import ENGINE

EDISH_TESTS = ["ALT", "AST", "BILI"]
LIVER_TESTS = ["ALT", "AST", "BILI", "ALP"]
_MARGIN = 1e-6
# The distinct LBTESTCD spellings of the table's first rows: the tests that are certainly not
# ALT, AST or bilirubin are left out of the eDISH read by name. A spelling first seen further
# down is read as a possible liver test and dropped afterwards (a cost, never a difference).
_SAMPLE_ROWS = 50_000


@dataclass(frozen=True)
class LabRows:
    """What `read_lab_rows` found. `relevant`: every result of a subject's test that reaches the
    lowest grade threshold somewhere, and every liver result of a subject with a liver value at
    the lowest multiple of ULN (the rows any lab rule can use). `case_rows`: every result of the
    subjects with a liver value near both Hy's law thresholds (every case is among them).
    `liver`: per LBTESTCD spelling and subject, over the results without a baseline flag, the
    PEAK multiple of ULN, SEQ (its LBSEQ, the later on a tie) and FIRSTDT; `flagged`: the
    results with a baseline flag (few). Both None unless asked for. `source`: the table narrowed
    (lab_frame), for the rare subject whose peaks need all of its rows."""

    relevant: pl.LazyFrame
    case_rows: pl.DataFrame
    liver: pl.DataFrame | None
    flagged: pl.DataFrame | None
    source: pl.LazyFrame


def read_lab_rows(lb: pl.DataFrame | pl.LazyFrame, rules: DltRules, *, hys_law: bool = True) -> LabRows:
    """The rows of `lb` the DLT lab rules read; with `hys_law`, also those Hy's law and eDISH read."""
    narrow = lab_frame(lb)
    schema = narrow.collect_schema()
    p = rules.hys_law
    grade_rules = [r.threshold for r in rules.rules if r.kind == "lab_bleeding" or (r.kind == "lab" and r.measure == "grade")]
    uln_rules = [r.threshold for r in rules.rules if r.kind == "lab" and r.measure == "uln"]
    lowest_uln = min([*uln_rules, p.aminotransferase_uln, p.bilirubin_uln])
    flagged = pl.lit(False)
    for grade in ("ATOXGRL", "ATOXGRH"):
        if grade in schema and grade_rules:
            # integer grades compared as they are: a cast of millions of grades costs more than the test
            value = pl.col(grade) if schema[grade].is_integer() else pl.col(grade).cast(pl.Float64, strict=False)
            flagged = flagged | (value >= min(grade_rules))
    ratio = pl.col("LBSTRESN") / pl.col("LBSTNRHI")
    # The rules compare the ratio rounded to 6 places (uln_results): the margin keeps a result a
    # hair below a threshold, which rounds up to it.
    plans = [
        narrow.filter(flagged | (ratio >= lowest_uln - _MARGIN))
        .select("USUBJID", "LBTESTCD", flagged.fill_null(False).alias("FLAGGED"), ratio.alias("RATIO"))
    ]
    blfl = next((c for c in ("ABLFL", "LBBLFL") if c in schema), None)
    if hys_law:
        sample = narrow.select(pl.col("LBTESTCD").head(_SAMPLE_ROWS).unique()).collect(engine=ENGINE).to_series()
        flagged_rows = narrow.filter(pl.col(blfl).is_not_null()) if blfl else narrow.clear()
        plans += [
            flagged_rows.select("USUBJID", "LBSEQ", "LBTESTCD", "LBDT", "LBSTRESN", "LBSTNRHI", *([blfl] if blfl else [])),
            _liver_summary(narrow, blfl, sample, rules),
        ]
    # The default engine: these plans read the whole table.
    hits, *hys_frames = pl.collect_all(plans)

    names = codes_of(hits.get_column("LBTESTCD").unique(), rules, LIVER_TESTS)
    hits = hits.with_columns(pl.col("LBTESTCD").cast(pl.String).replace_strict(names, default=None).alias("TEST"))
    graded_keys = hits.filter("FLAGGED").select("USUBJID", "LBTESTCD").unique()
    graded_subjects = graded_keys.get_column("USUBJID")

    def reaching(tests: list[str], threshold: float) -> pl.Series:
        return hits.filter(pl.col("TEST").is_in(tests) & (pl.col("RATIO") >= threshold - _MARGIN)).get_column("USUBJID")

    # Every liver result of a subject with a liver value at the lowest multiple of ULN is relevant;
    # they change a candidate only for a subject with an ALT/AST at a ULN rule's threshold, with
    # both halves of a Hy's law case, or with a graded series they could join (a test spelled two
    # ways). The other subjects' liver results stay unread: below every threshold they meet no rule.
    liver = hits.filter(pl.col("TEST").is_not_null() & (pl.col("RATIO") >= lowest_uln)).get_column("USUBJID")
    uln = reaching(["ALT", "AST"], min(uln_rules)) if uln_rules else pl.Series(dtype=hits.schema["USUBJID"])
    cases = reaching(["ALT", "AST"], p.aminotransferase_uln)
    cases = cases.filter(cases.is_in(reaching(["BILI"], p.bilirubin_uln).implode()))
    liver = liver.filter(liver.is_in(pl.concat([graded_subjects, uln, cases]).implode())).unique()
    subjects = pl.concat([graded_subjects, liver, cases]).unique()

    rows = narrow.filter(pl.col("USUBJID").is_in(subjects.implode())).collect() if subjects.len() else pl.DataFrame(schema=schema)
    is_liver = pl.col("LBTESTCD").cast(pl.String).str.strip_chars().str.to_uppercase().is_in(rules.synonyms(*LIVER_TESTS))
    relevant = (
        pl.concat([
            rows.join(graded_keys, on=["USUBJID", "LBTESTCD"], how="semi"),
            rows.filter(pl.col("USUBJID").is_in(liver.implode()) & is_liver),
        ])
        .unique(subset=["USUBJID", "LBSEQ"], keep="first")
        .lazy()
    )
    case_rows = rows.filter(pl.col("USUBJID").is_in(cases.implode()))
    flagged_rows, summary = hys_frames if hys_law else (None, None)
    return LabRows(relevant, case_rows, summary, flagged_rows, narrow)


def _liver_summary(narrow: pl.LazyFrame, blfl: str | None, sample: pl.Series, rules: DltRules) -> pl.LazyFrame:
    """The plan of `LabRows.liver`: the results hys_law reads (uln_results, dated) without a
    baseline flag, those of the sample's other tests left out by name."""
    names = codes_of(sample, rules, EDISH_TESTS)
    others = [s for s in sample.to_list() if s not in names and s is not None]
    unflagged = pl.col(blfl).is_null() if blfl else pl.lit(True)
    grade = (pl.col("LBSTRESN") / pl.col("LBSTNRHI")).round(6)
    return (
        narrow.filter(unflagged & ~pl.col("LBTESTCD").is_in(others) & (pl.col("LBSTNRHI") > 0) & pl.col("LBDT").is_not_null())
        .select("USUBJID", "LBSEQ", "LBTESTCD", "LBDT", grade.alias("GRADE"))
        .filter(pl.col("GRADE").is_not_null())
        .group_by("LBTESTCD", "USUBJID")
        .agg(
            pl.col("GRADE").max().alias("PEAK"),
            pl.col("LBSEQ").sort_by("GRADE", "LBSEQ").last().alias("SEQ"),
            pl.col("LBDT").min().alias("FIRSTDT"),
        )
    )
