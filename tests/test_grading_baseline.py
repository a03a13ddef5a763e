"""Baseline selection and the baseline-relative CTCAE v5.0 rules (liver, creatinine, fibrinogen, eosinophilia)."""

from __future__ import annotations

import polars as pl
import pytest

from safety.grading import derive_lab_grades, load_criteria
from safety.grading.summary import shift_table, worst_grades

CRITERIA = load_criteria()
SCHEMA = {"USUBJID": pl.String, "LBSEQ": pl.Int64, "LBTESTCD": pl.String, "LBSTRESN": pl.Float64,
          "LBSTRESU": pl.String, "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64, "LBDTC": pl.String,
          "LBBLFL": pl.String}


def baseline_then(code: str, unit: str, base: float | None, post: float, lo: float, hi: float) -> dict:
    """Grade a post-baseline result after a flagged baseline of the same test; returns the post row."""
    rows = [("S1", 2, code, post, unit, lo, hi, "2024-02-01", None)]
    if base is not None:
        rows.insert(0, ("S1", 1, code, base, unit, lo, hi, "2024-01-01", "Y"))
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), None, CRITERIA)
    return out.row(out.height - 1, named=True)


# (test, ULN, baseline, post-baseline value, expected ATOXGRH). ctcae.md 'Liver rules':
# baseline normal -> multiples of ULN; baseline above ULN -> multiples of baseline.
LIVER = [
    # ALT/AST: >ULN, >3, >5, >20 x ULN | >=1.5, >3, >5, >20 x baseline
    *[(code, 40, 30, v, g) for code in ("ALT", "AST") for v, g in [
        (40, 0), (40.01, 1), (120, 1), (120.01, 2), (200, 2), (200.01, 3), (800, 3), (800.01, 4)]],
    *[(code, 40, 60, v, g) for code in ("ALT", "AST") for v, g in [
        (89.9, 0), (90, 1), (180, 1), (180.01, 2), (300, 2), (300.01, 3), (1200, 3), (1200.01, 4)]],
    # ALP/GGT: >ULN, >2.5, >5, >20 x ULN | >=2.0, >2.5, >5, >20 x baseline
    *[(code, 100, 80, v, g) for code in ("ALP", "GGT") for v, g in [
        (100, 0), (100.01, 1), (250, 1), (250.01, 2), (500, 2), (500.01, 3), (2000, 3), (2000.01, 4)]],
    *[(code, 100, 150, v, g) for code in ("ALP", "GGT") for v, g in [
        (299.9, 0), (300, 1), (375, 1), (375.01, 2), (750, 2), (750.01, 3), (3000, 3), (3000.01, 4)]],
    # Bilirubin: >ULN, >1.5, >3, >10 x ULN | >1.0, >1.5, >3, >10 x baseline
    ("BILI", 20, 15, 20, 0), ("BILI", 20, 15, 20.01, 1), ("BILI", 20, 15, 30, 1), ("BILI", 20, 15, 30.01, 2),
    ("BILI", 20, 15, 60, 2), ("BILI", 20, 15, 60.01, 3), ("BILI", 20, 15, 200, 3), ("BILI", 20, 15, 200.01, 4),
    ("BILI", 20, 30, 30, 0), ("BILI", 20, 30, 30.01, 1), ("BILI", 20, 30, 45, 1), ("BILI", 20, 30, 45.01, 2),
    ("BILI", 20, 30, 90, 2), ("BILI", 20, 30, 90.01, 3), ("BILI", 20, 30, 300, 3), ("BILI", 20, 30, 300.01, 4),
]


@pytest.mark.parametrize(("code", "uln", "base", "value", "grade"), LIVER)
def test_liver_baseline_rule(code, uln, base, value, grade):
    unit = "umol/L" if code == "BILI" else "U/L"
    row = baseline_then(code, unit, base, value, 0, uln)
    assert row["ATOXGRH"] == grade
    assert row["BNRIND"] == ("HIGH" if base > uln else "NORMAL")


def test_bilirubin_in_mg_dl_abnormal_baseline():
    # baseline 1.5 mg/dL = 25.65 umol/L above ULN 1.2 mg/dL; 4.6 mg/dL = 78.66 > 3 x 25.65 = 76.95 -> grade 3
    assert baseline_then("BILI", "mg/dL", 1.5, 4.6, 0.1, 1.2)["ATOXGRH"] == 3
    assert baseline_then("BILI", "mg/dL", 1.5, 4.5, 0.1, 1.2)["ATOXGRH"] == 2


def test_abnormal_baseline_itself_is_graded_against_uln():
    # ctcae.md: a baseline ALT of 2 x ULN is grade 1, not grade 0; BTOXGRH is that grade.
    rows = [("S1", 1, "ALT", 80, "U/L", 5, 40, "2024-01-01", "Y"), ("S1", 2, "ALT", 100, "U/L", 5, 40, "2024-02-01", None)]
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), None, CRITERIA)
    assert out["ATOXGRH"].to_list() == [1, 0]  # 100 < 1.5 x 80 = 120
    assert out["BTOXGRH"].to_list() == [1, 1]
    assert out["ABLFL"].to_list() == ["Y", None] and out["POSTBLFL"].to_list() == [None, "Y"]
    assert out["BASE"].to_list() == [80, 80]


