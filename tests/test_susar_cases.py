"""SUSAR cases, day 0 and clocks from versioned AE records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from safety.dates import derive_dates
from safety.rsi import load_rsi
from safety.susar import load_pv_config, susar_cases

ROOT = Path(__file__).resolve().parents[1]
RSI = load_rsi(ROOT / "config" / "rsi.yaml")
PV = load_pv_config(ROOT / "config" / "pharmacovigilance.yaml")
FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
D = dt.date


def version(subj: str, seq: int, v: int, received: dt.date, **over) -> dict:
    row = {"STUDYID": "ST", "USUBJID": subj, "AESEQ": seq, "_version": v, "_run_id": 100 + v,
           "_valid_from": dt.datetime.combine(received, dt.time(9)), "AETERM": "pneumonitis",
           "AEDECOD": "Pneumonitis", "AESER": "Y", **{f: "N" for f in FLAGS}, "AESHOSP": "Y",
           "AEREL": "POSSIBLE", "AEREL2": "NOT RELATED", "AEOUT": "NOT RECOVERED/NOT RESOLVED", "AETOXGR": 3,
           "AESTDTC": "2025-03-01", "AEAWDTC": "2025-03-02"}
    row.update(over)
    return row


def run(rows, today=D(2025, 3, 10), submissions=None):
    frame = pl.DataFrame(rows, schema_overrides={"AEAWDTC": pl.String, "AETOXGR": pl.Int64})
    frame = derive_dates(derive_dates(frame, "AESTDTC", "first"), "AEAWDTC", "first")
    cases, fu = susar_cases(frame, RSI, PV, None, None, submissions, today)
    return {r["CASE_ID"]: r for r in cases.to_dicts()}, fu.to_dicts()


def test_fifteen_day_clock_and_statuses():
    subs = pl.DataFrame({"CASE_ID": ["ST-S2-1", "ST-S3-1"], "REPORT_TYPE": ["initial", "Initial"],
                         "SUBMITTED_ON": [D(2025, 3, 10), D(2025, 3, 20)]})
    cases, _ = run([version("S1", 1, 1, D(2025, 3, 2)), version("S2", 1, 1, D(2025, 3, 2)),
                    version("S3", 1, 1, D(2025, 3, 2)), version("S4", 1, 1, D(2025, 3, 2), AEAWDTC="2025-02-10")],
                   today=D(2025, 3, 15), submissions=subs)
    assert cases["ST-S1-1"]["DAY0"] == D(2025, 3, 2) and cases["ST-S1-1"]["DUE_DATE"] == D(2025, 3, 17)
    assert cases["ST-S1-1"]["STATUS"] == "DUE SOON" and cases["ST-S1-1"]["COMPLETE_DUE"] is None
    assert cases["ST-S2-1"]["STATUS"] == "SUBMITTED"
    assert cases["ST-S3-1"]["STATUS"] == "SUBMITTED LATE"
    assert cases["ST-S4-1"]["STATUS"] == "OVERDUE" and cases["ST-S4-1"]["DUE_DATE"] == D(2025, 2, 25)


def test_fatal_seven_day_clock_and_followup_due():
    cases, _ = run([version("S1", 1, 1, D(2025, 3, 2), AESLIFE="Y")], today=D(2025, 3, 3))
    case = cases["ST-S1-1"]
    assert case["FATAL_OR_LT"] and case["DUE_DATE"] == D(2025, 3, 9) and case["COMPLETE_DUE"] == D(2025, 3, 17)
    assert case["STATUS"] == "OPEN" and case["DAYS_TO_DUE"] == 6


def test_missing_awareness_date_uses_ae_start():
    cases, _ = run([version("S1", 1, 1, D(2025, 3, 4), AEAWDTC=None)])
    case = cases["ST-S1-1"]
    assert case["DAY0"] == D(2025, 3, 1) and case["DAY0_IMPUTED"] == "AE start date (awareness date missing)"


def test_followup_turns_non_serious_serious_clock_from_that_version():
    rows = [version("S1", 1, 1, D(2025, 3, 2), AESER="N", AESHOSP="N"),
            version("S1", 1, 2, D(2025, 3, 6), AESER="Y", AESHOSP="Y")]
    cases, fu = run(rows)
    case = cases["ST-S1-1"]
    assert case["INITIAL_VERSION"] == 2 and case["DAY0"] == D(2025, 3, 6) and case["DUE_DATE"] == D(2025, 3, 21)
    assert fu == []


def test_followup_turns_fatal_starts_seven_day_clock():
    rows = [version("S1", 1, 1, D(2025, 3, 2)),
            version("S1", 1, 2, D(2025, 3, 5)),  # no listed field changed: not a follow-up
            version("S1", 1, 3, D(2025, 3, 8), AESDTH="Y", AEOUT="FATAL", AETOXGR=5)]
    cases, fu = run(rows, today=D(2025, 3, 9))
    case = cases["ST-S1-1"]
    assert case["DUE_DATE"] == D(2025, 3, 17) and not case["FATAL_OR_LT"]
    assert len(fu) == 1
    (f,) = fu
    assert f["REPORT_TYPE"] == "follow-up 1" and f["_version"] == 3 and f["DAY0"] == D(2025, 3, 8)
    assert f["FATAL_OR_LT"] and f["DUE_DATE"] == D(2025, 3, 15)
    assert f["CHANGED_FIELDS"] == "AEOUT, AESDTH, AETOXGR"
    assert case["LATEST_REPORT_TYPE"] == "follow-up 1" and case["NEXT_DUE_DATE"] == D(2025, 3, 15)


def test_non_serious_to_fatal_on_followup_seven_day_initial():
    rows = [version("S1", 1, 1, D(2025, 3, 2), AESER="N", AESHOSP="N"),
            version("S1", 1, 2, D(2025, 3, 6), AESER="Y", AESHOSP="N", AESDTH="Y", AEOUT="FATAL")]
    cases, _ = run(rows)
    assert cases["ST-S1-1"]["DUE_DATE"] == D(2025, 3, 13) and cases["ST-S1-1"]["FATAL_OR_LT"]


def test_downgraded_case_kept_and_flagged():
    rows = [version("S1", 1, 1, D(2025, 3, 2)), version("S1", 1, 2, D(2025, 3, 4), AEREL="NOT RELATED"),
            version("S2", 1, 1, D(2025, 3, 2), AEREL="NOT RELATED")]
    cases, fu = run(rows)
    assert set(cases) == {"ST-S1-1"}
    assert cases["ST-S1-1"]["CASE_STATE"] == "DOWNGRADED" and cases["ST-S1-1"]["LATEST_VERSION"] == 2
    assert fu[0]["CHANGED_FIELDS"] == "AEREL" and not fu[0]["IS_SUSAR"]


def test_no_awareness_or_start_date_clock_runs_from_date_received():
    # pharmacovigilance.md: day 0 is the date the sponsor first has the minimum information; with no
    # awareness date and no AE start date that is, at the latest, the day the record was received.
    # The 15-day clock must run from it (a null day 0 left the case OPEN for ever, never OVERDUE).
    cases, _ = run([version("S1", 1, 1, D(2025, 3, 4), AEAWDTC=None, AESTDTC=None)], today=D(2025, 3, 25))
    case = cases["ST-S1-1"]
    assert case["DAY0"] == D(2025, 3, 4) and case["DUE_DATE"] == D(2025, 3, 19)
    assert case["STATUS"] == "OVERDUE" and case["DAYS_TO_DUE"] == -6
    assert case["DAY0_BASIS"] == case["DAY0_IMPUTED"] == (
        "date this version was received (awareness and AE start dates missing)")


def test_partial_awareness_date_day0_is_flagged_as_imputed():
    # design.md: a partial ISO 8601 date keeps its text and the derived date carries an imputation
    # flag; day 0 from AEAWDTC '2025-03' is imputed to 2025-03-01 (earliest, so the clock is never
    # late) and must say so, like a day 0 taken from the AE start date
    cases, _ = run([version("S1", 1, 1, D(2025, 3, 4), AEAWDTC="2025-03"), version("S2", 1, 1, D(2025, 3, 4))])
    assert cases["ST-S1-1"]["DAY0"] == D(2025, 3, 1) and cases["ST-S1-1"]["DUE_DATE"] == D(2025, 3, 16)
    assert cases["ST-S1-1"]["DAY0_IMPUTED"] == "awareness date partial (2025-03), imputed to its first day"
    assert cases["ST-S2-1"]["DAY0_IMPUTED"] is None


def test_complete_report_of_a_fatal_case_has_its_own_clock():
    # EU 536/2014 annex III / ICH E2A III.A.1: a fatal or life-threatening SUSAR is reported within
    # 7 days, and completed within 8 further days; submitting the initial report stops only its own clock.
    subs = pl.DataFrame({"CASE_ID": ["ST-S1-1", "ST-S2-1", "ST-S2-1"], "REPORT_TYPE": ["initial"] * 2 + ["complete"],
                         "SUBMITTED_ON": [D(2025, 3, 8), D(2025, 3, 8), D(2025, 3, 16)]})
    cases, _ = run([version("S1", 1, 1, D(2025, 3, 2), AESLIFE="Y"), version("S2", 1, 1, D(2025, 3, 2), AESLIFE="Y"),
                    version("S3", 1, 1, D(2025, 3, 2))], today=D(2025, 3, 16), submissions=subs)
    open_, done, other = cases["ST-S1-1"], cases["ST-S2-1"], cases["ST-S3-1"]
    assert (open_["STATUS"], open_["COMPLETE_DUE"], open_["COMPLETE_STATUS"], open_["COMPLETE_DAYS_TO_DUE"]) == (
        "SUBMITTED", D(2025, 3, 17), "DUE SOON", 1)
    assert open_["NEXT_DUE_DATE"] == D(2025, 3, 17)  # the initial is in: the complete report is next
    assert (done["COMPLETE_STATUS"], done["COMPLETE_SUBMITTED"], done["NEXT_DUE_DATE"]) == (
        "SUBMITTED", D(2025, 3, 16), None)
    assert other["COMPLETE_DUE"] is None and other["COMPLETE_STATUS"] is None
    late, _ = run([version("S1", 1, 1, D(2025, 3, 2), AESLIFE="Y")], today=D(2025, 3, 18), submissions=subs)
    assert late["ST-S1-1"]["COMPLETE_STATUS"] == "OVERDUE"


def test_case_turning_fatal_on_follow_up_owes_a_complete_report_after_that_report():
    rows = [version("S1", 1, 1, D(2025, 3, 2)),
            version("S1", 1, 2, D(2025, 3, 8), AESDTH="Y", AEOUT="FATAL", AETOXGR=5)]
    cases, fu = run(rows, today=D(2025, 3, 9))
    case = cases["ST-S1-1"]
    assert not case["FATAL_OR_LT"] and case["DUE_DATE"] == D(2025, 3, 17)
    assert fu[0]["DUE_DATE"] == D(2025, 3, 15)  # 7 days from the follow-up that made it fatal
    assert case["COMPLETE_DUE"] == D(2025, 3, 23) and case["NEXT_DUE_DATE"] == D(2025, 3, 15)
