"""One criterion row compiled to polars expressions: grade, reason and 'near a threshold'.

Generic: each comparison of the criteria language becomes `value op threshold`, a grade cell an
OR of ANDs (Kleene logic: unknown only where it can matter), grades tried from 4 down to 1 (admiral
`derive_var_atoxgr_dir()`). A grade whose condition cannot be decided (a missing normal range or
baseline it depends on) leaves the result ungraded with the reason, never guessed.

Rounding. admiral compares after signif(x, 8) so that 3 x 40 = 120.00000001 does not flip a grade
(ctcae.md). Rounding every value and threshold of ten million rows would be most of the cost of
grading, and it can only decide a comparison whose two sides are very close: rounding to 8
significant digits is monotone and moves a number by at most 0.5e-7 of itself, so if a and t are
more than NEAR_THRESHOLD x |t| apart, signif(a) and signif(t) (or signif(a) and a constant t) are
in the same order as a and t. The comparisons are therefore made on the unrounded numbers
(`exact=False`), with a flag `near` on rows where some comparison is closer than that; those few
rows are graded again with every value and threshold rounded (`exact=True`), which is the
definition.
"""

from __future__ import annotations

from functools import lru_cache, reduce

import polars as pl

from safety.grading.baseline import HIGH
from safety.grading.criteria import SIGNIFICANT_DIGITS, Comparison, Condition, Criterion
from safety.grading.outcome import (
    CLINICAL,
    FIRST_NOTE,
    GRADE_TYPE,
    NO_BASELINE,
    NO_BASELINE_RANGE,
    NO_CRITERION,
    NO_RANGE,
    NO_RESULT,
    NOT_GRADEABLE,
    NOTES,
    OUTCOME_TYPE,
    WORST_CASE,
    outcome,
    outcome_of,
    reason_code,
)

# Relative distance below which rounding to 8 significant digits might decide a comparison
# (at most 0.5e-7 on each side); a wide margin costs nothing but a few more exact rows.
NEAR_THRESHOLD = 4e-7

_OPS = {"<": pl.Expr.lt, "<=": pl.Expr.le, ">": pl.Expr.gt, ">=": pl.Expr.ge}
_REF_COLUMN = {"ULN": "ANRHI", "LLN": "ANRLO", "BL": "BASE"}


def _signif(expr: pl.Expr) -> pl.Expr:
    return expr.round_sig_figs(SIGNIFICANT_DIGITS)


def _threshold(atom: Comparison, exact: bool) -> pl.Expr:
    if atom.ref is None:
        return pl.lit(atom.offset)
    reference = pl.col(_REF_COLUMN[atom.ref])
    threshold = reference if atom.factor == 1 and atom.offset == 0 else reference * atom.factor + atom.offset
    return _signif(threshold) if exact else threshold


def _comparison(atom: Comparison, baseline_required: bool, exact: bool) -> pl.Expr:
    value = _signif(pl.col("AVAL")) if exact else pl.col("AVAL")
    result = _OPS[atom.op](value, _threshold(atom, exact))
    if atom.ref == "BL":
        # Baseline comparisons apply to post-baseline results only (ctcae.md liver rules; v5.0
        # 'x baseline' wording); without a baseline they are false, unless the term is defined
        # only relative to baseline (eosinophilia), where the grade is then undecidable.
        usable = pl.col("_POST") & pl.col("BASE").is_not_null()
        result = pl.when(usable).then(result).otherwise(pl.lit(None if baseline_required else False))
    return result


def _condition(condition: Condition, baseline_required: bool, exact: bool) -> pl.Expr | None:
    if not condition:
        return None
    clauses = [reduce(pl.Expr.and_, [_comparison(a, baseline_required, exact) for a in c]) for c in condition]
    return reduce(pl.Expr.or_, clauses)


def _grade_conditions(term: Criterion, exact: bool) -> list[tuple[int, pl.Expr]]:
    normal = [_condition(c, term.baseline_required, exact) for c in term.conditions()]
    if term.has_baseline_rule:
        # v5.0 liver rule: multiples of baseline when baseline was above ULN, post-baseline only.
        alternate = [_condition(c, term.baseline_required, exact) for c in term.conditions(abnormal_baseline=True)]
        # no baseline at all: the ULN criteria (there is no abnormal baseline to measure from)
        use_alt = pl.col("_POST") & pl.col("BASE").is_not_null() & (pl.col("_BNRIND") == HIGH)
        normal = [
            None if n is None and a is None
            else pl.when(use_alt.is_null()).then(None).when(use_alt).then(a).otherwise(n)
            for n, a in zip(normal, alternate, strict=True)
        ]
    return [(g, c) for g, c in zip(range(1, 5), normal, strict=True) if c is not None][::-1]


