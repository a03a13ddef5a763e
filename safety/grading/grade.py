"""CTCAE lab grades per result: `derive_lab_grades` adds ADaM ADLB toxicity columns to an LB frame.

One generic mechanism (admiral `derive_var_atoxgr_dir()`): each criterion row compiles to polars
expressions (`rules`), applied to the rows of its test only; nothing loops over records. The work
runs on a narrow frame of numbers and integer ids (`frame`): the rows are split by test once, each
test's rows graded in both directions into one outcome byte per direction, and the bytes put back
in row order; the text columns are read from them by table lookup at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from safety.grading.baseline import BNRIND_ENUM, BNRIND_VALUES, derive_baseline
from safety.grading.criteria import Criteria, Criterion, load_criteria
from safety.grading.frame import Keys, collect, exclusion_sets, lookup, work_frame
from safety.grading.outcome import (
    CLINICAL,
    CORRECTED,
    GRADE_TYPE,
    NO_ALBUMIN,
    NO_BASELINE,
    NO_BASELINE_RANGE,
    NO_CRITERION,
    NO_RANGE,
    NO_RESULT,
    NOT_GRADEABLE,
    OUTCOME_TYPE,
    SPECIMEN,
    UNKNOWN_UNIT,
    WORST_CASE,
    outcome_grades,
    outcome_of,
    outcome_reasons,
    with_note,
)
from safety.grading.rules import PAIR_TYPE, test_exprs
from safety.grading.units import convert_units, correct_calcium

ADDED_COLUMNS = (
    "PARAMCD", "AVAL", "AVALU", "ANRLO", "ANRHI", "BASE", "BNRIND", "ABLFL", "POSTBLFL",
    "ATOXDSCL", "ATOXGRL", "ATOXRSNL", "ATOXDSCH", "ATOXGRH", "ATOXRSNH", "BTOXGRL", "BTOXGRH", "ATOXVER",
)
DIRECTIONS = ("L", "H")
# Columns from a closed vocabulary are Enums (a byte a row, not sixteen): AVALU, BNRIND, ABLFL,
# POSTBLFL, ATOXDSCL/H (criteria.term_enum) and ATOXRSNL/H (REASON_ENUM). They compare with text
# as text does; joining them with text needs a cast to the same Enum.
FLAG_ENUM = pl.Enum(["Y"])
_GRADING_COLUMNS = ["_CODE", "AVAL", "ANRLO", "ANRHI", "BASE", "_POST", "_BNRIND"]


def _terms_by_test(criteria: Criteria, codes: pl.Series) -> dict[int, dict[str, Criterion]]:
    """code id -> {direction: criterion} for the tests present that have a criterion."""
    position = {code: i for i, code in enumerate(codes.to_list())}
    found: dict[int, dict[str, Criterion]] = {}
    for term in criteria.terms:
        for code in term.lbtestcd:
            if code in position:
                found.setdefault(position[code], {})[term.direction] = term
    return found


def _per_test(codes: pl.Series, terms: dict[int, dict[str, Criterion]], direction: str,
              value: Callable[[Criterion], bool]) -> pl.Series:
    """`value(term)` for each code id's term in `direction` (False where there is no term)."""
    return pl.Series([direction in terms.get(i, {}) and value(terms[i][direction]) for i in range(codes.len())],
                     dtype=pl.Boolean)


def _grade_rows(work: pl.DataFrame, terms: dict[int, dict[str, Criterion]], exact: bool) -> pl.DataFrame:
    """_ROW, _PAIR (both outcome bytes) and _NEAR for the rows of `work` whose test has a criterion;
    each test's rows are graded by its own expressions only."""
    parts = []
    for (code,), part in work.partition_by("_CODE", as_dict=True, include_key=False).items():
        if code in terms:
            grades, pair, near = test_exprs(terms[code].get("L"), terms[code].get("H"), exact)
            parts.append(part.lazy().with_columns(grades).select("_ROW", pair, near))
    if not parts:
        return pl.DataFrame(schema={"_ROW": pl.UInt32, "_PAIR": PAIR_TYPE, "_NEAR": pl.Boolean})
    return collect(pl.concat(parts, parallel=True))


