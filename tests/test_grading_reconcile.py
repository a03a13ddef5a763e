"""Lab grades against reported AEs: unreported grade >=3 results and AE grades that differ from the labs."""

from __future__ import annotations

import polars as pl

from safety.grading import derive_lab_grades, load_criteria
from safety.grading.reconcile import GRADE_MISMATCH, UNREPORTED, reconcile_labs_with_aes

CRITERIA = load_criteria()
LB = pl.DataFrame(
    [
        ("S1", 1, "NEUT", 3.0, "10^9/L", 2.0, 7.0, "2024-01-01", "Y"),
        ("S1", 2, "NEUT", 0.8, "10^9/L", 2.0, 7.0, "2024-02-01", None),   # grade 3
        ("S1", 3, "NEUT", 0.4, "10^9/L", 2.0, 7.0, "2024-02-08", None),   # grade 4
        ("S1", 4, "NEUT", 1.8, "10^9/L", 2.0, 7.0, "2024-03-01", None),   # grade 1
        ("S2", 5, "ALT", 30, "U/L", 5, 40, "2024-01-01", "Y"),
        ("S2", 6, "ALT", 250, "U/L", 5, 40, "2024-02-01", None),          # grade 3
    ],
    schema=["USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC", "LBBLFL"],
    orient="row",
)
GRADED = derive_lab_grades(LB, None, CRITERIA)


def ae(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"USUBJID": pl.String, "AESEQ": pl.Int64, "AETERM": pl.String,
                                      "AEDECOD": pl.String, "AETOXGR": pl.Int64, "AESTDTC": pl.String,
                                      "AEENDTC": pl.String}, orient="row")


def test_unreported_severe_labs_without_any_ae():
    items = reconcile_labs_with_aes(GRADED, ae([]), 7, CRITERIA)
    unreported = items.filter(pl.col("KIND") == UNREPORTED)
    assert unreported.select("USUBJID", "TERM", "LBSEQ", "LAB_GRADE").rows() == [
        ("S1", "Neutrophil count decreased", [2], 3),
        ("S1", "Neutrophil count decreased", [3], 4),
        ("S2", "Alanine aminotransferase increased", [6], 3),
    ]


def test_synonym_within_window_counts_as_reported():
    # 'Neutropenia' ~ 'Neutrophil count decreased'; AE starts 7 days after the 2024-02-01 result (edge included)
    # and 1 day after 2024-02-08; ALT AE starts 8 days before the 2024-02-01 result: outside the window.
    aes = ae([("S1", 1, "neutropenia", "NEUTROPENIA", 4, "2024-02-08", "2024-02-20"),
              ("S2", 2, "ALT increased", None, 3, "2024-01-24", "2024-01-25")])
    items = reconcile_labs_with_aes(GRADED, aes, 7, CRITERIA)
    assert items.filter(pl.col("KIND") == UNREPORTED).select("USUBJID", "LBSEQ").rows() == [("S2", [6])]


def test_ae_grade_differs_from_worst_lab_grade_in_its_period():
    aes = ae([("S1", 1, "Neutropenia", "Neutropenia", 3, "2024-01-31", "2024-02-10"),
              ("S1", 2, "Neutrophil count decreased", None, 1, "2024-02-25", None),
              ("S2", 3, "Alanine aminotransferase increased", None, 3, "2024-02-01", "2024-02-01")])
    items = reconcile_labs_with_aes(GRADED, aes, 7, CRITERIA).filter(pl.col("KIND") == GRADE_MISMATCH)
    # AE 1 covers results 2 (grade 3) and 3 (grade 4): worst 4 != 3. AE 2 (open) covers result 4, grade 1 = 1.
    # AE 3 grade 3 equals the lab grade 3.
    assert items.select("USUBJID", "AESEQ", "LBSEQ", "LAB_GRADE", "AE_GRADE").rows() == [("S1", 1, [3], 4, 3)]
