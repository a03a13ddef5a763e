"""Observed against expected within the trial, on a literal ten-subject trial."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import special

from safety.config import ConfigError
from safety.signals.config import load_signal_config
from safety.signals.expected import combination_reference_rates, observed_vs_expected, signal_table

CONFIG = Path(__file__).resolve().parents[1] / "config" / "signals.yaml"
DATA_CUT = date(2025, 4, 10)  # every subject dosed 2025-01-01 has 100 days at risk (inclusive)

DM = pl.DataFrame(
    [(f"S{i:02d}", date(2025, 1, 1), None) for i in range(1, 11)]
    + [("S11", date(2025, 5, 1), None), ("S12", None, None)],  # dosed after the cut; never dosed
    schema={"USUBJID": pl.String, "RFXSTDT": pl.Date, "RFXENDT": pl.Date},
    orient="row",
)
AE = pl.DataFrame(
    [
        ("S01", "Nausea", 1, date(2025, 1, 11)),
        ("S01", "Nausea", 3, date(2025, 2, 1)),  # same subject: counted once; first grade 3 on day 31
        ("S02", "NAUSEA", 2, date(2025, 1, 21)),
        ("S03", "nausea ", 1, date(2025, 1, 31)),
        ("S04", "Hot flashes", 1, date(2025, 1, 6)),  # a synonym of hot flush
        ("S05", "Pneumonitis", 3, date(2025, 2, 15)),  # absent from the RSI, two subjects
        ("S06", "Pneumonitis", 2, date(2025, 3, 1)),
        ("S07", "Rash", 1, date(2025, 2, 1)),  # absent from the RSI, one subject
        ("S08", "Headache", 1, date(2024, 12, 20)),  # before first dose: not treatment-emergent
        ("S09", "Fatigue", 1, date(2025, 5, 1)),  # after the data cut
        ("S11", "Nausea", 1, date(2025, 5, 2)),  # not treated at the cut
    ],
    schema={"USUBJID": pl.String, "AEDECOD": pl.String, "AETOXGR": pl.Int64, "AESTDT": pl.Date},
    orient="row",
)
PER_DRUG = pl.DataFrame(
    {
        "drug": ["ELACESTRANT", "EXEMESTANE", "ELACESTRANT", "EXEMESTANE", "ELACESTRANT", "EXEMESTANE"],
        "term": ["nausea", "nausea", "hot flush", "hot flush", "headache", "fatigue"],
        "synonyms": [[], [], ["hot flashes"], ["hot flushes"], [], []],
        "rate_any": [0.35, 0.09, 0.11, 0.13, 0.12, 0.08],
        "rate_g3": [0.025, 0.01, 0.01, 0.01, 0.01, 0.01],
    }
)


@pytest.fixture(scope="module")
def cfg():
    return load_signal_config(CONFIG)


@pytest.fixture(scope="module")
def result(cfg):
    return observed_vs_expected(AE, DM, combination_reference_rates(PER_DRUG), cfg, DATA_CUT)


def row(result: pl.DataFrame, grade_class: str, term: str) -> dict:
    return result.filter(grade_class=grade_class, term=term).row(0, named=True)


def test_combination_rate_is_the_higher_of_the_two_labels():
    rates = combination_reference_rates(PER_DRUG)
    # reference-safety.md: max of elacestrant's and exemestane's rates, 0 when not listed
    assert rates.filter(term="nausea")["rate_any"].item() == 0.35
    assert rates.filter(term="hot flush")["rate_any"].item() == 0.13
    assert rates.filter(term="hot flush")["synonyms"].item().to_list() == ["hot flashes", "hot flushes"]


def test_terms_counted_by_subject_among_the_treated(result):
    nausea = row(result, "any", "nausea")
    assert (nausea["n_subj"], nausea["n_treated"], nausea["listed"]) == (3, 10, True)
    assert nausea["incidence"] == pytest.approx(0.3)
    # exact 95% interval for 3/10; R binom.test(3, 10)$conf.int = 0.06673951 0.65245285
    assert nausea["incidence_lo"] == pytest.approx(0.06673951, abs=1e-8)
    assert nausea["incidence_hi"] == pytest.approx(0.65245285, abs=1e-8)
    # onset days 10, 20 and 30 after first dose
    assert nausea["median_onset_days"] == 20
    assert set(result.filter(grade_class="any")["term"]) == {"nausea", "hot flush", "Pneumonitis", "Rash"}


def test_exposure_adjusted_rate(result):
    # at risk to the first event: S01 11 days, S02 21, S03 31 (inclusive), 7 others 100 each
    # = 763 days = 2.088980 years; 3 subjects -> 143.61 per 100 patient-years
    nausea = row(result, "any", "nausea")
    assert nausea["patient_years"] == pytest.approx(763 / 365.25)
    assert nausea["eair_per_100py"] == pytest.approx(300 / (763 / 365.25))


def test_posterior_probability_of_exceeding_reference_plus_margin(result, cfg):
    nausea = row(result, "any", "nausea")
    assert nausea["reference_rate"] == 0.35
    # prior Beta(10*0.35, 10*0.65) + 3 of 10 -> Beta(6.5, 13.5); P(p > 0.40) by direct numerical
    # integration of the beta density (independent of scipy.stats)
    a, b = 6.5, 13.5
    grid = np.linspace(0.40, 1.0, 200_001)
    log_density = (a - 1) * np.log(grid[:-1] + 1e-300) + (b - 1) * np.log1p(-grid[:-1]) - special.betaln(a, b)
    tail = float(np.sum(np.exp(log_density)) * (grid[1] - grid[0]))
    assert nausea["prob_exceeds"] == pytest.approx(tail, abs=1e-4)
    assert nausea["flag_exceeds"] is (tail >= cfg.observed_vs_expected.posterior_threshold)


def test_grade_3_is_separate(result):
    g3 = row(result, ">=3", "nausea")
    assert (g3["n_subj"], g3["reference_rate"], g3["median_onset_days"]) == (1, 0.025, 31)
    assert set(result.filter(grade_class=">=3")["term"]) == {"nausea", "Pneumonitis"}


def test_synonyms_match_case_insensitively(result):
    assert row(result, "any", "hot flush")["n_subj"] == 1
    assert row(result, "any", "hot flush")["listed"] is True


def test_unlisted_terms_flagged_from_two_subjects(result):
    pneumonitis = row(result, "any", "Pneumonitis")
    assert pneumonitis["listed"] is False and pneumonitis["reference_rate"] is None
    assert pneumonitis["flag_unlisted"] and pneumonitis["signal"]
    rash = row(result, "any", "Rash")
    assert not rash["flag_unlisted"] and not rash["signal"]


def test_an_unlisted_term_is_one_term_whatever_its_case(cfg):
    # Counted per term by subject: "Rash" and "RASH " are one term (matching is case-insensitive,
    # module docstring), so two subjects reach min_subjects_unlisted = 2 and flag it.
    ae = pl.DataFrame(
        {"USUBJID": ["S01", "S02"], "AEDECOD": ["Rash", "RASH "], "AETOXGR": [1, 2],
         "AESTDT": [date(2025, 2, 1), date(2025, 2, 3)]}
    )
    out = observed_vs_expected(ae, DM, combination_reference_rates(PER_DRUG), cfg, DATA_CUT).filter(grade_class="any")
    assert out.height == 1
    rash = out.row(0, named=True)
    assert (rash["n_subj"], rash["listed"], rash["flag_unlisted"], rash["signal"]) == (2, False, True, True)


def test_a_term_with_extra_inner_spaces_matches_the_reference(cfg):
    # Terms match by key: trimmed, lower-cased, single spaces (safety.rsi.term_key, as the RSI
    # itself matches): "Hot  Flush" is the listed hot flush, not a term absent from the RSI.
    ae = pl.DataFrame(
        {"USUBJID": ["S01", "S02"], "AEDECOD": ["Hot  Flush", "hot   flashes"], "AETOXGR": [1, 1],
         "AESTDT": [date(2025, 2, 1), date(2025, 2, 3)]}
    )
    out = observed_vs_expected(ae, DM, combination_reference_rates(PER_DRUG), cfg, DATA_CUT).filter(grade_class="any")
    assert out.select("term", "n_subj", "listed").rows() == [("hot flush", 2, True)]


def test_a_rate_far_above_reference_is_flagged(cfg):
    # 8 of 10 subjects with headache against a reference of 12%: P(rate > 17%) is near 1
    ae = pl.DataFrame(
        {"USUBJID": [f"S{i:02d}" for i in range(1, 9)], "AEDECOD": ["Headache"] * 8, "AETOXGR": [1] * 8,
         "AESTDT": [date(2025, 1, 5)] * 8}
    )
    out = observed_vs_expected(ae, DM, combination_reference_rates(PER_DRUG), cfg, DATA_CUT)
    headache = row(out, "any", "headache")
    assert headache["prob_exceeds"] > 0.99 and headache["flag_exceeds"] and headache["signal"]


def test_signal_table_puts_signals_first(cfg):
    table = signal_table(AE, DM, combination_reference_rates(PER_DRUG), cfg, DATA_CUT)
    assert table["signal"][0] is True
    assert table["rules_version"][0] == cfg.version
    assert table["signal"].to_list() == sorted(table["signal"].to_list(), reverse=True)


def test_no_subject_treated_at_the_cut_gives_an_empty_typed_table(cfg):
    # Before the first dose (every RFXSTDT after the cut) there is nothing to count, but the table
    # keeps its types: the cycle filters it on `signal` (signal history, alerts, dashboard).
    table = signal_table(AE, DM, combination_reference_rates(PER_DRUG), cfg, date(2024, 12, 1))
    assert table.height == 0
    assert (table.schema["signal"], table.schema["term"], table.schema["n_subj"]) == (pl.Boolean, pl.String, pl.Int64)
    assert table.filter(pl.col("signal")).height == 0


def test_reference_table_missing_columns_is_an_error(cfg):
    with pytest.raises(ValueError, match="synonyms"):
        observed_vs_expected(AE, DM, pl.DataFrame({"term": ["x"], "rate_any": [0.1], "rate_g3": [0.0]}), cfg, DATA_CUT)


def test_combination_allowance_lives_in_the_rsi_only(tmp_path):
    # Once in each file, the two allowances added up; signals.yaml now says where it went.
    text = CONFIG.read_text().replace("  unknown_rate:", "  combination_allowance: 0.05\n  unknown_rate:", 1)
    moved = tmp_path / "signals.yaml"
    moved.write_text(text)
    with pytest.raises(ConfigError, match=r"combination_allowance is set in rsi\.yaml"):
        load_signal_config(moved)