def _outcomes(work: pl.DataFrame, terms: dict[int, dict[str, Criterion]]) -> pl.Series:
    """Both outcome bytes (L + 256 x H) of every row of `work`, in row order."""
    narrow = work.select(_GRADING_COLUMNS).with_row_index("_ROW")
    graded = [_grade_rows(narrow, terms, exact=False)]
    near = graded[0].filter("_NEAR").get_column("_ROW")
    if near.len():
        # Rows with a value within rounding distance of a threshold: graded again, rounded (see `rules`).
        graded.append(_grade_rows(narrow[near], terms, exact=True))
    none = outcome_of(None, NO_CRITERION)
    pairs = pl.repeat(none + 256 * none, work.height, dtype=PAIR_TYPE, eager=True)
    for frame in graded:
        pairs = pairs.scatter(frame.get_column("_ROW"), frame.get_column("_PAIR"))
    return pairs


def _excluded(criteria: Criteria, keys: Keys, terms: dict[int, dict[str, Criterion]], direction: str,
              columns: list[str]) -> pl.Expr:
    """True where the row's specimen is one the direction's term does not grade (_EXCL{i} columns)."""
    excluded = pl.lit(False)
    for i, listed in enumerate(exclusion_sets(criteria)):
        if f"_EXCL{i}" in columns:
            uses = _per_test(keys.codes, terms, direction, lambda t, listed=listed: t.exclude_specimens == listed)
            excluded = excluded | (pl.col(f"_EXCL{i}") & lookup(uses, pl.col("_CODE")))
    return excluded.fill_null(False)


def _at_rows(values: pl.Series, code: pl.Series, rows: pl.Series, change: pl.Expr) -> pl.Series:
    """`values` with `change`, an expression of the value (`v`) and _CODE, applied at `rows` only."""
    if rows.len() == 0:
        return values
    frame = pl.DataFrame({"v": values.gather(rows), "_CODE": code.gather(rows)})
    return values.scatter(rows, frame.select(change.cast(OUTCOME_TYPE)).to_series())


