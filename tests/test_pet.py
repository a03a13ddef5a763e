"""FES-PET view, best % change in target-lesion sum (waterfall), responses by visit."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from safety.activity.config import load_pfs_config
from safety.activity.pet import best_percent_change, fes_pet_summary, response_by_visit

CFG = load_pfs_config()
START = date(2024, 1, 1)


def day(n: int) -> str:
    return (START + timedelta(days=n - 1)).isoformat()


def tr(rows) -> pl.DataFrame:
    """(USUBJID, TRSEQ, TRLNKID, TRTESTCD, TRSTRESN, TRMETHOD, TRFESAVD, TRDTC)."""
    return pl.DataFrame(
        rows, schema=["USUBJID", "TRSEQ", "TRLNKID", "TRTESTCD", "TRSTRESN", "TRMETHOD", "TRFESAVD", "TRDTC"],
        orient="row",
    ).with_columns(pl.lit("INVESTIGATOR").alias("TREVAL"), pl.lit(None, pl.String).alias("TRACPTFL"))


def tu(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["USUBJID", "TULNKID", "TUSTRESC"], orient="row")


DM = pl.DataFrame({"USUBJID": ["A", "B", "C", "D"], "RFXSTDTC": [START.isoformat()] * 4})
TU = tu([("A", "T01", "TARGET"), ("A", "T02", "TARGET"), ("A", "T03", "TARGET"), ("A", "T04", "TARGET"),
         ("A", "NT01", "NON-TARGET"),
         ("B", "T01", "TARGET"), ("B", "T02", "TARGET"), ("B", "T03", "TARGET"),
         ("C", "T01", "TARGET"), ("C", "T02", "TARGET")])
PET = tr([
    # A: 3 of 4 measurable lesions avid (75%); the avid non-target lesion is not counted.
    ("A", 1, "T01", "SUVMAX", 8.0, "PET", "Y", day(-7)),
    ("A", 2, "T02", "SUVMAX", 6.0, "PET", "Y", day(-7)),
    ("A", 3, "T03", "SUVMAX", 4.0, "PET", "Y", day(-7)),
    ("A", 4, "T04", "SUVMAX", 1.2, "PET", "N", day(-7)),
    ("A", 5, "NT01", "SUVMAX", 9.0, "PET", "Y", day(-7)),
    # early scan on day 29: sum over the avid lesions 4 + 3 + 2 = 9 vs 18 at baseline: -50%
    ("A", 6, "T01", "SUVMAX", 4.0, "PET", "Y", day(29)),
    ("A", 7, "T02", "SUVMAX", 3.0, "PET", "Y", day(29)),
    ("A", 8, "T03", "SUVMAX", 2.0, "PET", "Y", day(29)),
    ("A", 9, "T04", "SUVMAX", 1.0, "PET", "N", day(29)),
    # a later scan in the window is not the early scan
    ("A", 10, "T01", "SUVMAX", 1.0, "PET", "Y", day(40)),
    # B: 1 of 3 avid (33%): deviation; its early scan misses the avid lesion -> no % change
    ("B", 1, "T01", "SUVMAX", 5.0, "PET", "Y", day(1)),
    ("B", 2, "T02", "SUVMAX", 1.0, "PET", "N", day(1)),
    ("B", 3, "T03", "SUVMAX", 1.1, "PET", "N", day(1)),
    ("B", 4, "T02", "SUVMAX", 1.0, "PET", "N", day(20)),
    # C: exactly 1 of 2 avid = 50%: eligible (>=); the only later scan (day 50) is outside days 15-42
    ("C", 1, "T01", "SUVMAX", 5.0, "PET", "Y", day(-3)),
    ("C", 2, "T02", "SUVMAX", 1.0, "PET", "N", day(-3)),
    ("C", 3, "T01", "SUVMAX", 2.0, "PET", "Y", day(50)),
    # CT measurements are not PET
    ("C", 4, "T02", "SUVMAX", 7.0, "CT", "Y", day(-3)),
])


@pytest.fixture(scope="module")
def summary() -> pl.DataFrame:
    return fes_pet_summary(PET, TU, DM, CFG)


EXPECTED = {
    # N measurable, N avid, share, eligible, deviation, reason, SUV sum BL, early day, SUV sum early, % change
    "A": (4, 3, 0.75, True, "N", None, 18.0, 29, 9.0, -50.0),
    "B": (3, 1, 1 / 3, False, "Y", "FES-AVID SHARE BELOW 50%", 5.0, 20, None, None),
    "C": (2, 1, 0.5, True, "N", None, 5.0, None, None, None),
    "D": (0, 0, None, False, "Y", "NO MEASURABLE LESION ON BASELINE FES-PET", None, None, None, None),
}


@pytest.mark.parametrize("subject", sorted(EXPECTED))
def test_fes_pet_summary(summary: pl.DataFrame, subject: str) -> None:
    row = summary.filter(pl.col("USUBJID") == subject).row(0, named=True)
    got = tuple(row[c] for c in ("N_MEASURABLE_BL", "N_FES_AVID_BL", "FES_AVID_SHARE", "ELIGIBLE_FES",
                                 "PROTOCOL_DEVIATION", "DEVIATION_REASON", "SUVMAX_SUM_BL", "EARLY_SCAN_DAY",
                                 "SUVMAX_SUM_EARLY", "SUVMAX_PCHG"))
    assert got == pytest.approx(EXPECTED[subject]) if None not in got else got == EXPECTED[subject]


def test_threshold_is_config(summary: pl.DataFrame) -> None:
    strict = CFG.model_copy(update={"fes_pet": CFG.fes_pet.model_copy(update={"min_avid_share": 0.8})})
    out = fes_pet_summary(PET, TU, DM, strict)
    assert out.filter(pl.col("ELIGIBLE_FES"))["USUBJID"].to_list() == []
    assert summary.filter(pl.col("ELIGIBLE_FES"))["USUBJID"].to_list() == ["A", "C"]


def test_not_done_suvmax_is_not_a_measurement() -> None:
    # Module rule: "percent change is reported only when every one of those lesions was measured
    # again at the early scan, so a missing lesion never looks like a metabolic response". A lesion
    # recorded NOT DONE (TRSTAT, null TRSTRESN) was not measured. E: T02 not done at the early scan
    # (sum 4 vs 14 would read -71%); F: T02 not done at baseline (sum 10 vs 8 would read +25%).
    subjects = pl.DataFrame({"USUBJID": ["E", "F"], "RFXSTDTC": [START.isoformat()] * 2})
    lesions = tu([("E", "T01", "TARGET"), ("E", "T02", "TARGET"), ("F", "T01", "TARGET"), ("F", "T02", "TARGET")])
    pet = tr([
        ("E", 1, "T01", "SUVMAX", 8.0, "PET", "Y", day(-7)),
        ("E", 2, "T02", "SUVMAX", 6.0, "PET", "Y", day(-7)),
        ("E", 3, "T01", "SUVMAX", 4.0, "PET", "Y", day(29)),
        ("E", 4, "T02", "SUVMAX", None, "PET", "Y", day(29)),
        ("F", 1, "T01", "SUVMAX", 8.0, "PET", "Y", day(-7)),
        ("F", 2, "T02", "SUVMAX", None, "PET", "Y", day(-7)),
        ("F", 3, "T01", "SUVMAX", 4.0, "PET", "Y", day(29)),
        ("F", 4, "T02", "SUVMAX", 6.0, "PET", "Y", day(29)),
    ])
    out = fes_pet_summary(pet, lesions, subjects, CFG)
    assert out.select("USUBJID", "N_FES_AVID_BL", "SUVMAX_SUM_BL", "N_AVID_MEASURED_EARLY", "SUVMAX_PCHG").rows() == [
        ("E", 2, 14.0, 1, None),
        ("F", 2, None, 2, None),
    ]


def diameters(readings: list[tuple]) -> pl.DataFrame:
    """Subject A's lesion diameters by CT: (TRLNKID, TRSTRESN, study day, VISITNUM) per row."""
    rows = [("A", seq, lesion, "LDIAM", value, "CT", None, day(d), float(visit))
            for seq, (lesion, value, d, visit) in enumerate(readings)]
    return pl.DataFrame(rows, schema=["USUBJID", "TRSEQ", "TRLNKID", "TRTESTCD", "TRSTRESN", "TRMETHOD",
                                      "TRFESAVD", "TRDTC", "VISITNUM"], orient="row",
                        ).with_columns(pl.lit("INVESTIGATOR").alias("TREVAL"))


