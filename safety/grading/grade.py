"""CTCAE lab grades per result: `derive_lab_grades` adds ADaM ADLB toxicity columns to an LB frame.

One generic mechanism (admiral `derive_var_atoxgr_dir()`): each criterion row compiles to a polars
expression, applied to the rows of its term only; nothing loops over records. Grades are tried
from 4 down to 1; a grade whose condition cannot be decided (a missing normal range or baseline
it depends on) leaves the result ungraded with the reason, never guessed.
"""

from __future__ import annotations

from functools import reduce

import polars as pl

from safety.dates import derive_dates
from safety.grading.baseline import derive_baseline
from safety.grading.criteria import (
    SIGNIFICANT_DIGITS,
    Comparison,
    Condition,
    Criteria,
    Criterion,
    load_criteria,
)
from safety.grading.units import convert_units, correct_calcium

GRADE_TYPE = pl.Int8

NO_CRITERION = "no criterion"
NOT_GRADEABLE = "not lab-gradeable in CTCAE v5.0"
SPECIMEN = "specimen not graded for this term"
NO_RESULT = "no result"
NO_RANGE = "no normal range"
NO_BASELINE = "no baseline"
NO_BASELINE_RANGE = "baseline normal range missing"
WORST_CASE = "worst case: clinical component not assessed"
CLINICAL = "clinical component not assessed"
CORRECTED = "corrected calcium"

ADDED_COLUMNS = (
    "PARAMCD", "AVAL", "AVALU", "ANRLO", "ANRHI", "BASE", "BNRIND", "ABLFL", "POSTBLFL",
    "ATOXDSCL", "ATOXGRL", "ATOXRSNL", "ATOXDSCH", "ATOXGRH", "ATOXRSNH", "BTOXGRL", "BTOXGRH", "ATOXVER",
)

_OPS = {"<": pl.Expr.lt, "<=": pl.Expr.le, ">": pl.Expr.gt, ">=": pl.Expr.ge}
_REF_COLUMN = {"ULN": "ANRHI", "LLN": "ANRLO", "BL": "BASE"}


def _signif(expr: pl.Expr) -> pl.Expr:
    return expr.round_sig_figs(SIGNIFICANT_DIGITS)


def _comparison(atom: Comparison, baseline_required: bool) -> pl.Expr:
    if atom.ref is None:
        threshold = pl.lit(atom.offset)
    else:
        threshold = _signif(pl.col(_REF_COLUMN[atom.ref]) * atom.factor + atom.offset)
    if atom.ref is not None and atom.factor == 1 and atom.offset == 0:
        threshold = pl.col(f"_{atom.ref}R")  # the reference itself, rounded once per row
    result = _OPS[atom.op](pl.col("_AVALR"), threshold)
    if atom.ref == "BL":
        # Baseline comparisons apply to post-baseline results only (ctcae.md liver rules; v5.0
        # 'x baseline' wording); without a baseline they are false, unless the term is defined
        # only relative to baseline (eosinophilia), where the grade is then undecidable.
        usable = pl.col("_POST") & pl.col("BASE").is_not_null()
        result = pl.when(usable).then(result).otherwise(pl.lit(None if baseline_required else False))
    return result


def _condition(condition: Condition, baseline_required: bool) -> pl.Expr | None:
    if not condition:
        return None
    # `&` and `|` on polars booleans follow Kleene logic: unknown only where it can matter.
    clauses = [reduce(pl.Expr.and_, [_comparison(a, baseline_required) for a in c]) for c in condition]
    return reduce(pl.Expr.or_, clauses)


def _grade_conditions(term: Criterion) -> list[tuple[int, pl.Expr]]:
    normal = [_condition(c, term.baseline_required) for c in term.conditions()]
    if term.has_baseline_rule:
        # v5.0 liver rule: multiples of baseline when baseline was above ULN, post-baseline only.
        alternate = [_condition(c, term.baseline_required) for c in term.conditions(abnormal_baseline=True)]
        use_alt = pl.col("_POST") & (pl.col("BNRIND") == "HIGH")
        normal = [
            None if n is None and a is None
            else pl.when(use_alt.is_null()).then(None).when(use_alt).then(a).otherwise(n)
            for n, a in zip(normal, alternate, strict=True)
        ]
    return [(g, c) for g, c in zip(range(1, 5), normal, strict=True) if c is not None][::-1]


