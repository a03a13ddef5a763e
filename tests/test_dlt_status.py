"""DLT status, the run-in decision and the continuous-monitoring event on constructed subjects."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from safety.dates import derive_dates
from safety.dlt import CANDIDATE_COLUMNS, dlt_report, dlt_status, load_dlt_rules, runin_decision
from safety.toxicity_events import toxicity_events
from tests.test_dlt_candidates import ae, day, ex_rows

RULES = load_dlt_rules()
CUT_AFTER_WINDOW = date(2024, 4, 15)


def dm(subjects: list[str], cohort: str = "SAFETY RUN-IN", first: str = "2024-03-01") -> pl.DataFrame:
    return derive_dates(derive_dates(pl.DataFrame({
        "USUBJID": subjects, "COHORT": [cohort] * len(subjects), "RFXSTDTC": [first] * len(subjects),
        "DTHDTC": pl.Series([None] * len(subjects), dtype=pl.String),
    }), "RFXSTDTC"), "DTHDTC")


def ex(subjects: list[str], ela: float = 345.0, ela_days: int = 56) -> pl.DataFrame:
    rows = []
    for s in subjects:
        rows += [(s, 1, "ELACESTRANT", ela, day(1), day(ela_days), None),
                 (s, 2, "EXEMESTANE", 25.0, day(1), day(56), None)]
    return ex_rows(rows)


def cands(rows: list[tuple[str, str]]) -> pl.DataFrame:
    """(USUBJID, CANDIDATE_ID) -> a candidates frame with the other columns empty."""
    frame = pl.DataFrame(rows, schema={"USUBJID": pl.String, "CANDIDATE_ID": pl.String}, orient="row")
    return frame.with_columns(
        [pl.lit(None, t).alias(c) for c, t in CANDIDATE_COLUMNS.items() if c not in frame.columns]
    ).select(list(CANDIDATE_COLUMNS))


def decisions(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(cid, dec, "DMC chair", datetime(2024, 4, 1, 10), "") for cid, dec in rows],
        schema={"CANDIDATE_ID": pl.String, "DECISION": pl.String, "BY": pl.String, "AT": pl.Datetime("us"),
                "COMMENT": pl.String}, orient="row",
    )


def status_of(subjects, candidates=None, confirmations=None, cut=CUT_AFTER_WINDOW, ex_frame=None, ds=None):
    candidates = candidates if candidates is not None else cands([])
    return dlt_status(dm(subjects), ex_frame if ex_frame is not None else ex(subjects), candidates, confirmations,
                      RULES, cut, ds=ds)


@pytest.mark.parametrize(
    ("cut", "expected"),
    [(date(2024, 3, 27), "IN WINDOW"), (date(2024, 3, 28), "EVALUABLE, NO DLT")],
)
def test_in_window_until_day_28(cut, expected):
    assert status_of(["S1"], cut=cut)["DLTSTAT"].to_list() == [expected]


def test_only_confirmed_candidates_count():
    c = cands([("S1", "S1:DLT5:AE:1"), ("S2", "S2:DLT5:AE:1"), ("S3", "S3:DLT5:AE:1")])
    conf = decisions([("S1:DLT5:AE:1", "CONFIRMED"), ("S2:DLT5:AE:1", "REJECTED")])
    out = status_of(["S1", "S2", "S3"], c, conf)
    assert out.select("USUBJID", "DLTSTAT", "N_CAND", "N_PENDING", "N_CONFIRMED").rows() == [
        ("S1", "EVALUABLE, DLT", 1, 0, 1),
        ("S2", "EVALUABLE, NO DLT", 1, 0, 0),
        ("S3", "EVALUABLE, NO DLT", 1, 1, 0),
    ]
    assert out["DLTRSN"].to_list() == ["confirmed DLT S1:DLT5:AE:1", None,
                                       "1 candidate(s) awaiting committee review"]


def test_latest_decision_stands():
    conf = pl.concat([decisions([("S1:X", "CONFIRMED")]),
                      decisions([("S1:X", "REJECTED")]).with_columns(pl.lit(datetime(2024, 4, 2)).alias("AT"))])
    assert status_of(["S1"], cands([("S1", "S1:X")]), conf)["DLTSTAT"].to_list() == ["EVALUABLE, NO DLT"]


def test_latest_decision_on_a_tied_time_is_the_later_row():
    # Decisions arrive in the order they were recorded (store id). Two for one candidate at the
    # same AT: the later row stands, every time (a tie must not be broken by an unstable sort).
    rows = [(f"S{i % 7}:X", "CONFIRMED") for i in range(200)] + [(f"S{i}:X", "REJECTED") for i in range(7)]
    subjects = [f"S{i}" for i in range(7)]
    out = status_of(subjects, cands([(s, f"{s}:X") for s in subjects]), decisions(rows))
    assert out["DLTSTAT"].to_list() == ["EVALUABLE, NO DLT"] * 7


def test_low_doses_without_dlt_is_not_evaluable_but_with_dlt_is_evaluable():
    # elacestrant only days 1-20: 20 of 28 doses
    frame = ex(["S1", "S2"], ela_days=20)
    c = cands([("S2", "S2:DLT9:EX:1")])
    out = status_of(["S1", "S2"], c, decisions([("S2:DLT9:EX:1", "CONFIRMED")]), ex_frame=frame)
    assert out.select("USUBJID", "DLTSTAT", "MINDOSES").rows() == [
        ("S1", "NOT EVALUABLE", 20), ("S2", "EVALUABLE, DLT", 20)
    ]
    assert out["DLTRSN"][0] == "fewer than 21 of 28 planned doses (ELACESTRANT 20/28; EXEMESTANE 28/28) without a confirmed DLT"


def test_21_doses_is_enough():
    assert status_of(["S1"], ex_frame=ex(["S1"], ela_days=21))["DLTSTAT"].to_list() == ["EVALUABLE, NO DLT"]


def test_left_early_for_other_reason_not_evaluable_even_mid_window():
    ds = derive_dates(pl.DataFrame({"USUBJID": ["S1", "S2"], "DSSEQ": [1, 1], "DSDECOD": ["WITHDRAWAL BY SUBJECT"] * 2,
                                    "DSSTDTC": [day(10), day(10)], "DSDTC": [None, None]},
                                   schema_overrides={"DSDTC": pl.String}), "DSSTDTC")
    c = cands([("S2", "S2:DLT5:AE:4")])
    out = status_of(["S1", "S2"], c, decisions([("S2:DLT5:AE:4", "CONFIRMED")]), cut=date(2024, 3, 15), ds=ds)
    # S2: a confirmed DLT in the window makes the subject evaluable whatever happened after
    assert out.select("USUBJID", "DLTSTAT").rows() == [("S1", "NOT EVALUABLE"), ("S2", "EVALUABLE, DLT")]
    assert out["DLTRSN"][0] == "left the window early on 2024-03-10 (WITHDRAWAL BY SUBJECT) without a confirmed DLT"


def test_dose_level_from_elacestrant_dose():
    frame = pl.concat([ex(["S1"]), ex(["S2"], ela=258.0), ex(["S3"], ela=172.0), ex(["S4"], ela=300.0)])
    assert status_of(["S1", "S2", "S3", "S4"], ex_frame=frame)["DOSELVL"].to_list() == [0, -1, -2, None]


def runin(level0: list[str], level_minus1: list[str] = (), pending: tuple[str, ...] = ()):
    """level lists of 'E' evaluable no DLT, 'D' confirmed DLT, 'W' in window, 'N' not evaluable."""
    subjects, frames, cand_rows, conf_rows, first = [], [], [], [], []
    for level, codes, dose in ((0, level0, 345.0), (-1, level_minus1, 258.0)):
        for i, code in enumerate(codes):
            s = f"L{level}-{i + 1:02d}{code}"
            subjects.append(s)
            frames.append(ex([s], ela=dose, ela_days=10 if code == "N" else 56))
            first.append("2024-03-01" if code != "W" else "2024-04-01")
            if code == "D":
                cand_rows.append((s, f"{s}:C"))
                conf_rows.append((f"{s}:C", "CONFIRMED"))
            if s in pending or code in pending:
                cand_rows.append((s, f"{s}:P"))
    demog = derive_dates(pl.DataFrame({"USUBJID": subjects, "COHORT": ["SAFETY RUN-IN"] * len(subjects),
                                       "RFXSTDTC": first, "DTHDTC": pl.Series([None] * len(subjects), dtype=pl.String)}),
                         "RFXSTDTC")
    exf = pl.concat(frames).with_columns(
        pl.when(pl.col("USUBJID").str.ends_with("W")).then(pl.lit("2024-04-01")).otherwise("EXSTDTC").alias("EXSTDTC")
    )
    st = dlt_status(demog, exf, cands(cand_rows), decisions(conf_rows) if conf_rows else None, RULES,
                    date(2024, 4, 10))
    return runin_decision(st, demog, RULES)


@pytest.mark.parametrize(
    ("level0", "level_minus1", "decision", "level", "n_eval", "n_dlt"),
    [
        ("EEEEE", "", "PENDING", 0, 5, 0),
        ("EEEEEW", "", "PENDING", 0, 5, 0),
        ("EEEEEN", "", "PENDING", 0, 5, 0),  # the non-evaluable subject is replaced
        ("EEEEEE", "", "CONFIRM DOSE", 0, 6, 0),
        ("DEEEEE", "", "CONFIRM DOSE", 0, 6, 1),
        ("DEEEEEDD", "", "CONFIRM DOSE", 0, 6, 1),  # only the first six count
        ("DEEEE", "", "PENDING", 0, 5, 1),
        ("DD", "", "DE-ESCALATE", 0, 2, 2),  # early settle among fewer than 6
        ("DDEEEE", "", "DE-ESCALATE", 0, 6, 2),
        ("DDDEEE", "", "DE-ESCALATE", 0, 6, 3),
        ("DD", "EEE", "PENDING", -1, 3, 0),
        ("DD", "EEEEEE", "CONFIRM DOSE", -1, 6, 0),
        ("DD", "DEEEEE", "CONFIRM DOSE", -1, 6, 1),
        ("DD", "DD", "STOP", -1, 2, 2),
        ("DDEEEE", "EDEEED", "STOP", -1, 6, 2),
    ],
)
def test_runin_every_count_path(level0, level_minus1, decision, level, n_eval, n_dlt):
    got = runin(list(level0), list(level_minus1))
    assert (got.decision, got.dose_level, got.n_evaluable, got.n_dlt) == (decision, level, n_eval, n_dlt)
    assert len(got.subjects) == n_eval and len(got.dlt_subjects) == n_dlt


def test_runin_not_confirmed_while_candidates_await_review():
    got = runin(list("EEEEEE"), pending=("L0-03E",))
    assert got.decision == "PENDING"
    assert got.sentence == ("Pending at dose level 0: 6 of 6 evaluable, 0 DLT(s); candidates awaiting committee "
                            "review for L0-03E.")


def test_runin_not_confirmed_while_an_earlier_non_evaluable_subject_awaits_review():
    # protocol.md "Safety run-in": the first 6 DLT-evaluable subjects count. X (dosed first) left
    # the window for an adverse event with a candidate awaiting the committee; if confirmed, X is
    # evaluable with a DLT and among the first 6, giving 2 DLTs (de-escalate). The dose must not
    # be confirmed meanwhile.
    subjects = ["A-X", "B-D", "C-E", "D-E", "E-E", "F-E", "G-E", "H-E"]
    first = ["2024-03-01"] + ["2024-03-02"] * 6 + ["2024-03-03"]
    demog = derive_dates(pl.DataFrame({
        "USUBJID": subjects, "COHORT": ["SAFETY RUN-IN"] * 8, "RFXSTDTC": first,
        "DTHDTC": pl.Series([None] * 8, dtype=pl.String)}), "RFXSTDTC")
    exf = pl.concat([ex([s]).with_columns(pl.lit(f).alias("EXSTDTC")) for s, f in zip(subjects, first, strict=True)])
    ds = derive_dates(pl.DataFrame({"USUBJID": ["A-X"], "DSSEQ": [1], "DSDECOD": ["ADVERSE EVENT"],
                                    "DSSTDTC": [day(10)], "DSDTC": [None]}, schema_overrides={"DSDTC": pl.String}),
                      "DSSTDTC")
    c = cands([("A-X", "A-X:C"), ("B-D", "B-D:C")])
    st = dlt_status(demog, exf, c, decisions([("B-D:C", "CONFIRMED")]), RULES, date(2024, 4, 10), ds=ds)
    assert st.filter(pl.col("USUBJID") == "A-X")["DLTSTAT"].to_list() == ["NOT EVALUABLE"]
    got = runin_decision(st, demog, RULES)
    assert (got.decision, got.n_evaluable, got.n_dlt) == ("PENDING", 6, 1)
    assert got.levels[0].awaiting_review == ("A-X",)
    both = dlt_status(demog, exf, c, decisions([("B-D:C", "CONFIRMED"), ("A-X:C", "CONFIRMED")]), RULES,
                      date(2024, 4, 10), ds=ds)
    assert runin_decision(both, demog, RULES).decision == "DE-ESCALATE"
    # a pending candidate of a subject dosed after the sixth counted one (G-E) changes nothing
    late = dlt_status(demog, exf, cands([("H-E", "H-E:C"), ("B-D", "B-D:C")]), decisions([("B-D:C", "CONFIRMED")]),
                      RULES, date(2024, 4, 10), ds=ds)
    assert runin_decision(late, demog, RULES).decision == "CONFIRM DOSE"


def test_runin_sentences():
    assert runin(list("DEEEEE")).sentence == "Dose level 0 confirmed: 1 DLT(s) among the first 6 evaluable subjects."
    assert runin(list("DD")).sentence == "De-escalate from dose level 0 to -1: 2 DLTs among 2 evaluable subjects."
    assert runin(list("DD"), list("DD")).sentence.startswith("level 0: 2 DLT(s) among 2 evaluable -> DE-ESCALATE. Stop")


def test_runin_ignores_expansion_subjects():
    subjects = [f"S{i}" for i in range(6)]
    st = status_of(subjects)
    assert runin_decision(st, dm(subjects, cohort="EXPANSION"), RULES).decision == "PENDING"
    assert runin_decision(st, dm(subjects), RULES).decision == "CONFIRM DOSE"


def test_dlt_report_puts_candidates_beside_status():
    c = cands([("S1", "S1:DLT5:AE:1")])
    st = status_of(["S1", "S2"], c)
    rep = dlt_report(st, c)
    assert rep.select("USUBJID", "DLTSTAT", "CANDIDATE_ID", "DECISION").rows() == [
        ("S1", "EVALUABLE, NO DLT", "S1:DLT5:AE:1", "AWAITING REVIEW"), ("S2", "EVALUABLE, NO DLT", None, None)
    ]


def test_toxicity_events():
    subjects = ["A", "B", "C", "D", "E", "F", "G"]
    aes = ae([
        ("A", 3, "Colitis", 3, "POSSIBLE", None, None, day(56), None),  # day 56: in
        ("B", 3, "Colitis", 3, "POSSIBLE", None, None, day(57), None),  # day 57: out
        ("C", 3, "Colitis", 3, "NOT RELATED", None, None, day(5), None),  # unrelated
        ("D", 3, "Colitis", 2, "RELATED", None, None, day(5), None),  # grade 2
        ("G", 8, "Colitis", 3, "RELATED", None, None, "2024-04", None),  # partial: April straddles day 56
    ])
    ds = derive_dates(pl.DataFrame({"USUBJID": ["E", "F"], "DSSEQ": [2, 2],
                                    "DSDECOD": ["ADVERSE EVENT", "WITHDRAWAL BY SUBJECT"],
                                    "DSSTDTC": [day(20), day(20)], "DSDTC": [None, None]},
                                   schema_overrides={"DSDTC": pl.String}), "DSSTDTC")
    out = toxicity_events(aes, dm(subjects), ex(subjects), ds, RULES, date(2024, 4, 25))  # day 56 = 2024-04-25
    assert out.select("USUBJID", "TOXEVFL", "TOXEVSRC", "TOXEVAL").rows() == [
        ("A", "Y", "AE:3", "Y"), ("B", "N", None, "Y"), ("C", "N", None, "Y"), ("D", "N", None, "Y"),
        ("E", "Y", "DS:2", "Y"), ("F", "N", None, "N"), ("G", "N", None, "Y"),
    ]
    assert out.filter(pl.col("USUBJID") == "G")["TOXREVIEW"].to_list() == ["AE:8 start 2024-04"]
    early = toxicity_events(aes, dm(subjects), ex(subjects), ds, RULES, date(2024, 4, 24))
    assert early.filter(pl.col("USUBJID") == "B")["TOXEVAL"].to_list() == ["N"]


def test_same_day_departures_are_chosen_by_rule_not_row_order():
    # On one day, DS records for an administrative reason and for an adverse event (and, for S2,
    # the death date in DM): the toxicity discontinuation is the departure whatever the row
    # order, so the continuous-monitoring event is counted every time.
    rows = {"USUBJID": ["S1", "S1", "S2", "S2"], "DSSEQ": [3, 4, 5, 2],
            "DSDECOD": ["WITHDRAWAL BY SUBJECT", "ADVERSE EVENT", "ADVERSE EVENT", "PHYSICIAN DECISION"],
            "DSSTDTC": [day(20)] * 4, "DSDTC": [None] * 4}
    died = dm(["S1", "S2"]).with_columns(pl.when(pl.col("USUBJID") == "S2").then(pl.lit(day(20))).alias("DTHDTC"))
    died = derive_dates(died.drop("DTHDT", "DTHDTF", "DTHDTM", strict=False), "DTHDTC")
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2]):
        ds = derive_dates(pl.DataFrame(rows, schema_overrides={"DSDTC": pl.String})[order], "DSSTDTC")
        status = dlt_status(died, ex(["S1", "S2"]), cands([]), None, RULES, CUT_AFTER_WINDOW, ds=ds)
        assert status.select("USUBJID", "DEPARTRSN", "DEPARTSRC").rows() == [
            ("S1", "ADVERSE EVENT", "DS:4"), ("S2", "ADVERSE EVENT", "DS:5")]
        events = toxicity_events(ae([]), died, ex(["S1", "S2"]), ds, RULES, date(2024, 4, 25))
        assert events.select("USUBJID", "TOXEVFL", "TOXEVSRC").rows() == [("S1", "Y", "DS:4"), ("S2", "Y", "DS:5")]


def test_open_ended_dosing_record_is_ongoing_to_the_data_cut():
    # An EDC leaves the current dosing period without an end date: read as one day of dosing, it
    # made a subject still on both drugs look as if they had taken 1 of 28 doses (not evaluable).
    from safety.dlt.exposure import dosing_periods

    open_ex = ex_rows([("S1", 1, "ELACESTRANT", 345.0, day(1), None, None),
                       ("S1", 2, "EXEMESTANE", 25.0, day(1), day(9), None),
                       ("S1", 3, "EXEMESTANE", 25.0, day(10), None, None)])
    out = status_of(["S1"], ex_frame=open_ex)
    assert out.select("DOSES", "DLTSTAT").row(0) == ("ELACESTRANT 28/28; EXEMESTANE 28/28", "EVALUABLE, NO DLT")
    # an open record before a later one ends the day before it; the last runs to the cut
    gap = ex_rows([("S1", 1, "ELACESTRANT", 345.0, day(1), None, None),
                   ("S1", 2, "ELACESTRANT", 345.0, day(15), None, None)])
    periods = dosing_periods(gap, RULES, date(2024, 3, 20)).collect().sort("EXSEQ")
    assert periods["EXENDT"].to_list() == [date(2024, 3, 14), date(2024, 3, 20)]
    # without a data cut an open record is its start day only (as before)
    assert dosing_periods(gap, RULES).collect().sort("EXSEQ")["EXENDT"].to_list() == [date(2024, 3, 14), date(2024, 3, 15)]
