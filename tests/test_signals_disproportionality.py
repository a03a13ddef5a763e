"""Disproportionality: counting, PRR/chi2/ROR/IC on hand-checkable tables, published openEBGM rows."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from safety.signals.config import load_signal_config
from safety.signals.disproportionality import (
    contingency,
    disproportionality,
    flag_signals,
    frequentist_measures,
    information_component,
    run_disproportionality,
)
from safety.signals.gps import GammaMixturePrior, fit_prior, neg_log_likelihood

CONFIG = Path(__file__).resolve().parents[1] / "config" / "signals.yaml"

# Canida & Ihrie 2017 (R Journal 9:499-519), openEBGM vignette "Empirical Bayes Metrics with
# openEBGM" (x4_posteriorCalculationVignette), hyperparameters fitted on the package's CAERS data:
CAERS_THETA = GammaMixturePrior(3.25379064, 0.39988801, 2.02613219, 1.90808279, 0.06534557)


@pytest.fixture(scope="module")
def cfg():
    return load_signal_config(CONFIG)


def reports(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["report_id", "drug", "event"], orient="row")


def single_report_drug(n_event: int, n_reports: int) -> pl.DataFrame:
    """A drug named in one report, with an event named in `n_event` of `n_reports` reports."""
    rows = [("r0", "PRODUCT", "EVENT")]
    rows += [(f"r{i}", "OTHER", "EVENT") for i in range(1, n_event)]
    rows += [(f"r{i}", "OTHER", "ELSE") for i in range(n_event, n_reports)]
    return reports(rows)


def test_a_report_counts_once_per_cell_and_n_is_distinct_reports():
    table = contingency(reports([
        ("1", "D", "E"), ("1", "D", "E"), ("1", "D", "F"),  # a duplicate pair counts once
        ("2", "D", "F"), ("3", "G", "E"), ("4", "G", "F"),
    ]))
    row = table.filter(drug="D", event="E").row(0, named=True)
    # reports with D: 1, 2; with E: 1, 3; N = 4 distinct reports
    assert (row["a"], row["b"], row["c"], row["d"], row["N"]) == (1, 1, 1, 1, 4)
    assert row["E0"] == pytest.approx(2 * 2 / 4)
    assert table.height == 4  # only observed cells are listed


@pytest.mark.parametrize(
    "n_event, published_e, published_rr, published_prr",
    [
        # openEBGM vignette x4, head(processed): CAERS 2012, N = 3356 reports; rows for a product
        # in a single report ("11 UNSPECIFIED VITAMINS", "1-PHENYLALANINE"), E = n_drug n_event / N
        (121, 0.0360548272, 27.74, 27.96),  # HEART RATE INCREASED / CHEST PAIN
        (13, 0.0038736591, 258.15, 279.58),  # ASTHMA
        (257, 0.0765792610, 13.06, 13.11),  # DYSPNOEA
        (177, 0.0527413588, 18.96, 19.06),  # HYPERSENSITIVITY
    ],
)
def test_expected_count_rr_and_prr_match_openebgm_published_rows(cfg, n_event, published_e, published_rr, published_prr):
    row = disproportionality(single_report_drug(n_event, 3356), cfg, prior=CAERS_THETA).filter(
        drug="PRODUCT", event="EVENT"
    ).row(0, named=True)
    assert round(row["E0"], 10) == published_e
    assert round(row["a"] / row["E0"], 2) == published_rr
    assert round(row["PRR"], 2) == published_prr


def test_ebgm_and_quantiles_match_openebgm_for_a_published_row(cfg):
    # the same vignette, row 1: N = 1, E = 0.0360548272 -> ebgm 2.23, QUANT_05 0.49, QUANT_95 13.85
    # (openEBGM's quantBisect stops within 0.005 before rounding, so its 2nd decimal may differ by 1)
    row = disproportionality(single_report_drug(121, 3356), cfg, prior=CAERS_THETA).filter(
        drug="PRODUCT", event="EVENT"
    ).row(0, named=True)
    assert round(row["EBGM"], 2) == 2.23
    assert row["EB05"] == pytest.approx(0.49, abs=0.01)
    assert row["EB95"] == pytest.approx(13.85, abs=0.01)


def test_prr_chi2_ror_on_a_hand_checked_table():
    # a=20, b=80, c=100, d=1800 (N=2000), worked by hand from the definitions in
    # pharmacovigilance.md (Evans et al. 2001; van Puijenbroek et al. 2002):
    #   PRR  = (20/100) / (100/1900)                                    = 3.8
    #   chi2 = 2000 (|20*1800 - 80*100| - 1000)^2 / (100*1900*120*1880)
    #        = 2000 * 27000^2 / 42,864,000,000                          = 34.0146...
    #   ROR  = 20*1800 / (80*100)                                       = 4.5
    #   se   = sqrt(1/20 + 1/80 + 1/100 + 1/1800) = 0.270288...
    #   95% CI = 4.5 exp(-/+ 1.96 se) = 4.5 / 1.698532, 4.5 * 1.698532 = (2.6494, 7.6434)
    table = frequentist_measures(pl.DataFrame({"a": [20], "b": [80], "c": [100], "d": [1800]}))
    row = table.row(0, named=True)
    assert row["PRR"] == pytest.approx(3.8, rel=1e-12)
    assert row["chi2"] == pytest.approx(2000 * 27000**2 / 42_864_000_000, rel=1e-12)
    assert row["chi2"] == pytest.approx(34.0146, abs=1e-4)
    assert row["ROR"] == pytest.approx(4.5, rel=1e-12)
    assert row["ROR_lo"] == pytest.approx(2.6494, abs=1e-4)
    assert row["ROR_hi"] == pytest.approx(7.6434, abs=1e-4)


def test_yates_correction_does_not_overshoot_zero():
    # |ad - bc| = |1*1 - 1*1| = 0 < N/2: chi-square is 0, not (N/2)^2 N / margins
    row = frequentist_measures(pl.DataFrame({"a": [1], "b": [1], "c": [1], "d": [1]})).row(0, named=True)
    assert row["chi2"] == 0.0


def test_ror_is_null_when_a_cell_is_empty():
    row = frequentist_measures(pl.DataFrame({"a": [3], "b": [0], "c": [5], "d": [90]})).row(0, named=True)
    assert row["ROR_lo"] is None
    assert math.isinf(row["PRR"]) is False and row["PRR"] == pytest.approx((3 / 3) / (5 / 95))


def test_information_component_shrinkage_and_exact_gamma_interval():
    # Noren et al. 2006/2013: IC = log2((a + 0.5)/(E0 + 0.5)); with a = 20, E0 = 6:
    # log2(20.5 / 6.5) = 1.657112 (by hand). With a = 0 the IC is negative and shrunk towards 0.
    ic = information_component([20, 0], [6.0, 0.5])
    assert ic["IC"][0] == pytest.approx(math.log2(20.5 / 6.5), rel=1e-12)
    assert ic["IC"][0] == pytest.approx(1.657112, abs=1e-6)
    assert ic["IC"][1] == pytest.approx(-1.0)
    # the interval holds the point estimate and its limits are the 2.5% and 97.5% quantiles of
    # Gamma(a + 0.5, E0 + 0.5): for a = 0 the shape is 0.5, i.e. a chi-square with 1 d.f. / 2;
    # chi2(1) 2.5% point = 0.000982069 (standard tables) -> log2(0.000982069 / 2 / 1.0)
    assert ic["IC025"][0] < ic["IC"][0] < ic["IC975"][0]
    assert ic["IC025"][1] == pytest.approx(math.log2(0.000982069 / 2), abs=1e-5)


@pytest.mark.parametrize(
    "a, b, c, d, expected",
    [
        # PRR = (3/6)/(10/40) = 2.0 exactly; chi2 large enough; a = 3 -> flagged (>= boundaries)
        (3, 3, 10, 30, True),
        (2, 2, 10, 30, False),  # same PRR, but a = 2 < 3
    ],
)
def test_prr_rule_boundaries(cfg, a, b, c, d, expected):
    table = frequentist_measures(pl.DataFrame({"a": [a], "b": [b], "c": [c], "d": [d]})).with_columns(
        pl.lit(0.0).alias("IC025"), pl.lit(1.0).alias("EB05")
    )
    row = table.row(0, named=True)
    assert row["PRR"] == pytest.approx(2.0)
    flagged = flag_signals(table, cfg.model_copy(update={
        "disproportionality": cfg.disproportionality.model_copy(update={
            "prr": cfg.disproportionality.prr.model_copy(update={"min_chi2": 0.0})
        })
    }))
    assert flagged["flag_prr"].item() is expected


def test_each_method_flags_a_strong_pair_and_overall_counts_methods(cfg):
    # drug X in 30 reports, 25 with event Y (2% of the 2000 other reports) and 5 with Z (about 1/3)
    rows = [(f"x{i}", "X", "Y") for i in range(25)] + [(f"x{i}", "X", "Z") for i in range(25, 30)]
    rows += [(f"o{i}", f"D{i % 40}", "Y" if i % 50 == 0 else "Z" if i % 3 == 0 else f"E{i % 30}") for i in range(2000)]
    result = disproportionality(reports(rows), cfg, prior=CAERS_THETA)
    row = result.filter(drug="X", event="Y").row(0, named=True)
    assert row["flag_prr"] and row["flag_ror"] and row["flag_ic"] and row["flag_ebgm"]
    assert row["n_methods"] == 4 and row["signal"]
    quiet = result.filter(drug="X", event="Z").row(0, named=True)
    assert not quiet["signal"] and quiet["n_methods"] == 0


def test_gps_prior_is_fitted_on_every_cell_not_on_distinct_counts(cfg):
    # pharmacovigilance.md: the prior is "fitted to all (D, E) cells by maximum likelihood"; cells
    # sharing (a, E0) each count in the likelihood (126 cells here, 15 distinct (a, E0) pairs).
    rows = [(f"x{i}", "X", "Y") for i in range(25)] + [(f"x{i}", "X", "Z") for i in range(25, 30)]
    rows += [(f"o{i}", f"D{i % 40}", "Y" if i % 50 == 0 else "Z" if i % 3 == 0 else f"E{i % 30}") for i in range(2000)]
    _, prior = run_disproportionality(reports(rows), cfg)
    cells = contingency(reports(rows))
    a, e0 = cells["a"].to_numpy().astype(float), cells["E0"].to_numpy()
    assert (cells.height, cells.select("a", "E0").unique().height) == (126, 15)
    on_every_cell = fit_prior(a, e0, cfg.disproportionality.gps)
    assert prior.theta.tolist() == on_every_cell.theta.tolist()
    # its reported minimum is the likelihood of all 126 cells at the fitted theta
    assert prior.neg_log_likelihood == pytest.approx(neg_log_likelihood(prior.theta, a, e0), rel=1e-9)


def test_missing_column_is_named(cfg):
    with pytest.raises(ValueError, match="event"):
        disproportionality(pl.DataFrame({"report_id": ["1"], "drug": ["D"]}), cfg)


def test_null_rows_are_rejected(cfg):
    with pytest.raises(ValueError, match="1 row"):
        disproportionality(reports([("1", "D", "E"), ("2", None, "E")]), cfg)