def _grade_expr(term: Criterion) -> pl.Expr:
    chain = None
    for grade, cond in _grade_conditions(term):
        step = (pl.when(cond) if chain is None else chain.when(cond)).then(pl.lit(grade))
        chain = step.when(cond.is_null()).then(pl.lit(None))
    assert chain is not None  # a gradeable term has a condition (validated on load)
    graded = chain.otherwise(pl.lit(0))
    return pl.when(pl.col("AVAL").is_null()).then(None).otherwise(graded).cast(GRADE_TYPE)


def _reason_expr(term: Criterion, grade: pl.Expr) -> pl.Expr:
    refs = term.references()
    missing: list[tuple[pl.Expr, str]] = []
    if term.has_baseline_rule:
        missing.append((pl.col("_POST") & pl.col("BASE").is_not_null() & pl.col("BNRIND").is_null(), NO_BASELINE_RANGE))
    if "ULN" in refs:
        missing.append((pl.col("ANRHI").is_null(), NO_RANGE))
    if "LLN" in refs:
        missing.append((pl.col("ANRLO").is_null(), NO_RANGE))
    if term.baseline_required:
        missing.append((~(pl.col("_POST") & pl.col("BASE").is_not_null()), NO_BASELINE))
    why_null: pl.Expr = pl.when(pl.col("_UNITRSN").is_not_null()).then(pl.col("_UNITRSN"))
    why_null = why_null.when(pl.col("_CARSN").is_not_null()).then(pl.col("_CARSN"))
    why_null = why_null.when(pl.col("AVAL").is_null()).then(pl.lit(NO_RESULT))
    for cond, text in missing:
        why_null = why_null.when(cond).then(pl.lit(text))
    lab_grades = [g for g, c in enumerate(term.conditions(), start=1) if c]
    notes = []
    if term.worst_case_grades:
        notes.append(pl.when(grade.is_in(list(term.worst_case_grades))).then(pl.lit(WORST_CASE)))
    clinical_above = [g for g in term.clinical_only_grades if g > max(lab_grades)]
    if clinical_above and max(lab_grades) not in term.worst_case_grades:
        notes.append(pl.when(grade == max(lab_grades)).then(pl.lit(CLINICAL)))
    if term.correct_codes:
        notes.append(pl.when(pl.col("_CACORR")).then(pl.lit(CORRECTED)))
    note = pl.concat_str(notes, separator="; ", ignore_nulls=True) if notes else pl.lit(None, pl.String)
    return pl.when(grade.is_null()).then(why_null.otherwise(pl.lit(NO_RESULT))).otherwise(
        pl.when(note != "").then(note)
    )


def _grade_term(part: pl.DataFrame, term: Criterion) -> pl.DataFrame:
    listed = list(term.exclude_specimens)
    excluded = (pl.col("_SPEC").is_in(listed) | pl.col("_CAT").is_in(listed)).fill_null(False) if listed else pl.lit(False)
    if not term.lab_gradeable:
        return part.select(
            "_ROW", pl.lit(None, GRADE_TYPE).alias("_GRADE"),
            pl.when(excluded).then(pl.lit(SPECIMEN)).otherwise(pl.lit(NOT_GRADEABLE)).alias("_RSN"),
        )
    # Two steps so that the reason reads the grade instead of re-evaluating every condition.
    graded = part.with_columns(_grade_expr(term).alias("_GRADE0"))
    return graded.select(
        "_ROW",
        pl.when(excluded).then(pl.lit(None, GRADE_TYPE)).otherwise(pl.col("_GRADE0")).alias("_GRADE"),
        pl.when(excluded).then(pl.lit(SPECIMEN)).otherwise(_reason_expr(term, pl.col("_GRADE0"))).alias("_RSN"),
    )


def _grade_direction(work: pl.DataFrame, criteria: Criteria, direction: str) -> dict[str, pl.Series]:
    """Term, grade and reason for every row in one direction (L or H), in row order."""
    height = work.height
    terms = {t.term_id: t for t in criteria.terms if t.direction == direction}
    codes = criteria.code_map().filter(pl.col("direction") == direction).select(
        pl.col("LBTESTCD_UP").alias("_CODE"), "term_id", "term"
    )
    matched = work.join(codes, on="_CODE", how="inner")
    parts = [_grade_term(part, terms[term_id]) for (term_id,), part in matched.partition_by(
        "term_id", as_dict=True, include_key=True).items()]
    graded = pl.concat(parts) if parts else pl.DataFrame(
        schema={"_ROW": pl.UInt32, "_GRADE": GRADE_TYPE, "_RSN": pl.String}
    )
    rows = graded.get_column("_ROW")
    term_rows = matched.get_column("_ROW")
    description = pl.Series(values=[None] * 0, dtype=pl.String).extend_constant(None, height).scatter(
        term_rows, matched.get_column("term")
    )
    grade = pl.Series(dtype=GRADE_TYPE).extend_constant(None, height).scatter(rows, graded.get_column("_GRADE"))
    reason = (
        pl.Series(dtype=pl.String).extend_constant(NO_CRITERION, height).scatter(rows, graded.get_column("_RSN"))
    )
    return {"description": description, "grade": grade, "reason": reason}