def test_liver_baseline_without_range_is_not_guessed():
    rows = [("S1", 1, "ALT", 80, "U/L", None, None, "2024-01-01", "Y"), ("S1", 2, "ALT", 100, "U/L", 5, 40, "2024-02-01", None)]
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), None, CRITERIA)
    assert out.row(1, named=True)["ATOXGRH"] is None
    assert out.row(1, named=True)["ATOXRSNH"] == "baseline normal range missing"


# Creatinine >1.5 / >3.0 x ULN or x baseline (ULN 100 umol/L); (baseline, value, grade)
@pytest.mark.parametrize(("base", "value", "grade"), [
    # >1.5 x baseline is grade 2 even inside the normal range (v5.0 wording, as admiral applies it)
    (60, 90, 0), (60, 90.01, 2), (60, 180, 2), (60, 180.01, 3),
    (80, 100.01, 1), (80, 120, 1), (80, 120.01, 2), (80, 240.01, 3), (80, 600.01, 4),
    (None, 120.01, 1), (None, 150.01, 2),
])
def test_creatinine_times_baseline(base, value, grade):
    assert baseline_then("CREAT", "umol/L", base, value, 40, 100)["ATOXGRH"] == grade


# Fibrinogen (LLN 2.0 g/L): below LLN and a fall of >=25/50/75% from baseline (baseline 3.0 g/L)
@pytest.mark.parametrize(("base", "value", "grade"), [
    (3.0, 2.0, 0), (3.0, 1.99, 2), (2.1, 1.99, 1), (2.6, 1.95, 2), (2.6, 1.96, 1),
    (3.0, 1.5, 3), (3.0, 1.51, 2), (3.0, 0.75, 4), (3.0, 0.76, 3),
])
def test_fibrinogen_fall_from_baseline(base, value, grade):
    # a fall of >=25% is a value <= 0.75 x baseline: 0.75 x 2.6 = 1.95
    assert baseline_then("FIBRINO", "g/L", base, value, 2.0, 4.0)["ATOXGRL"] == grade


# Eosinophilia: >ULN and >baseline (ULN 0.5 x10^9/L)
@pytest.mark.parametrize(("base", "value", "grade", "reason"), [
    (0.3, 0.6, 1, "clinical component not assessed"), (0.3, 0.5, 0, None), (0.7, 0.6, 0, None),
    (0.7, 0.71, 1, "clinical component not assessed"), (None, 0.6, None, "no baseline"), (None, 0.4, 0, None),
])
def test_eosinophilia_above_baseline(base, value, grade, reason):
    row = baseline_then("EOS", "10^9/L", base, value, 0, 0.5)
    assert (row["ATOXGRH"], row["ATOXRSNH"]) == (grade, reason)


DM = pl.DataFrame({"USUBJID": ["S1"], "RFXSTDTC": ["2024-01-10T09:00"]})


def test_baseline_from_first_dose_when_not_flagged():
    # Last non-missing value on or before first dose; times compared only when both have one.
    rows = [
        ("S1", 1, "ALT", 30, "U/L", 5, 40, "2024-01-02", None),
        ("S1", 2, "ALT", 35, "U/L", 5, 40, "2024-01-10T08:00", None),   # before dose time: baseline
        ("S1", 3, "ALT", None, "U/L", 5, 40, "2024-01-10T08:30", None),  # missing: not a baseline
        ("S1", 4, "ALT", 50, "U/L", 5, 40, "2024-01-10T10:00", None),   # after dose time
        ("S1", 5, "ALT", 130, "U/L", 5, 40, "2024-01-20", None),
    ]
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), DM, CRITERIA)
    assert out["ABLFL"].to_list() == [None, "Y", None, None, None]
    assert out["BASE"].to_list() == [35] * 5
    assert out["POSTBLFL"].to_list() == [None, None, "Y", "Y", "Y"]
    assert out["ATOXGRH"].to_list() == [0, 0, None, 1, 2]


def test_date_only_result_on_dose_day_counts_as_baseline():
    rows = [("S1", 1, "ALT", 30, "U/L", 5, 40, "2024-01-10", None), ("S1", 2, "ALT", 33, "U/L", 5, 40, "2024-01-11", None)]
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), DM, CRITERIA)
    assert out["ABLFL"].to_list() == ["Y", None]


def test_flag_wins_over_first_dose():
    rows = [("S1", 1, "ALT", 30, "U/L", 5, 40, "2024-01-02", "Y"), ("S1", 2, "ALT", 45, "U/L", 5, 40, "2024-01-09", None)]
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), DM, CRITERIA)
    assert out["ABLFL"].to_list() == ["Y", None] and out["BASE"].to_list() == [30, 30]


