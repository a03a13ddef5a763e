"""SUSAR classification on constructed AEs (issue 6 acceptance)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from safety.config import ConfigError
from safety.rsi import load_rsi
from safety.susar import classify_susars, load_pv_config

ROOT = Path(__file__).resolve().parents[1]
RSI = load_rsi(ROOT / "config" / "rsi.yaml")
PV = load_pv_config(ROOT / "config" / "pharmacovigilance.yaml")
FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")


def ae(**overrides) -> dict:
    row = {"STUDYID": "ST", "USUBJID": "ST-001", "AESEQ": 1, "AETERM": "pneumonitis", "AEDECOD": "Pneumonitis",
           "AESER": "N", **{f: "N" for f in FLAGS}, "AEREL": "NOT RELATED", "AEREL2": "NOT RELATED",
           "AEOUT": "RECOVERED/RESOLVED", "AETOXGR": 2}
    row.update(overrides)
    return row


def classify(*rows: dict) -> list[dict]:
    frame = pl.DataFrame(list(rows), schema_overrides={"AETOXGR": pl.Int64, "AEDECOD": pl.String})
    return classify_susars(frame, RSI, PV).to_dicts()


@pytest.mark.parametrize("flag", FLAGS)
def test_each_seriousness_flag_makes_serious(flag):
    with_aeser, without_aeser = classify(ae(AESER="Y", **{flag: "Y"}), ae(AESER="N", **{flag: "Y"}))
    assert with_aeser["SERIOUS"] and with_aeser["DATA_QUERY"] is None
    assert without_aeser["SERIOUS"]
    assert f"{flag} = 'Y' while AESER = 'N'" in without_aeser["DATA_QUERY"]


def test_not_serious_and_aeser_without_criterion():
    plain, bare = classify(ae(), ae(AESER="Y"))
    assert not plain["SERIOUS"] and not plain["IS_SUSAR"]
    assert bare["SERIOUS"] and "no seriousness criterion" in bare["DATA_QUERY"]


@pytest.mark.parametrize(
    ("value", "related", "query"),
    [("CERTAIN", True, False), ("probable", True, False), ("Possible", True, False), ("RELATED", True, False),
     ("DEFINITE", True, False), ("Y", True, False), ("likely", True, False), (" possibly related ", True, False),
     ("NOT RELATED", False, False), ("UNLIKELY", False, False), ("N", False, False),
     (None, True, True), ("UNASSESSABLE", True, True)],
)
def test_each_relatedness_value(value, related, query):
    ela, exe = classify(ae(AESER="Y", AESHOSP="Y", AEREL=value), ae(AESER="Y", AESHOSP="Y", AEREL2=value))
    assert ela["RELATED_ELA"] is related and not ela["RELATED_EXE"]
    assert exe["RELATED_EXE"] is related and not exe["RELATED_ELA"]
    assert ela["IS_SUSAR"] is related  # pneumonitis is listed by neither RSI
    assert (ela["DATA_QUERY"] is not None) is query


@pytest.mark.parametrize(
    ("decod", "term", "ela", "exe", "expected_ela", "expected_exe", "susar"),
    [
        # nausea: listed as serious for elacestrant, listed only as non-serious for exemestane
        ("Nausea", "nausea", "RELATED", "NOT RELATED", True, False, False),
        ("Nausea", "nausea", "NOT RELATED", "RELATED", True, False, True),
        # related to both: expected only if expected for each
        ("Nausea", "nausea", "RELATED", "RELATED", True, False, True),
        # fracture: expected as serious for exemestane only
        ("Hip fracture", "broken hip", "NOT RELATED", "POSSIBLE", False, True, False),
        ("Hip fracture", "broken hip", "POSSIBLE", "NOT RELATED", False, True, True),
        # verbatim only (no PT) through the synonym table: arthralgia -> musculoskeletal pain (ela)
        (None, "Arthralgia", "PROBABLE", "NOT RELATED", True, False, False),
        # hot flush listed by both but not as serious
        (None, "hot flashes", "PROBABLE", "PROBABLE", False, False, True),
        ("Vomiting", "vomiting", "POSSIBLE", "POSSIBLE", True, False, True),
    ],
)
def test_expected_vs_unexpected_per_drug(decod, term, ela, exe, expected_ela, expected_exe, susar):
    (row,) = classify(ae(AEDECOD=decod, AETERM=term, AESER="Y", AESHOSP="Y", AEREL=ela, AEREL2=exe))
    assert row["EXPECTED_ELA"] is expected_ela
    assert row["EXPECTED_EXE"] is expected_exe
    assert row["IS_SUSAR"] is susar
    assert row["RSI_VERSION"] == RSI.version and row["PV_CONFIG_VERSION"] == PV.version
    assert ("-> unexpected" in row["EXPECTEDNESS_BASIS"]) is susar


def test_fatal_outcome_of_expected_term_is_unexpected():
    by_outcome, by_flag, alive = classify(
        ae(AEDECOD="Nausea", AESER="Y", AESHOSP="Y", AEREL="RELATED", AEOUT="FATAL"),
        ae(AEDECOD="Nausea", AESER="Y", AESDTH="Y", AEREL="RELATED"),
        ae(AEDECOD="Nausea", AESER="Y", AESHOSP="Y", AEREL="RELATED"),
    )
    assert by_outcome["FATAL"] and by_outcome["IS_SUSAR"] and "fatal outcome not listed" in by_outcome["EXPECTEDNESS_BASIS"]
    assert by_flag["IS_SUSAR"]
    assert not alive["IS_SUSAR"]


def test_life_threatening_more_severe_than_listed_is_unexpected():
    (row,) = classify(ae(AEDECOD="Vomiting", AESER="Y", AESLIFE="Y", AEREL="RELATED"))
    assert row["FATAL_OR_LT"] and row["IS_SUSAR"]
    assert "life-threatening not listed" in row["EXPECTEDNESS_BASIS"]


def test_unrelated_event_has_no_expectedness_and_output_keeps_keys():
    (row,) = classify(ae(AESER="Y", AESHOSP="Y", AESEQ=7))
    assert row["UNEXPECTED"] is None and not row["IS_SUSAR"]
    assert (row["USUBJID"], row["AESEQ"]) == ("ST-001", 7)


def test_rsi_reference_rates_contract():
    rates = RSI.reference_rates()
    assert rates.columns == ["term", "term_key", "synonyms", "rate_any", "rate_g3"]
    by_key = {r["term_key"]: r for r in rates.to_dicts()}
    assert by_key["hot flush"]["rate_any"] == pytest.approx(0.13)  # max(0.11 elacestrant, 0.13 exemestane)
    assert by_key["nausea"]["rate_g3"] == pytest.approx(0.025)
    assert "hot flashes" in by_key["hot flush"]["synonyms"]
    # arthralgia is its own (exemestane) term, so not also counted under musculoskeletal pain
    assert "arthralgia" not in by_key["musculoskeletal pain"]["synonyms"]
    assert not RSI.terms_frame()["fatal_listed"].any()


def test_invalid_rsi_names_file_and_field(tmp_path):
    bad = tmp_path / "rsi.yaml"
    bad.write_text("version: x\neffective_date: 2025-01-01\ndrugs:\n  ELACESTRANT:\n    document: d\n"
                   "    document_version: v\n    effective_date: 2025-01-01\n    terms:\n"
                   "      - {term: nausea, rate_any: 1.5}\n")
    with pytest.raises(ConfigError, match=r"rsi\.yaml.*drugs\.ELACESTRANT\.terms\.0\.rate_any"):
        load_rsi(bad)


def test_fatal_outcome_is_serious_even_when_aeser_says_no():
    # pharmacovigilance.md: serious = "results in death" (ICH E2A II.B); an AE with a fatal outcome
    # (AEOUT FATAL or CTCAE grade 5) is serious whatever AESER says; the inconsistency is a data query
    by_outcome, by_grade, aeser_missing = classify(
        ae(AESER="N", AEOUT="FATAL", AEREL="RELATED"),
        ae(AESER="N", AETOXGR=5, AEREL="RELATED"),
        ae(AESER=None, AEOUT="FATAL", AETOXGR=5, AEREL="RELATED"),
    )
    for row in (by_outcome, by_grade, aeser_missing):
        assert row["SERIOUS"] is True and row["FATAL"] is True and row["IS_SUSAR"] is True
        assert row["SERIOUS_CRITERIA"] == "death"
        assert "death (fatal outcome or grade 5) while" in row["DATA_QUERY"]