def _work_frame(lb: pl.DataFrame) -> pl.DataFrame:
    """The columns grading needs, under internal names, one row per input row (_ROW = position)."""
    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in lb.columns else pl.lit(None, dtype).alias(name)

    return lb.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_ROW"),
        pl.col("USUBJID").cast(pl.String),
        pl.col("LBTESTCD").cast(pl.String).str.strip_chars().str.to_uppercase().alias("_CODE"),
        column("LBSEQ", pl.Float64).alias("_SEQ"),
        column("LBSTRESN", pl.Float64), column("LBSTRESU", pl.String),
        column("LBSTNRLO", pl.Float64), column("LBSTNRHI", pl.Float64),
        column("LBBLFL", pl.String).str.strip_chars().str.to_uppercase().alias("LBBLFL"),
        pl.col("LBDTC").cast(pl.String),
        pl.col("LBDT").alias("_DT"), pl.col("LBDTM").alias("_DTM"),
        # The specimen is LBSPEC, or implied by the category (URINALYSIS) when LBSPEC is absent.
        column("LBSPEC", pl.String).str.to_uppercase().alias("_SPEC"),
        column("LBCAT", pl.String).str.to_uppercase().alias("_CAT"),
    )


def derive_lab_grades(
    lb: pl.DataFrame, dm: pl.DataFrame | None = None, criteria: Criteria | None = None
) -> pl.DataFrame:
    """Grade every LB result per CTCAE; every input row comes out, in the same order.

    Accepts the canonical LB frame or a raw SDTM LB frame (LBDT/LBDTM are derived from LBDTC when
    absent). `dm` gives first dose (RFXSTDTC) for the baseline when LBBLFL is not populated.
    Adds (ADaM ADLB names): PARAMCD (the test code as matched), AVAL/AVALU/ANRLO/ANRHI (value and
    range in the criterion unit; total calcium corrected for albumin), BASE, BNRIND, ABLFL,
    POSTBLFL, ATOXDSCL/ATOXGRL/ATOXRSNL (low direction), ATOXDSCH/ATOXGRH/ATOXRSNH (high),
    BTOXGRL/BTOXGRH (grades of the baseline record) and ATOXVER (criteria version). A grade is
    0-4 (Int8) or null; the reason column says why it is null, or notes how it was reached.
    """
    criteria = criteria or load_criteria()
    if "LBDT" not in lb.columns or "LBDTM" not in lb.columns:
        lb = derive_dates(lb, "LBDTC", "first")
    work = _work_frame(lb)
    work = convert_units(work, criteria)
    work = correct_calcium(work, criteria)
    work = derive_baseline(work, dm)
    work = work.with_columns(
        _signif(pl.col("AVAL")).alias("_AVALR"), _signif(pl.col("ANRHI")).alias("_ULNR"),
        _signif(pl.col("ANRLO")).alias("_LLNR"), _signif(pl.col("BASE")).alias("_BLR"),
    )
    low = _grade_direction(work, criteria, "L")
    high = _grade_direction(work, criteria, "H")
    base_row = work.get_column("_BASEROW")
    return lb.with_columns(
        work.get_column("_CODE").alias("PARAMCD"),
        work.get_column("AVAL"),
        work.get_column("AVALU"),
        work.get_column("ANRLO"),
        work.get_column("ANRHI"),
        work.get_column("BASE"),
        work.get_column("BNRIND"),
        work.get_column("ABLFL"),
        work.get_column("_POST").replace_strict({True: "Y"}, default=None, return_dtype=pl.String).alias("POSTBLFL"),
        low["description"].alias("ATOXDSCL"),
        low["grade"].alias("ATOXGRL"),
        low["reason"].alias("ATOXRSNL"),
        high["description"].alias("ATOXDSCH"),
        high["grade"].alias("ATOXGRH"),
        high["reason"].alias("ATOXRSNH"),
        low["grade"].gather(base_row).alias("BTOXGRL"),
        high["grade"].gather(base_row).alias("BTOXGRH"),
        pl.lit(criteria.version).alias("ATOXVER"),
    )

