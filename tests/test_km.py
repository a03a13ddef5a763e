"""Kaplan-Meier with Greenwood SE and log(-log) CI: a published worked example, lifelines, and edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from safety.activity.config import load_pfs_config
from safety.activity.km import kaplan_meier, km_at
from safety.activity.pfs import derive_pfs

# Freireich et al. (1963), Blood 21:699-716: remission times (weeks) of the 21 leukaemia patients on
# 6-mercaptopurine; event 0 = still in remission (censored).
SIX_MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]

# time, n at risk, S(t) as printed in Kleinbaum & Klein, "Survival Analysis: A Self-Learning Text"
# (3rd ed., 2012), chapter 2 (KM table of the 6-MP group, 4 decimals); Greenwood SE and the 95% log(-log)
# interval to 3 decimals as printed by R survival::survfit(conf.type = "log-log") for these data.
PUBLISHED = [
    (6, 21, 0.8571, 0.076, 0.620, 0.952),
    (7, 17, 0.8067, 0.087, 0.563, 0.923),
    (10, 15, 0.7529, 0.096, 0.503, 0.889),
    (13, 12, 0.6902, 0.107, 0.432, 0.849),
    (16, 11, 0.6275, 0.114, 0.368, 0.805),
    (22, 7, 0.5378, 0.128, 0.268, 0.747),
    (23, 6, 0.4482, 0.135, 0.188, 0.680),
]


@pytest.fixture(scope="module")
def six_mp() -> pl.DataFrame:
    return kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT)


@pytest.mark.parametrize(("t", "at_risk", "s", "se", "lower", "upper"), PUBLISHED)
def test_freireich_6mp_published(six_mp: pl.DataFrame, t, at_risk, s, se, lower, upper) -> None:
    row = six_mp.filter(pl.col("time") == t).row(0, named=True)
    assert row["n_at_risk"] == at_risk
    assert round(row["survival"], 4) == s
    assert round(row["se"], 3) == se
    assert (round(row["lower"], 3), round(row["upper"], 3)) == (lower, upper)


def test_step_function_reads(six_mp: pl.DataFrame) -> None:
    before = km_at(six_mp, 5)
    assert (before.survival, before.lower, before.upper, before.n_at_risk) == (1.0, 1.0, 1.0, 21)
    between = km_at(six_mp, 12)  # last step at 10, 12 at risk from 13 on... at t=12: times >= 12
    assert round(between.survival, 4) == 0.7529 and between.n_at_risk == 12
    after = km_at(six_mp, 40)
    assert after.beyond_follow_up and round(after.survival, 4) == 0.4482 and after.n_at_risk == 0


def _compare_with_lifelines(time: np.ndarray, event: np.ndarray) -> None:
    ours = kaplan_meier(time, event)
    fitter = KaplanMeierFitter().fit(time, event)
    lifelines = fitter.survival_function_.join(fitter.confidence_interval_).loc[ours["time"].to_numpy()]
    np.testing.assert_allclose(ours["survival"].to_numpy(), lifelines.iloc[:, 0].to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours["lower"].to_numpy(), lifelines.iloc[:, 1].to_numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours["upper"].to_numpy(), lifelines.iloc[:, 2].to_numpy(), rtol=1e-8, atol=1e-12)
    table = fitter.event_table.loc[ours["time"].to_numpy()]
    assert ours["n_at_risk"].to_list() == table["at_risk"].astype(int).tolist()
    assert ours["n_events"].to_list() == table["observed"].astype(int).tolist()
    assert ours["n_censored"].to_list() == table["censored"].astype(int).tolist()


def test_matches_lifelines_6mp() -> None:
    _compare_with_lifelines(np.array(SIX_MP_TIME, float), np.array(SIX_MP_EVENT))


SDTM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sdtm"


def test_matches_lifelines_on_onco_example_pfs() -> None:
    if not (SDTM / "onco_examples" / "rs_onco.parquet").exists():
        pytest.skip(f"public SDTM example data not found under {SDTM.resolve()}")
    cfg = load_pfs_config()
    rs = pl.read_parquet(SDTM / "onco_examples" / "rs_onco.parquet")
    dm = pl.read_parquet(SDTM / "cdiscpilot01" / "dm.parquet").join(rs.select("USUBJID").unique(), on="USUBJID")
    for evaluator in ("INVESTIGATOR", "INDEPENDENT ASSESSOR"):
        c = cfg.model_copy(update={"response": cfg.response.model_copy(update={"evaluator": evaluator})})
        pfs = derive_pfs(dm, rs, pl.read_parquet(SDTM / "cdiscpilot01" / "ds.parquet"), c)
        assert pfs.height == 205 and pfs["CNSR"].sum() > 0
        _compare_with_lifelines(pfs["AVAL"].to_numpy().astype(float), (pfs["CNSR"] == 0).to_numpy().astype(int))


def test_edges() -> None:
    all_censored = kaplan_meier([3, 5, 5], [0, 0, 0])
    assert all_censored["survival"].to_list() == [1.0, 1.0]
    assert all_censored["lower"].to_list() == [1.0, 1.0]
    to_zero = kaplan_meier([1, 2, 2], [1, 1, 1])
    assert to_zero["survival"].to_list()[-1] == 0.0
    assert (to_zero["lower"][-1], to_zero["upper"][-1]) == (0.0, 0.0)
    assert km_at(kaplan_meier([], []), 10).survival == 1.0
    with pytest.raises(ValueError, match="event must be 0"):
        kaplan_meier([1, 2], [1, 2])