def test_best_percent_change_constructed() -> None:
    # baseline sum 100 (40 + 60); day 57: 70 (-30%); day 113: 50 (-50%, best); day 169: 90
    frame = diameters([
        ("T01", 40.0, -5, 1), ("T02", 60.0, -5, 1), ("T01", 30.0, 57, 2), ("T02", 40.0, 57, 2),
        ("T01", 20.0, 113, 3), ("T02", 30.0, 113, 3), ("T01", 40.0, 169, 4), ("T02", 50.0, 169, 4),
        ("NT01", 99.0, 113, 3),
    ])
    out = best_percent_change(frame, tu([("A", "T01", "TARGET"), ("A", "T02", "TARGET")]), DM)
    assert out.select("USUBJID", "BASE_SUMDIAM", "BEST_SUMDIAM", "BEST_PCHG", "N_POST_BASELINE").row(0) == (
        "A", 100.0, 50.0, -50.0, 3)
    assert out["BEST_PCHG_DT"].item() == START + timedelta(days=112)


def test_best_percent_change_skips_a_visit_missing_a_target_lesion() -> None:
    # RECIST 1.1 (section 4.3.x, "missing assessments"): the sum of diameters needs every target
    # lesion; a visit where one was not assessed has no sum (NE), so the lesions measured there must
    # not be summed as if they were all: day 57 has T01 only (30 vs 100 would read -70%).
    frame = diameters([("T01", 40.0, -5, 1), ("T02", 60.0, -5, 1), ("T01", 30.0, 57, 2), ("T02", None, 57, 2),
                       ("T01", 35.0, 113, 3), ("T02", 45.0, 113, 3)])
    out = best_percent_change(frame, tu([("A", "T01", "TARGET"), ("A", "T02", "TARGET")]), DM)
    assert out.select("USUBJID", "BASE_SUMDIAM", "BEST_SUMDIAM", "BEST_PCHG", "N_POST_BASELINE").row(0) == (
        "A", 100.0, 80.0, -20.0, 1)
    assert out["BEST_PCHG_DT"].item() == START + timedelta(days=112)