def _grade(work: pl.DataFrame, criteria: Criteria, keys: Keys, corrected: pl.Series,
           no_albumin: pl.Series) -> dict[str, pl.Series]:
    """_OUTCOME{D}: the outcome byte of each direction for every row of `work`, in row order.

    Decided per row after grading, on the bytes: a missing value's own reason (unknown unit, no
    albumin for calcium), the specimen the term does not grade, and the calcium correction note.
    """
    terms = _terms_by_test(criteria, keys.codes)
    no_result = outcome_of(None, NO_RESULT)
    frame = work.select("_CODE", "_UNITRSN", pl.col("^_EXCL.*$")).with_columns(_outcomes(work, terms).alias("_PAIR"))
    settled = []
    for d, byte in zip(DIRECTIONS, (pl.col("_PAIR") % 256, pl.col("_PAIR") // 256), strict=True):
        unit = pl.when((byte == no_result) & pl.col("_UNITRSN")).then(outcome_of(None, UNKNOWN_UNIT)).otherwise(byte)
        excluded = _excluded(criteria, keys, terms, d, frame.columns)
        settled.append(pl.when(excluded).then(outcome_of(None, SPECIMEN)).otherwise(unit).cast(OUTCOME_TYPE)
                       .alias(f"_OUTCOME{d}"))
    out = collect(frame.lazy().select(settled)).to_dict()
    code, v = work.get_column("_CODE"), pl.col("v")
    for d in DIRECTIONS:
        out[f"_OUTCOME{d}"] = _at_rows(out[f"_OUTCOME{d}"], code, no_albumin,
                                       pl.when(v == no_result).then(outcome_of(None, NO_ALBUMIN)).otherwise(v))
        noted = _per_test(keys.codes, terms, d, lambda t: bool(t.correct_codes))
        out[f"_OUTCOME{d}"] = _at_rows(out[f"_OUTCOME{d}"], code, corrected, pl.when(lookup(noted, pl.col("_CODE")))
                                       .then(lookup(with_note(CORRECTED), v)).otherwise(v))
    return out


def _description(criteria: Criteria, codes: pl.Series, direction: str) -> pl.Series:
    """Term name per code id (criteria.term_enum; null: no criterion in that direction)."""
    name = {c: t.term for t in criteria.terms if t.direction == direction for c in t.lbtestcd}
    return pl.Series([name.get(c) for c in codes.to_list()], dtype=criteria.term_enum)


def _added_columns(work: pl.DataFrame, lb: pl.DataFrame, criteria: Criteria, keys: Keys,
                   units: pl.Series) -> list[pl.Series | pl.Expr]:
    """The columns `derive_lab_grades` adds (or, for LBDTC, LBDT, LBDTF and LBDTM, replaces), in order."""
    grades, reasons = outcome_grades(), outcome_reasons()
    yes = pl.Series(["Y", None], dtype=FLAG_ENUM)  # by position: True -> 'Y', False -> null
    units = units.cast(criteria.unit_enum)
    code = pl.col("_CODE")
    imputed = None if keys.dates is None else keys.dates.get_column("LBDTF")
    if imputed is not None and imputed.null_count() == imputed.len():
        imputed = None
    new = collect(work.lazy().select(
        lookup(units, pl.col("_CELL")).alias("AVALU"),
        *(lookup(yes, (~pl.col(flag)).cast(pl.UInt8)).alias(name) for flag, name in (("ABLFL", "ABLFL"),
                                                                                       ("_POST", "POSTBLFL"))),
        lookup(pl.Series(BNRIND_VALUES, dtype=BNRIND_ENUM), pl.col("_BNRIND")).alias("BNRIND"),
        *(column for d in DIRECTIONS for column in (
            lookup(_description(criteria, keys.codes, d), code).alias(f"ATOXDSC{d}"),
            lookup(grades, pl.col(f"_OUTCOME{d}")).alias(f"ATOXGR{d}"),
            lookup(reasons, pl.col(f"_OUTCOME{d}")).alias(f"ATOXRSN{d}"),
            lookup(grades, pl.col(f"_OUTCOME{d}").gather(pl.col("_BASEROW"))).alias(f"BTOXGR{d}"),
        )),
        *([] if keys.paramcd is None else [lookup(keys.paramcd, code).alias("PARAMCD")]),
        *([lookup(imputed, pl.col("_DATE")).alias("LBDTF")] if imputed is not None else []),
    ))
    dates = []
    if keys.dates is not None:
        # No date imputed (the rule): LBDTF is one null, not a column of them.
        flag = pl.lit(None, pl.String).alias("LBDTF") if imputed is None else new.get_column("LBDTF")
        dates = [lb.get_column("LBDTC").cast(pl.String), work.get_column("_DT").alias("LBDT"), flag,
                 work.get_column("_DTM").alias("LBDTM")]
    paramcd = lb.get_column("LBTESTCD").cast(pl.String) if keys.paramcd is None else new.get_column("PARAMCD")
    return [
        *dates,
        paramcd.alias("PARAMCD"),
        work.get_column("AVAL"),
        new.get_column("AVALU"),
        work.get_column("ANRLO"),
        work.get_column("ANRHI"),
        work.get_column("BASE"),
        *(new.get_column(c) for c in ("BNRIND", "ABLFL", "POSTBLFL", "ATOXDSCL", "ATOXGRL", "ATOXRSNL",
                                      "ATOXDSCH", "ATOXGRH", "ATOXRSNH", "BTOXGRL", "BTOXGRH")),
        pl.lit(criteria.version).alias("ATOXVER"),
    ]


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
    AVALU, BNRIND, ABLFL, POSTBLFL, ATOXDSC* and ATOXRSN* are Enums (see FLAG_ENUM).
    """
    criteria = criteria or load_criteria()
    work, keys = work_frame(lb, criteria)
    work, units = convert_units(work, lb, criteria, keys)
    work, corrected, no_albumin = correct_calcium(work, lb, criteria, keys, units)
    work = derive_baseline(work, lb, dm, keys)
    outcomes = _grade(work, criteria, keys, corrected, no_albumin)
    return lb.with_columns(*_added_columns(work.with_columns(*outcomes.values()), lb, criteria, keys, units))


__all__ = [
    "ADDED_COLUMNS", "CLINICAL", "CORRECTED", "GRADE_TYPE", "NO_BASELINE", "NO_BASELINE_RANGE", "NO_CRITERION",
    "NO_RANGE", "NO_RESULT", "NOT_GRADEABLE", "SPECIMEN", "WORST_CASE", "derive_lab_grades",
]
