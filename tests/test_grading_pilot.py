"""End to end on the CDISC pilot LB (real SDTM: HGB in mmol/L, counts in GI/L, bilirubin and creatinine in umol/L)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from safety.grading import derive_lab_grades, load_criteria
from safety.grading.summary import shift_table, worst_grades

SDTM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sdtm" / "cdiscpilot01"


@pytest.fixture(scope="module")
def pilot() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    if not (SDTM / "lb.parquet").is_file():
        pytest.skip(f"CDISC pilot SDTM not found at {SDTM.resolve()} (shared data, not in the repository)")
    lb = pl.read_parquet(SDTM / "lb.parquet")
    dm = pl.read_parquet(SDTM / "dm.parquet")
    return lb, dm, derive_lab_grades(lb, dm, load_criteria())


def test_no_row_dropped_and_order_kept(pilot):
    lb, _, graded = pilot
    assert graded.height == lb.height
    assert graded.select(lb.columns).equals(lb)


# Hand-verified from LBSTRESN, LBSTNRLO/HI and the baseline record:
# - 01-705-1186 BILI seq 43: 116.28 umol/L; ULN 21; baseline 25.65 > ULN so the v5.0 liver rule uses
#   baseline: 3 x 25.65 = 76.95 < 116.28 <= 10 x 25.65 = 256.5 -> grade 3.
# - 01-705-1292 HGB seq 90: 6.08188 mmol/L / 0.6206 x 10 = 98.0 g/L < 100 -> anemia grade 2.
# - 01-701-1341 LYM seq 74: 0.47 GI/L < 0.5 -> lymphocyte count decreased grade 3.
# - 01-708-1342 CA seq 285: 2.12075 + 0.02 x (40 - albumin 47, same sample) = 1.98075 < 2.0 -> hypocalcemia 2.
HAND = [
    ("01-705-1186", 43, "ATOXGRH", 3, 116.28),
    ("01-705-1292", 90, "ATOXGRL", 2, 98.0),
    ("01-701-1341", 74, "ATOXGRL", 3, 0.47),
    ("01-708-1342", 285, "ATOXGRL", 2, 1.98075),
]


@pytest.mark.parametrize(("usubjid", "seq", "column", "grade", "aval"), HAND)
def test_hand_verified_rows(pilot, usubjid, seq, column, grade, aval):
    _, _, graded = pilot
    row = graded.filter((pl.col("USUBJID") == usubjid) & (pl.col("LBSEQ") == seq)).row(0, named=True)
    assert row[column] == grade
    assert row["AVAL"] == pytest.approx(aval, rel=1e-6)


def test_pilot_units_all_known_for_graded_tests(pilot):
    _, _, graded = pilot
    unknown = graded.filter((pl.col("ATOXRSNL") == "unknown unit") | (pl.col("ATOXRSNH") == "unknown unit"))
    assert unknown.height == 0, unknown.select("LBTESTCD", "LBSTRESU").unique()


def test_same_grades_on_one_subject_alone(pilot):
    # No row-wise state: grading a subject's 10-odd rows alone gives what the full file gives.
    lb, dm, graded = pilot
    subject = "01-705-1186"
    alone = derive_lab_grades(lb.filter(pl.col("USUBJID") == subject), dm, load_criteria())
    assert alone.equals(graded.filter(pl.col("USUBJID") == subject))


def test_summaries_run(pilot):
    _, _, graded = pilot
    worst = worst_grades(graded)
    assert worst.filter((pl.col("USUBJID") == "01-705-1186") & (pl.col("PARAMCD") == "BILI"))["ATOXGR"].to_list() == [3]
    shift = shift_table(graded)
    assert shift["NSUBJ"].sum() == worst.height
