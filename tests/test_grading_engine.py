"""The grading engine's own invariants: row order, column types whatever the data, and the paths it
takes for speed (rounding only near a threshold, baselines by table or by join) give the same grades."""

from __future__ import annotations

import polars as pl
import pytest

import safety.grading.baseline as baseline
import safety.grading.rules as rules
from safety.grading import derive_lab_grades, load_criteria

CRITERIA = load_criteria()
SCHEMA = {"USUBJID": pl.String, "LBSEQ": pl.Int64, "LBTESTCD": pl.String, "LBSPEC": pl.String,
          "LBSTRESN": pl.Float64, "LBSTRESU": pl.String, "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64,
          "LBDTC": pl.String, "LBBLFL": pl.String}
ROWS = [
    ("S1", 1, "ALT", None, 60, "U/L", 5, 40, "2024-01-01", "Y"),
    ("S1", 2, "ALT", None, 180.0000001, "U/L", 5, 40, "2024-02-01", None),  # 3 x baseline, to 8 digits
    ("S1", 3, " alt", None, 120.01, "U/L", 5, 40, "2024-03-01T10:00", None),
    ("S1", 4, "HGB", "BLOOD", 9.9, "g/dL", 12, 16, "2024-02-01", None),
    ("S1", 5, "HGB", "URINE", 9.9, "g/dL", 12, 16, "2024-02-01", None),
    ("S2", 6, "CA", None, 2.0, "mmol/L", 2.1, 2.6, "2024-01-05T08:00", None),
    ("S2", 7, "ALB", None, 30, "g/L", 35, 50, "2024-01-05T08:00", None),
    ("S2", 8, "K", None, 3.2, "mEq/L", 3.5, 5.0, "2024-01", None),
    ("S2", 9, "NEUT", None, 0.4, "mg/L", 2, 7, "2024-01-06", None),
    ("S3", 10, "XYZ", None, 1.0, None, None, None, None, None),
    (None, 11, "ALT", None, 100, "U/L", 5, 40, "2024-01-01", "Y"),
]


def lb() -> pl.DataFrame:
    return pl.DataFrame(ROWS, schema=SCHEMA, orient="row")


def test_same_rows_whatever_the_input_order():
    graded = derive_lab_grades(lb(), None, CRITERIA)
    shuffled = lb().with_row_index("_i").sample(fraction=1.0, shuffle=True, seed=7)
    regraded = derive_lab_grades(shuffled.drop("_i"), None, CRITERIA).with_columns(shuffled.get_column("_i"))
    assert regraded.sort("_i").drop("_i").equals(graded)


def test_column_types_do_not_depend_on_the_data():
    expected = derive_lab_grades(lb(), None, CRITERIA).schema
    no_baseline = derive_lab_grades(lb().with_columns(pl.lit(None, pl.String).alias("LBBLFL")), None, CRITERIA)
    empty = derive_lab_grades(lb().head(0), None, CRITERIA)
    unknown_tests = derive_lab_grades(lb().with_columns(pl.lit("XYZ").alias("LBTESTCD")), None, CRITERIA)
    for frame in (no_baseline, empty, unknown_tests):
        assert frame.schema == expected


def test_rounding_decides_only_near_a_threshold(monkeypatch):
    graded = derive_lab_grades(lb(), None, CRITERIA)
    # 180.0000001 rounds to 180 = 3 x baseline 60: grade 1, not 2 (abnormal-baseline liver rule)
    assert graded.row(1, named=True)["ATOXGRH"] == 1
    # Rounding every row gives the same grades as rounding only the rows near a threshold.
    monkeypatch.setattr(rules, "NEAR_THRESHOLD", float("inf"))
    rules.test_exprs.cache_clear()
    assert derive_lab_grades(lb(), None, CRITERIA).equals(graded)
    rules.test_exprs.cache_clear()


@pytest.mark.parametrize("dm", [None, pl.DataFrame({"USUBJID": ["S1", "S2"], "RFXSTDTC": ["2024-01-20", None]})])
def test_baseline_by_table_or_by_join_is_the_same(monkeypatch, dm):
    by_table = derive_lab_grades(lb(), dm, CRITERIA)
    real = baseline._per_row
    monkeypatch.setattr(baseline, "_per_row", lambda work, chosen, n: real(work, chosen, 2**40))
    assert derive_lab_grades(lb(), dm, CRITERIA).equals(by_table)


def test_reasons_settled_per_row():
    graded = derive_lab_grades(lb(), None, CRITERIA)
    reasons = graded.select("LBSEQ", "ATOXGRL", "ATOXRSNL").rows()
    assert reasons[3] == (4, 2, None)  # 9.9 g/dL = 99 g/L < 100: anemia grade 2
    assert reasons[4] == (5, None, "specimen not graded for this term")
    assert reasons[5] == (6, 0, "corrected calcium")  # 2.0 + 0.02 x (40 - 30) = 2.2
    assert reasons[7] == (8, 2, "worst case: clinical component not assessed")
    assert reasons[8] == (9, None, "unknown unit")
    assert reasons[9] == (10, None, "no criterion")
    # a missing subject has no baseline: the ALT result is graded against ULN only
    assert graded.row(10, named=True)["ABLFL"] is None and graded.row(10, named=True)["ATOXGRH"] == 1