def test_worst_grade_and_shift():
    rows = [
        ("S1", 1, "ALT", 30, "U/L", 5, 40, "2024-01-01", "Y"),
        ("S1", 2, "ALT", 130, "U/L", 5, 40, "2024-02-01", None),
        ("S1", 3, "ALT", 130, "U/L", 5, 40, "2024-03-01", None),
        ("S1", 4, "ALT", 50, "U/L", 5, 40, "2024-04-01", None),
        ("S2", 5, "ALT", 50, "U/L", 5, 40, "2024-01-01", "Y"),
        ("S2", 6, "ALT", 40, "U/L", 5, 40, "2024-02-01", None),
    ]
    graded = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), None, CRITERIA)
    worst = worst_grades(graded).filter(pl.col("ATOXDSC") == "Alanine aminotransferase increased")
    assert worst.select("USUBJID", "ATOXGR", "LBSEQ", "BTOXGR").rows() == [("S1", 2, 2, 0), ("S2", 0, 6, 1)]
    shift = shift_table(graded).filter(pl.col("ATOXDSC") == "Alanine aminotransferase increased")
    assert shift.select("BTOXGR", "ATOXGR", "NSUBJ").rows() == [(0, 2, 1), (1, 0, 1)]


def test_flagged_record_without_a_value_is_not_the_baseline():
    # ctcae.md 'Baseline' (ADaM ABLFL): the baseline is a value. A flag on a record with no result
    # gives no baseline value, so the last non-missing value before first dose is the baseline;
    # otherwise the liver rule has no baseline range to decide by and the grade 3 ALT goes ungraded.
    rows = [
        ("S1", 1, "ALT", 30, "U/L", 5, 40, "2024-01-02", None),
        ("S1", 2, "ALT", None, "U/L", 5, 40, "2024-01-05", "Y"),
        ("S1", 3, "ALT", 250, "U/L", 5, 40, "2024-01-20", None),
    ]
    out = derive_lab_grades(pl.DataFrame(rows, schema=SCHEMA, orient="row"), DM, CRITERIA)
    assert out["ABLFL"].to_list() == ["Y", None, None]
    assert out["BASE"].to_list() == [30, 30, 30]
    assert (out["POSTBLFL"][0], out["POSTBLFL"][2]) == (None, "Y")
    assert out["ATOXGRH"].to_list() == [0, None, 3]


def test_results_of_a_test_without_baseline_are_post_baseline_after_first_dose():
    # A subject whose pre-dose labs are missing still has on-treatment results: after first dose
    # they are post-baseline (ADaM), so a grade 3 ALT is in worst grades and AE reconciliation;
    # with no baseline to measure from, the liver rule grades against ULN.
    from safety.dates import derive_dates
    from safety.grading.reconcile import reconcile_labs_with_aes

    dm = derive_dates(pl.DataFrame({"USUBJID": ["S1", "S2"], "RFXSTDTC": ["2024-01-10", "2024-01-10"]}), "RFXSTDTC")
    rows = [("S1", 1, "ALT", 30.0, "U/L", 0.0, 40.0, "2024-01-05", None),   # S1 has a baseline ALT
            ("S1", 2, "ALT", 250.0, "U/L", 0.0, 40.0, "2024-02-01", None),
            ("S2", 1, "ALT", 250.0, "U/L", 0.0, 40.0, "2024-02-01", None),   # S2: no pre-dose ALT
            ("S2", 2, "ALT", 90.0, "U/L", 0.0, 40.0, "2024-02-08", None)]
    lb = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    out = derive_lab_grades(lb, dm, CRITERIA).sort("USUBJID", "LBSEQ")
    assert out.select("USUBJID", "ABLFL", "POSTBLFL", "ATOXGRH").rows() == [
        ("S1", "Y", None, 0), ("S1", None, "Y", 3), ("S2", None, "Y", 3), ("S2", None, "Y", 1)]
    worst = worst_grades(out).filter((pl.col("USUBJID") == "S2") & (pl.col("ATOXDIR") == "H"))
    assert worst.select("ATOXGR", "LBSEQ").rows() == [(3, 1)]
    no_ae = pl.DataFrame(schema={"USUBJID": pl.String, "AESEQ": pl.Int64, "AEDECOD": pl.String,
                                 "AETOXGR": pl.Int64, "AESTDTC": pl.String, "AEENDTC": pl.String})
    review = reconcile_labs_with_aes(out, no_ae, criteria=CRITERIA)
    assert sorted(review.filter(pl.col("KIND").str.contains("without"))["USUBJID"].to_list()) == ["S1", "S2"]
    # without first-dose dates nothing tells a post-dose result from a screening one: as before
    alone = derive_lab_grades(lb.filter(pl.col("USUBJID") == "S2"), None, CRITERIA)
    assert alone["POSTBLFL"].null_count() == 2