SDTM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sdtm"


def _real(name: str) -> pl.DataFrame:
    if not (SDTM / "onco_examples" / "tr_onco.parquet").exists():
        pytest.skip(f"public SDTM example data not found under {SDTM.resolve()}")
    return pl.read_parquet(SDTM / name)


def test_best_percent_change_real_data() -> None:
    tr_real, tu_real = _real("onco_examples/tr_onco.parquet"), _real("onco_examples/tu_onco.parquet")
    dm_real = _real("cdiscpilot01/dm.parquet")
    out = best_percent_change(tr_real, tu_real, dm_real)
    # 01-701-1015, investigator: SUMDIAM 73 at baseline, 0 at week 12 (complete response)
    row = out.filter(pl.col("USUBJID") == "01-701-1015").row(0, named=True)
    assert (row["BASE_SUMDIAM"], row["BEST_PCHG"], row["BEST_PCHG_DT"]) == (73.0, -100.0, date(2014, 3, 26))
    assert out["USUBJID"].is_unique().all() and out["BEST_PCHG"].is_sorted()
    # no PET in the example data: every treated subject is flagged, none crashes
    pet = fes_pet_summary(tr_real, tu_real, dm_real, CFG)
    assert pet.height == dm_real.filter(pl.col("RFXSTDTC").is_not_null()).height
    assert pet["PROTOCOL_DEVIATION"].unique().to_list() == ["Y"]


def test_response_by_visit_real_data() -> None:
    rs_real, dm_real = _real("onco_examples/rs_onco.parquet"), _real("cdiscpilot01/dm.parquet")
    lanes = response_by_visit(rs_real, dm_real)
    first = lanes.filter(pl.col("USUBJID") == "01-701-1015")
    assert first.select("ADY", "AVALC").rows() == [(42, "PD"), (84, "CR"), (168, "SD")]
    independent = response_by_visit(rs_real, dm_real, evaluator="INDEPENDENT ASSESSOR")
    # one accepted read per subject and date when two radiologists read
    assert independent.group_by("USUBJID", "RSDT").len()["len"].max() == 1
