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
