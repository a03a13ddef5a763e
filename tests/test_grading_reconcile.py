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


def test_lab_during_an_ongoing_reported_ae_is_not_unreported():
    # The issue: flag a grade >= 3 only when there is no reported AE of the term within +/- 7 days.
    # An AE running on the sample date (started earlier, not yet ended or open) is such an AE.
    # AE 1 runs 2024-01-10 to 2024-02-05: covers result 2 (2024-02-01), not result 3 (2024-02-08;
    # started 29 days before, ended 3 days before). AE 2 (ALT) is open from 2024-01-15: covers result 6.
    aes = ae([("S1", 1, "Neutropenia", "Neutropenia", 3, "2024-01-10", "2024-02-05"),
              ("S2", 2, "ALT increased", None, 3, "2024-01-15", None)])
    items = reconcile_labs_with_aes(GRADED, aes, 7, CRITERIA)
    assert items.filter(pl.col("KIND") == UNREPORTED).select("USUBJID", "LBSEQ").rows() == [("S1", [3])]


def test_meddra_british_spelling_anaemia_matches_anemia():
    # AEDECOD is a MedDRA preferred term, spelled 'Anaemia' (as 'Hypokalaemia', 'Hyponatraemia', ... which
    # the criteria already list): an Anaemia AE 2 days after a grade 3 haemoglobin reports it.
    lb = pl.DataFrame(
        [("S3", 1, "HGB", 130.0, "g/L", 120.0, 160.0, "2024-01-01", "Y"),
         ("S3", 2, "HGB", 75.0, "g/L", 120.0, 160.0, "2024-02-01", None)],   # <80 g/L: grade 3
        schema=LB.columns, orient="row",
    )
    graded = derive_lab_grades(lb, None, CRITERIA)
    aes = ae([("S3", 1, "low haemoglobin", "Anaemia", 3, "2024-02-03", "2024-02-20")])
    assert reconcile_labs_with_aes(graded, aes, 7, CRITERIA).height == 0


def test_review_items_do_not_depend_on_row_order():
    # Two severe results the same day: the items are ordered by their records (LBSEQ), not by the
    # order the source happened to list them in, so a reordered export gives the same review list.
    lb = pl.DataFrame(
        [("S1", 1, "NEUT", 3.0, "10^9/L", 2.0, 7.0, "2024-01-01", "Y")]
        + [("S1", seq, "NEUT", 0.8, "10^9/L", 2.0, 7.0, "2024-02-01", None) for seq in (5, 2, 4, 3)],
        schema=LB.columns, orient="row",
    )
    for order in (lb, lb.reverse()):
        items = reconcile_labs_with_aes(derive_lab_grades(order, None, CRITERIA), ae([]), 7, CRITERIA)
        assert items["LBSEQ"].to_list() == [[2], [3], [4], [5]]
