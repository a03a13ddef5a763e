"""RSI versions: each event is judged against the RSI in force on its date, so an approved update
never turns a SUSAR already reported into an expected reaction (CTFG Q&A on RSI, 2017: an updated
RSI applies only once approved)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml

from safety.config import ConfigError
from safety.dates import derive_dates
from safety.listings.susar_listing import cumulative_summary_tabulation
from safety.rsi import load_rsi
from safety.susar import classify_susars, load_pv_config, susar_cases

ROOT = Path(__file__).resolve().parents[1]
PV = load_pv_config(ROOT / "config" / "pharmacovigilance.yaml")
FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
D = dt.date
UPDATE = D(2026, 1, 1)


def shipped() -> dict:
    return yaml.safe_load((ROOT / "config" / "rsi.yaml").read_text())


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "rsi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def updated(tmp_path):
    """The shipped RSI-2025.1 superseded on 2026-01-01 by RSI-2026.1, which lists pneumonitis
    (serious) for elacestrant."""
    old = shipped()
    new = copy.deepcopy(old)
    new.update(version="RSI-2026.1", effective_date=UPDATE, superseded=[old])
    new["drugs"]["ELACESTRANT"]["effective_date"] = UPDATE
    new["drugs"]["ELACESTRANT"]["terms"].append({"term": "pneumonitis", "rate_any": 0.02, "expected_serious": True})
    return load_rsi(write(tmp_path, new))


def ae(seq: int, onset: str | None, aware: str | None = None, **over) -> dict:
    row = {"STUDYID": "ST", "USUBJID": "ST-001", "AESEQ": seq, "AETERM": "pneumonitis", "AEDECOD": "Pneumonitis",
           "AESER": "Y", **{f: "N" for f in FLAGS}, "AESHOSP": "Y", "AEREL": "POSSIBLE", "AEREL2": "NOT RELATED",
           "AEOUT": "RECOVERING/RESOLVING", "AETOXGR": 3, "AESTDTC": onset, "AEAWDTC": aware}
    row.update(over)
    return row


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema_overrides={"AESTDTC": pl.String, "AEAWDTC": pl.String,
                                                      "AETOXGR": pl.Int64})


def test_each_event_is_judged_by_the_version_in_force_on_its_onset(updated):
    rows = classify_susars(frame(
        ae(1, "2025-06-01"),            # before the update: pneumonitis not listed -> SUSAR
        ae(2, "2026-02-01"),            # after: listed as serious -> expected
        ae(3, "2026-01-01"),            # the effective date itself: the new version
        ae(4, "2025-12-31"),            # the day before: the old one
        ae(5, None, "2025-12-20"),      # no onset: the awareness date decides
        ae(6, None, None),              # no date at all: the current version
        ae(7, "2023-05-01"),            # before the first version took effect: the first version
        ae(8, "2025"),                  # partial date, imputed to 2025-01-01: the old version
    ), updated, PV).to_dicts()
    assert [r["AESEQ"] for r in rows] == list(range(1, 9))  # one row per input row, in order
    version = {r["AESEQ"]: r["RSI_VERSION"] for r in rows}
    assert version == {1: "RSI-2025.1", 2: "RSI-2026.1", 3: "RSI-2026.1", 4: "RSI-2025.1", 5: "RSI-2025.1",
                       6: "RSI-2026.1", 7: "RSI-2025.1", 8: "RSI-2025.1"}
    susar = {r["AESEQ"]: r["IS_SUSAR"] for r in rows}
    assert susar == {1: True, 2: False, 3: False, 4: True, 5: True, 6: False, 7: True, 8: True}
    by_seq = {r["AESEQ"]: r for r in rows}
    assert by_seq[5]["RSI_DATE"] == D(2025, 12, 20) and by_seq[6]["RSI_DATE"] is None
    assert "RSI RSI-2025.1" in by_seq[1]["EXPECTEDNESS_BASIS"] and "not listed" in by_seq[1]["EXPECTEDNESS_BASIS"]
    assert "RSI RSI-2026.1" in by_seq[2]["EXPECTEDNESS_BASIS"] and "-> expected" in by_seq[2]["EXPECTEDNESS_BASIS"]


def test_awareness_date_can_pick_the_version(updated):
    by_awareness = PV.model_copy(update={"rsi_in_force_at": "awareness"})
    onset_old_aware_new = frame(ae(1, "2025-12-30", "2026-01-03"))
    (by_onset,) = classify_susars(onset_old_aware_new, updated, PV).to_dicts()
    (aware,) = classify_susars(onset_old_aware_new, updated, by_awareness).to_dicts()
    assert (by_onset["RSI_VERSION"], by_onset["IS_SUSAR"]) == ("RSI-2025.1", True)
    assert (aware["RSI_VERSION"], aware["IS_SUSAR"], aware["RSI_DATE"]) == ("RSI-2026.1", False, D(2026, 1, 3))


def test_a_reported_susar_stays_a_susar_after_the_update(updated):
    received = dt.datetime(2025, 6, 3, 9)
    versions = frame(ae(1, "2025-06-01", "2025-06-02")).with_columns(
        pl.lit(1).alias("_version"), pl.lit(101).alias("_run_id"), pl.lit(received).alias("_valid_from"))
    versions = derive_dates(derive_dates(versions, "AESTDTC", "first"), "AEAWDTC", "first")
    cases, _ = susar_cases(versions, updated, PV, None, None, None, D(2026, 3, 1))
    (case,) = cases.to_dicts()
    assert case["IS_SUSAR"] and case["CASE_STATE"] == "SUSAR" and case["RSI_VERSION"] == "RSI-2025.1"
    assert case["DUE_DATE"] == D(2025, 6, 17)
    # the cumulative tabulation says which versions the classification could use
    table = cumulative_summary_tabulation(versions, updated, PV, D(2026, 3, 1))
    assert table["RSI version"].unique().to_list() == ["RSI-2025.1+RSI-2026.1"]


def test_signals_use_the_version_in_force_at_the_data_cut(updated):
    def rate(rsi_version) -> float | None:
        rates = rsi_version.reference_rates().filter(pl.col("term_key") == "pneumonitis")
        return rates["rate_any"].item() if rates.height else None

    assert rate(updated.in_force(D(2025, 12, 31))) is None
    assert rate(updated.in_force(D(2026, 6, 30))) == pytest.approx(0.02)


def test_single_version_file_is_unchanged():
    rsi = load_rsi(ROOT / "config" / "rsi.yaml")
    assert rsi.versions() == [rsi] and rsi.versions_label() == rsi.version
    assert rsi.in_force(D(2000, 1, 1)) is rsi and rsi.in_force(None) is rsi


def test_superseded_versions_must_come_before_the_current_one(tmp_path):
    old = shipped()
    later = copy.deepcopy(old)
    later.update(version="RSI-2024.1", effective_date=D(2026, 1, 1))
    with pytest.raises(ConfigError, match=r"rsi\.yaml.*superseded versions must take effect one after another"):
        load_rsi(write(tmp_path, {**old, "superseded": [later]}))
    same_name = copy.deepcopy(old)
    same_name["effective_date"] = D(2024, 1, 1)
    with pytest.raises(ConfigError, match=r"RSI versions named more than once: RSI-2025\.1"):
        load_rsi(write(tmp_path, {**old, "superseded": [same_name]}))
