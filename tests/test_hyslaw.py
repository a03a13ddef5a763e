"""Potential Hy's law cases and eDISH quadrants (protocol.md "Hy's law")."""

from __future__ import annotations

import polars as pl
import pytest

from safety.dlt import load_dlt_rules
from safety.hyslaw import hys_law
from tests.test_dlt_candidates import day, lb, liver

RULES = load_dlt_rules()


@pytest.mark.parametrize(("bili_day", "cases"), [(10, 1), (40, 1), (41, 0), (9, 0)])
def test_bilirubin_same_day_to_30_days_after(bili_day, cases):
    rows = [liver("S1", 1, "ALT", 10, 120.0), liver("S1", 2, "BILI", bili_day, 40.0, uln=20.0)]
    assert hys_law(lb(rows), RULES)[0].height == cases


@pytest.mark.parametrize(("alp", "expected"), [(190.0, ["BELOW"]), (200.0, []), (None, ["MISSING"])])
def test_alp_below_2x_uln_at_the_time(alp, expected):
    rows = [liver("S1", 1, "ASAT", 10, 120.0), liver("S1", 2, "BILI", 15, 40.0, uln=20.0),
            liver("S1", 4, "ALP", 16, 500.0, uln=100.0)]  # after the bilirubin: never used
    if alp is not None:
        rows.append(liver("S1", 3, "ALKPH", 15, alp, uln=100.0))
    cases, _ = hys_law(lb(rows), RULES)
    assert cases["ALPSTAT"].to_list() == expected
    if expected == ["BELOW"]:
        assert cases.select("HYSCASEID", "AMTTEST", "SRC", "BILIDAYS").rows() == [("HYS:S1:LB:1", "AST", "LB:1,2,3", 5)]


@pytest.mark.parametrize(("alt", "bili", "cases"), [(119.0, 40.0, 0), (120.0, 39.0, 0), (120.0, 40.0, 1)])
def test_thresholds_are_inclusive(alt, bili, cases):
    rows = [liver("S1", 1, "ALT", 10, alt), liver("S1", 2, "BILI", 12, bili, uln=20.0)]
    assert hys_law(lb(rows), RULES)[0].height == cases


def test_baseline_results_do_not_count():
    rows = [liver("S1", 1, "ALT", 0, 200.0), liver("S1", 2, "BILI", 0, 60.0, uln=20.0),
            liver("S1", 3, "ALT", 10, 50.0)]
    frame = lb(rows).with_columns(pl.when(pl.col("LBSEQ") < 3).then(pl.lit("Y")).alias("ABLFL"))
    cases, edish = hys_law(frame, RULES)
    assert cases.is_empty()
    assert edish.select("USUBJID", "PEAKALT", "PEAKBILI", "EDISHQ").rows() == [("S1", 1.25, None, "Not classifiable")]


def test_edish_quadrants_and_x_choice():
    rows = [
        liver("H", 1, "ALT", 5, 130.0), liver("H", 2, "BILI", 6, 40.0, uln=20.0),
        liver("T", 1, "AST", 5, 130.0), liver("T", 2, "BILI", 6, 30.0, uln=20.0),
        liver("C", 1, "ALT", 5, 100.0), liver("C", 2, "BILI", 6, 50.0, uln=20.0),
        liver("N", 1, "ALT", 5, 40.0), liver("N", 2, "BILI", 6, 10.0, uln=20.0),
    ]
    _, edish = hys_law(lb(rows), RULES)
    assert edish.select("USUBJID", "EDISHX", "EDISHY", "EDISHQ").rows() == [
        ("C", 2.5, 2.5, "Cholestasis"), ("H", 3.25, 2.0, "Potential Hy's law"),
        ("N", 1.0, 0.5, "Normal range"), ("T", 3.25, 1.5, "Temple's corollary"),
    ]
    alt_only = RULES.model_copy(update={"hys_law": RULES.hys_law.model_copy(update={"edish_x": "alt"})})
    _, edish_alt = hys_law(lb(rows), alt_only)
    assert edish_alt.filter(pl.col("USUBJID") == "T")["EDISHQ"].to_list() == ["Not classifiable"]


def test_peak_carries_its_record():
    rows = [liver("S1", 7, "ALT", 5, 100.0), liver("S1", 8, "ALT", 9, 300.0), liver("S1", 9, "ALT", 12, 80.0),
            liver("S1", 10, "BILI", 9, 10.0, uln=20.0)]
    _, edish = hys_law(lb(rows), RULES)
    assert edish.select("PEAKALT", "PEAKALTSEQ").rows() == [(7.5, 8)]
    assert day(1) == "2024-03-01"


def test_a_test_under_two_spellings_has_one_peak():
    rows = [liver("S1", 1, "ALT", 5, 100.0), liver("S1", 2, "SGPT", 9, 200.0), liver("S1", 3, "alt", 12, 200.0),
            liver("S1", 4, "BILI", 9, 10.0, uln=20.0)]
    _, edish = hys_law(lb(rows), RULES)
    assert edish.select("PEAKALT", "PEAKALTSEQ", "PEAKBILI").rows() == [(5.0, 3, 0.5)]


def test_results_dated_before_the_baseline_record_do_not_make_the_peak():
    rows = [liver("S1", 1, "ALT", -9, 300.0), liver("S1", 2, "ALT", 0, 50.0), liver("S1", 3, "ALT", 10, 80.0),
            liver("S2", 1, "ALT", 10, 60.0)]
    frame = lb(rows).with_columns(
        pl.when((pl.col("USUBJID") == "S1") & (pl.col("LBSEQ") == 2)).then(pl.lit("Y")).alias("ABLFL")
    )
    _, edish = hys_law(frame, RULES)
    assert edish.select("USUBJID", "PEAKALT", "PEAKALTSEQ").rows() == [("S1", 2.0, 3), ("S2", 1.5, 1)]


def test_a_liver_spelling_first_seen_far_down_the_table_is_read(monkeypatch):
    import safety.dlt.lab_rows

    monkeypatch.setattr(safety.dlt.lab_rows, "_SAMPLE_ROWS", 1)  # the first row is PLAT: every other test is new
    plat = ("S0", 1, "PLAT", 200.0, 150.0, 400.0, day(5), None, None, None, None, None)
    rows = [plat, liver("S1", 1, " Alat", 5, 100.0), liver("S1", 2, "ASAT", 5, 160.0), liver("S1", 3, "Tbili", 6, 50.0, uln=20.0),
            liver("S1", 4, "ALP", 6, 500.0, uln=100.0)]
    cases, edish = hys_law(lb(rows), RULES)
    assert edish.select("USUBJID", "PEAKALT", "PEAKAST", "PEAKBILI", "EDISHQ").rows() == [
        ("S1", 2.5, 4.0, 2.5, "Potential Hy's law"),
    ]
    assert cases.is_empty()  # ALP 5 x ULN on the bilirubin day: cholestatic, not Hy's law
