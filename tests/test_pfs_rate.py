"""six_month_rate: landmark classification at day 183, Clopper-Pearson, and the KM estimate."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from scipy.stats import binomtest

from safety.activity.config import load_pfs_config
from safety.activity.km import kaplan_meier, km_at
from safety.activity.rate import clopper_pearson, landmark_status, six_month_rate

CFG = load_pfs_config()

# AVAL, CNSR -> landmark status at day 183
LANDMARK = [
    (182, 0, "PROGRESSED"),          # progression on day 182
    (183, 0, "PROGRESSED"),          # progression on day 183: not progression-free at day 183
    (184, 0, "PROGRESSION-FREE"),    # first documented on day 184: progression-free through day 183
    (183, 1, "PROGRESSION-FREE"),    # adequate assessment on day 183, no event
    (182, 1, "NOT EVALUABLE"),       # last adequate assessment one day short of the landmark
    (1, 1, "NOT EVALUABLE"),         # no post-baseline assessment
    (90, 0, "PROGRESSED"),           # e.g. death without progression
    (240, 1, "PROGRESSION-FREE"),
]


def pfs_frame(rows) -> pl.DataFrame:
    start = date(2024, 1, 1)
    return pl.DataFrame(
        {"USUBJID": [f"S{i}" for i in range(len(rows))], "AVAL": [r[0] for r in rows], "CNSR": [r[1] for r in rows]}
    ).with_columns(pl.lit(start).alias("STARTDT"), (pl.lit(start) + pl.duration(days=pl.col("AVAL") - 1)).alias("ADT"))


@pytest.mark.parametrize(("aval", "cnsr", "expected"), LANDMARK)
def test_landmark_classification(aval: int, cnsr: int, expected: str) -> None:
    assert landmark_status(pfs_frame([(aval, cnsr)]), 183)["LMSTAT"].item() == expected


def test_six_month_rate_counts_and_intervals() -> None:
    rows = [(a, c) for a, c, _ in LANDMARK]
    result = six_month_rate(pfs_frame(rows), CFG)
    assert (result.n_subjects, result.n_evaluable, result.n_progression_free, result.n_progressed,
            result.n_not_evaluable) == (8, 6, 3, 3, 2)
    assert result.rate == 0.5
    exact = binomtest(3, 6).proportion_ci(0.95, method="exact")
    assert result.rate_lower == pytest.approx(exact.low, abs=1e-12)
    assert result.rate_upper == pytest.approx(exact.high, abs=1e-12)
    point = km_at(kaplan_meier([a for a, _ in rows], [1 - c for _, c in rows]), 183)
    # day 1 censored; day 90: 1 event of 7 at risk; day 182: 1 event of 6; day 183: 1 event of 4
    assert result.km_survival == pytest.approx((6 / 7) * (5 / 6) * (3 / 4))
    assert (result.km_lower, result.km_upper) == (point.lower, point.upper)
    assert result.rule_version == CFG.version


def test_event_after_missed_assessments_before_the_landmark_is_not_progression_free() -> None:
    # FDA 2018: PD or death after 2+ missed assessments is censored (CNSR 1) at the last adequate
    # assessment, for the time-to-event analysis. For the binary 6-month rate (Simon's count) a
    # progression or death documented on or before day 183 still means "not progression-free at
    # 6 months": dropping such subjects as NOT EVALUABLE removes known failures from the denominator.
    from safety.activity.pfs import derive_pfs

    subjects = pl.DataFrame({"USUBJID": ["A", "B", "C"], "RFXSTDTC": ["2024-01-01"] * 3,
                             "DTHDTC": ["2024-05-29", None, None]})  # A dies on day 150, never assessed
    records = pl.DataFrame(
        {"USUBJID": ["B", "B", "C", "C"], "RSSEQ": [1, 2, 1, 2],
         # B: SD day 57, PD day 177 (gap 120 > 119); C: SD day 57, PD day 240 (after the landmark)
         "RSDTC": ["2024-02-26", "2024-06-25", "2024-02-26", "2024-08-27"], "RSSTRESC": ["SD", "PD", "SD", "PD"]}
    ).with_columns(pl.lit("OVRLRESP").alias("RSTESTCD"), pl.lit("INVESTIGATOR").alias("RSEVAL"))
    pfs = derive_pfs(subjects, records, None, CFG)
    assert pfs.select("USUBJID", "AVAL", "CNSR").rows() == [("A", 1, 1), ("B", 57, 1), ("C", 57, 1)]
    status = landmark_status(pfs, 183)
    # C's progression on day 240 may or may not have happened by day 183: still not evaluable
    assert status["LMSTAT"].to_list() == ["PROGRESSED", "PROGRESSED", "NOT EVALUABLE"]
    result = six_month_rate(pfs, CFG)
    assert (result.n_evaluable, result.n_progression_free, result.n_progressed, result.n_not_evaluable) == (2, 0, 2, 1)
    assert result.km_survival == 1.0  # the Kaplan-Meier estimate keeps the FDA censoring


def test_clopper_pearson_closed_forms() -> None:
    # x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n) (Clopper & Pearson 1934)
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** (1 / 10)), 1.0)
    lo, hi = clopper_pearson(7, 20)
    # 7/20 (p0 = 0.35 at n = 20): exact 95% interval 0.1539 to 0.5922 from the beta-quantile definition
    assert (round(lo, 4), round(hi, 4)) == (0.1539, 0.5922)


def test_no_subjects() -> None:
    result = six_month_rate(pfs_frame([]).cast({"AVAL": pl.Int64, "CNSR": pl.Int64}), CFG)
    assert result.n_evaluable == 0 and result.rate != result.rate  # nan


def test_cli_pfs_json(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from safety.cli import app

    pl.DataFrame({"STUDYID": ["S", "S"], "USUBJID": ["A", "B"], "RFXSTDTC": ["2024-01-01", "2024-01-01"],
                  "DTHDTC": [None, None]}).write_csv(tmp_path / "dm.csv")
    pl.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["A", "A", "B"], "RSSEQ": [1, 2, 1], "RSTESTCD": ["OVRLRESP"] * 3,
                  "RSEVAL": ["INVESTIGATOR"] * 3, "RSSTRESC": ["SD", "PD", "SD"],
                  "RSDTC": ["2024-02-26", "2024-04-22", "2024-07-15"]}).write_parquet(tmp_path / "rs.parquet")
    result = CliRunner().invoke(app, ["pfs", "--rs", str(tmp_path / "rs.parquet"), "--dm", str(tmp_path / "dm.csv"),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [(r["USUBJID"], r["AVAL"], r["CNSR"], r["LMSTAT"]) for r in doc["rows"]] == [
        ("A", 113, 0, "PROGRESSED"), ("B", 197, 1, "PROGRESSION-FREE")]
    assert (doc["six_month_rate"]["n_evaluable"], doc["six_month_rate"]["n_progression_free"]) == (2, 1)
    missing = CliRunner().invoke(app, ["pfs", "--rs", str(tmp_path / "nope.csv"), "--dm", str(tmp_path / "dm.csv")])
    assert missing.exit_code != 0


def test_simon_stage1_keeps_the_place_of_a_subject_still_followed():
    # Simon 1989: stage 1 is the first n1 subjects. Failures are known months before successes, so
    # filling the stage with the next subjects whose status is known would lean it to futility.
    from types import SimpleNamespace

    from safety.activity.pfs import CENSOR_LAST, CENSOR_NEW_THERAPY, CENSOR_NO_ASSESSMENT, EVENT_PD
    from safety.activity.rate import left_follow_up
    from safety.boundaries.simon import simon_status
    from safety.derive import _simon_counts

    start = date(2024, 1, 1)
    # (subject, days after the first subject's first dose, AVAL, CNSR, EVNTDESC)
    rows = [("A", 0, 120, 1, CENSOR_LAST),            # still followed: its place is kept
            ("B", 1, 60, 1, CENSOR_NEW_THERAPY),      # never evaluable: replaced
            ("C", 2, 200, 1, CENSOR_LAST),            # progression-free
            ("D", 3, 100, 0, EVENT_PD),
            ("E", 4, 90, 0, EVENT_PD),
            ("F", 5, 80, 0, EVENT_PD),                # the fifth: outside the stage of four
            ("G", 6, 1, 1, CENSOR_NO_ASSESSMENT)]     # withdrew (DS): never evaluable
    pfs = pl.DataFrame(rows, schema=["USUBJID", "DAY", "AVAL", "CNSR", "EVNTDESC"], orient="row").with_columns(
        (pl.lit(start) + pl.duration(days=pl.col("DAY"))).alias("STARTDT"))
    ds = pl.DataFrame({"USUBJID": ["G", "G"], "DSDECOD": ["INFORMED CONSENT OBTAINED", "withdrawal by subject"]})
    left = left_follow_up(ds, CFG.six_month_rate)
    assert left.to_list() == ["G"]
    landmark = landmark_status(pfs, 183, left)
    assert landmark.filter("LMPEND")["USUBJID"].to_list() == ["A"]
    design = SimpleNamespace(n1=4, r1=1, n=8)
    # stage 1 = A, C, D, E: one progression-free of three known, A to come; the next known
    # failure (F) does not take A's place, which would read 1 of 4 and cross the boundary
    assert _simon_counts(landmark, design) == (1, 3)
    status = simon_status(SimpleNamespace(n1=4, r1=1, n=8, r=3, id="s", version="1", criterion="optimal"), 1, 3)
    assert not status.crossed and status.decision == "continue"
    done = landmark.with_columns(pl.when(pl.col("USUBJID") == "A").then(pl.lit("PROGRESSED"))
                                 .otherwise(pl.col("LMSTAT")).alias("LMSTAT"),
                                 pl.when(pl.col("USUBJID") == "A").then(False).otherwise(pl.col("LMPEND")).alias("LMPEND"))
    assert _simon_counts(done, design) == (1, 4)