def grade_expr(term: Criterion, exact: bool) -> pl.Expr:
    """The term's grade (Int8, null: undecidable or no result), ignoring the specimen."""
    chain = None
    for grade, cond in _grade_conditions(term, exact):
        step = (pl.when(cond) if chain is None else chain.when(cond)).then(pl.lit(grade))
        chain = step.when(cond.is_null()).then(pl.lit(None))
    assert chain is not None  # a gradeable term has a condition (validated on load)
    graded = chain.otherwise(pl.lit(0))
    return pl.when(pl.col("AVAL").is_null()).then(None).otherwise(graded).cast(GRADE_TYPE)


def near_expr(term: Criterion) -> pl.Expr:
    """True where some comparison of the term is close enough to its threshold for rounding to matter."""
    atoms = {a for cond in term.conditions() + term.conditions(abnormal_baseline=True) for c in cond for a in c}
    near = []
    for atom in atoms:
        threshold = _threshold(atom, exact=False)
        near.append(((pl.col("AVAL") - threshold).abs() <= threshold.abs() * NEAR_THRESHOLD).fill_null(False))
    return reduce(pl.Expr.or_, near, pl.lit(False))


def term_outcome(term: Criterion | None, grade: pl.Expr) -> pl.Expr:
    """The outcome of one direction for rows of one test, given the term's grade (`grade_expr`).

    Three things are settled per row after the split by test, on the outcome bytes (`grade`): the
    specimen the term does not grade, the reason a value is missing (unknown unit, no albumin;
    here a missing value says 'no result') and the calcium correction note.
    """
    if term is None:
        return pl.lit(outcome_of(None, NO_CRITERION), OUTCOME_TYPE)
    if not term.lab_gradeable:
        return pl.lit(outcome_of(None, NOT_GRADEABLE), OUTCOME_TYPE)
    refs = term.references()
    missing: list[tuple[pl.Expr, str]] = [(pl.col("AVAL").is_null(), NO_RESULT)]
    if term.has_baseline_rule:
        missing.append((pl.col("_POST") & pl.col("BASE").is_not_null() & pl.col("_BNRIND").is_null(),
                        NO_BASELINE_RANGE))
    if "ULN" in refs:
        missing.append((pl.col("ANRHI").is_null(), NO_RANGE))
    if "LLN" in refs:
        missing.append((pl.col("ANRLO").is_null(), NO_RANGE))
    if term.baseline_required:
        missing.append((~(pl.col("_POST") & pl.col("BASE").is_not_null()), NO_BASELINE))
    why_null: pl.Expr = pl.when(missing[0][0]).then(reason_code(missing[0][1]))
    for cond, text in missing[1:]:
        why_null = why_null.when(cond).then(reason_code(text))
    why_null = why_null.otherwise(reason_code(NO_RESULT))

    lab_grades = [g for g, c in enumerate(term.conditions(), start=1) if c]
    notes: list[tuple[int, pl.Expr]] = []
    if term.worst_case_grades:
        notes.append((NOTES.index(WORST_CASE), grade.is_in(list(term.worst_case_grades))))
    clinical_above = [g for g in term.clinical_only_grades if g > max(lab_grades)]
    if clinical_above and max(lab_grades) not in term.worst_case_grades:
        notes.append((NOTES.index(CLINICAL), grade == max(lab_grades)))
    mask = reduce(pl.Expr.add, [pl.when(flag).then(2 ** bit).otherwise(0) for bit, flag in notes], pl.lit(0))
    note = pl.when(mask > 0).then(mask + (FIRST_NOTE - 1))
    return outcome(grade, pl.when(grade.is_null()).then(why_null).otherwise(note))


# Both directions' outcome bytes travel as one integer: low + 256 x high.
PAIR_TYPE = pl.UInt16


@lru_cache(maxsize=4096)
def test_exprs(low: Criterion | None, high: Criterion | None, exact: bool) -> tuple[list[pl.Expr], pl.Expr, pl.Expr]:
    """For the rows of one test, whose criteria are `low` and `high` (None: none in that direction):
    (grades, pair, near). `grades` adds _GRADEL/_GRADEH (the terms' grades, in a first step so that
    the reasons read them instead of re-evaluating every condition); `pair` is both outcome bytes,
    low + 256 x high (PAIR_TYPE); `near` flags rows to grade again with `exact=True` (always false
    when `exact`)."""
    grades, near, outcomes = [], [], []
    for direction, term in (("L", low), ("H", high)):
        grade = pl.col(f"_GRADE{direction}")
        if term is not None and term.lab_gradeable:
            grades.append(grade_expr(term, exact).alias(f"_GRADE{direction}"))
            near.append(near_expr(term))
        outcomes.append(term_outcome(term, grade).cast(PAIR_TYPE))
    pair = (outcomes[0] + 256 * outcomes[1]).alias("_PAIR")
    close = (pl.lit(False) if exact or not near else pl.any_horizontal(near)).alias("_NEAR")
    return grades, pair, close
