"""DLT candidates on constructed subjects, one edge per test (protocol.md "DLT definition")."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from safety.dates import derive_dates
from safety.dlt import dlt_candidates, load_dlt_rules

RULES = load_dlt_rules()
D1 = date(2024, 3, 1)  # first dose: window 2024-03-01 .. 2024-03-28


def day(n: int) -> str:
    """ISO date of study day n (day 1 = first dose)."""
    return (D1 + timedelta(days=n - 1)).isoformat()


def dm(*subjects: str) -> pl.DataFrame:
    return derive_dates(pl.DataFrame({"USUBJID": list(subjects), "RFXSTDTC": [day(1)] * len(subjects)}),
                        "RFXSTDTC", "first")


def ex_full(*subjects: str, days: int = 56) -> pl.DataFrame:
    rows = [(s, i + 1, drug, dose, day(1), day(days), None)
            for s in subjects for i, (drug, dose) in enumerate([("ELACESTRANT", 345.0), ("EXEMESTANE", 25.0)])]
    return ex_rows(rows)


def ex_rows(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"USUBJID": pl.String, "EXSEQ": pl.Int64, "EXTRT": pl.String, "EXDOSE": pl.Float64,
                                      "EXSTDTC": pl.String, "EXENDTC": pl.String, "EXADJ": pl.String}, orient="row")


AE_SCHEMA = {"USUBJID": pl.String, "AESEQ": pl.Int64, "AEDECOD": pl.String, "AETERM": pl.String, "AETOXGR": pl.Int64,
             "AEREL": pl.String, "AEREL2": pl.String, "AEOUT": pl.String, "AESTDTC": pl.String, "AEENDTC": pl.String}


def ae(rows: list[tuple]) -> pl.DataFrame:
    """rows: (USUBJID, AESEQ, AEDECOD, AETOXGR, AEREL, AEREL2, AEOUT, AESTDTC, AEENDTC)."""
    frame = pl.DataFrame([(r[0], r[1], r[2], r[2], *r[3:]) for r in rows], schema=AE_SCHEMA, orient="row")
    return derive_dates(derive_dates(frame, "AESTDTC", "first"), "AEENDTC", "last")


LB_SCHEMA = {"USUBJID": pl.String, "LBSEQ": pl.Int64, "LBTESTCD": pl.String, "LBSTRESN": pl.Float64,
             "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64, "LBDTC": pl.String, "ATOXDSCL": pl.String,
             "ATOXGRL": pl.Int64, "ATOXDSCH": pl.String, "ATOXGRH": pl.Int64, "ABLFL": pl.String}


def lb(rows: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=LB_SCHEMA, orient="row")
    return derive_dates(frame, "LBDTC", "first").with_columns(pl.col("LBDTM").cast(pl.Datetime("us")))


def neut(subject: str, seq: int, study_day: int, grade: int, blfl: str | None = None) -> tuple:
    return (subject, seq, "NEUT", 0.3, 2.0, 7.5, day(study_day), "Neutrophil count decreased", grade, None, None, blfl)


def liver(subject: str, seq: int, test: str, study_day: int, value: float, uln: float = 40.0) -> tuple:
    return (subject, seq, test, value, 0.0, uln, day(study_day), None, None, None, None, None)


NO_LB = lb([])
NO_AE = ae([])


def candidates(ae_frame=NO_AE, lb_frame=NO_LB, ex_frame=None, subjects=("S1",)) -> pl.DataFrame:
    return dlt_candidates(ae_frame, lb_frame, ex_frame if ex_frame is not None else ex_full(*subjects),
                          dm(*subjects), RULES)


@pytest.mark.parametrize(
    ("onset_day", "expected_rules"),
    [(1, ["DLT5"]), (28, ["DLT5"]), (29, []), (0, [])],
)
def test_window_day_28_is_in_and_day_29_out(onset_day, expected_rules):
    out = candidates(ae([("S1", 1, "Pneumonitis", 3, "POSSIBLE", None, None, day(onset_day), day(onset_day + 10))]))
    assert out["DLT_RULE"].to_list() == expected_rules


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2024-03-10T08:00", "2024-03-13T07:00", []),  # 71 hours: excepted
        ("2024-03-10T08:00", "2024-03-13T08:00", []),  # 72 hours: "72 hours or less" still excepted
        ("2024-03-10T08:00", "2024-03-13T09:00", [("DLT5", 73.0, "hours")]),  # 73 hours
        ("2024-03-10", "2024-03-13", []),  # dates only: 3 days = 72 hours
        ("2024-03-10", "2024-03-14", [("DLT5", 4.0, "days")]),
    ],
)
def test_grade3_nausea_exception_by_duration(start, end, expected):
    out = candidates(ae([("S1", 7, "Nausea", 3, "PROBABLE", None, None, start, end)]))
    assert [(r["DLT_RULE"], r["DURATION"], r["DURUNIT"]) for r in out.iter_rows(named=True)] == expected


def test_grade3_nausea_without_end_date_is_pending_not_excepted():
    out = candidates(ae([("S1", 7, "Nausea", 3, "Y", None, None, "2024-03-10T08:00", None)]))
    assert out.select("DLT_RULE", "CANDSTAT").rows() == [("DLT5", "DURATION PENDING")]


def test_grade4_nausea_is_not_excepted_whatever_its_duration():
    out = candidates(ae([("S1", 7, "Nausea", 4, "Y", None, None, "2024-03-10T08:00", "2024-03-10T20:00")]))
    assert out["DLT_RULE"].to_list() == ["DLT5"]


@pytest.mark.parametrize(
    ("rel", "rel2", "expected"),
    [
        ("NOT RELATED", "UNLIKELY", []),
        ("NOT RELATED", "possible", ["DLT5"]),  # exemestane relatedness counts too, any case
        ("Definite", None, ["DLT5"]),
    ],
)
def test_relatedness_to_either_drug(rel, rel2, expected):
    out = candidates(ae([("S1", 3, "Colitis", 4, rel, rel2, None, day(5), day(9))]))
    assert out["DLT_RULE"].to_list() == expected


def test_unrelated_grade4_events_are_not_candidates():
    out = candidates(ae([
        ("S1", 1, "Colitis", 4, "NOT RELATED", "NOT RELATED", None, day(5), day(9)),
        ("S1", 2, "Febrile neutropenia", 4, "N", "N", None, day(6), day(8)),
    ]))
    assert out.is_empty()


@pytest.mark.parametrize(
    ("rel", "rel2", "reason"),
    [("NOT RELATED", None, "relatedness to exemestane not recorded"),
     (None, "UNLIKELY", "relatedness to elacestrant not recorded")],
)
def test_causality_missing_for_one_drug_is_shown_for_review(rel, rel2, reason):
    # protocol.md "DLT definition": at least possibly related to EITHER drug. With one drug's
    # relatedness not recorded the event may be related to it: shown for review, not dropped.
    out = candidates(ae([("S1", 3, "Colitis", 4, rel, rel2, None, day(5), day(9))]))
    assert out.select("DLT_RULE", "CANDSTAT", "REVIEW", "REVIEWRSN").rows() == [("DLT5", "REVIEW", "Y", reason)]


def test_missing_causality_is_shown_for_review():
    out = candidates(ae([("S1", 3, "Colitis", 3, None, None, None, day(5), day(9))]))
    assert out.select("DLT_RULE", "CANDSTAT", "REVIEW", "REVIEWRSN").rows() == [
        ("DLT5", "REVIEW", "Y", "relatedness to both drugs not recorded")
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2024-03", [("DLT5", "REVIEW")]),  # March 29-31 lie outside the window: not certainly in
        ("2024-02", []),  # entirely before the first dose
        ("2024-04", []),  # entirely after the window
        ("2024", [("DLT5", "REVIEW")]),
        ("2024-03-15", [("DLT5", "CRITERIA MET")]),
    ],
)
def test_partial_start_date(start, expected):
    out = candidates(ae([("S1", 4, "Rash maculo-papular", 3, "RELATED", None, None, start, None)]))
    assert out.select("DLT_RULE", "CANDSTAT").rows() == expected
    if expected and expected[0][1] == "REVIEW":
        assert out["REVIEWRSN"][0] == f"start date '{start}' cannot be placed in the DLT window"


@pytest.mark.parametrize(("first_dose", "expected"), [("2023-02-01", "CRITERIA MET"), ("2024-02-01", "REVIEW")])
def test_partial_month_placed_only_when_every_day_is_inside(first_dose, expected):
    # window first dose .. +27 days: all of February 2023 fits; 2024-02-29 does not
    start = first_dose[:7]
    out = dlt_candidates(
        ae([("S1", 1, "Colitis", 3, "Y", None, None, start, None)]), NO_LB,
        ex_rows([("S1", 1, "ELACESTRANT", 345.0, first_dose, "2024-12-31", None),
                 ("S1", 2, "EXEMESTANE", 25.0, first_dose, "2024-12-31", None)]),
        derive_dates(pl.DataFrame({"USUBJID": ["S1"], "RFXSTDTC": [first_dose]}), "RFXSTDTC"), RULES,
    )
    assert out["CANDSTAT"].to_list() == [expected]


@pytest.mark.parametrize(("recovery_day", "expected"), [(12, []), (13, [("DLT1", 8.0, "CRITERIA MET")])])
def test_grade4_neutropenia_7_vs_8_days(recovery_day, expected):
    rows = [neut("S1", 1, 0, 0, "Y"), neut("S1", 2, 5, 4), neut("S1", 3, 9, 4), neut("S1", 4, recovery_day, 3)]
    out = candidates(lb_frame=lb(rows))
    assert out.select("DLT_RULE", "DURATION", "CANDSTAT").rows() == expected
    if expected:
        assert out["SRC"].to_list() == ["LB:2,3,4"]
        assert out["CANDIDATE_ID"].to_list() == ["S1:DLT1:LB:2:Neutrophil count decreased (low)"]


def test_grade4_neutropenia_ongoing_is_shown_pending_then_met():
    early = candidates(lb_frame=lb([neut("S1", 2, 5, 4), neut("S1", 3, 9, 4)]))
    assert early.select("DLT_RULE", "DURATION", "CANDSTAT").rows() == [("DLT1", 4.0, "DURATION PENDING")]
    # still grade 4 seven days after onset: the first result below must come later, so > 7 days
    later = candidates(lb_frame=lb([neut("S1", 2, 5, 4), neut("S1", 3, 12, 4)]))
    assert later.select("DLT_RULE", "CANDSTAT").rows() == [("DLT1", "CRITERIA MET")]
    assert later["CANDIDATE_ID"].to_list() == early["CANDIDATE_ID"].to_list()  # same event, same id


def test_grade4_neutropenia_result_without_a_date_does_not_hide_the_episode():
    # protocol.md "DLT definition" 1 and lab durations: consecutive dated results make the
    # duration. A grade 4 result with no usable date (LBDTC missing or impossible) cannot be
    # placed in the sequence; it must not swallow the dated 10-day grade 4 episode.
    undated = (*neut("S1", 5, 5, 4)[:6], None, *neut("S1", 5, 5, 4)[7:])
    rows = [neut("S1", 1, 0, 0, "Y"), neut("S1", 2, 5, 4), neut("S1", 3, 9, 4), neut("S1", 4, 15, 3), undated]
    out = candidates(lb_frame=lb(rows))
    assert out.select("DLT_RULE", "DLTSTDT", "DURATION", "CANDSTAT", "SRC").rows() == [
        ("DLT1", date(2024, 3, 5), 10.0, "CRITERIA MET", "LB:2,3,4")
    ]


def hypok(seq: int, study_day: int, grade: int, blfl: str | None = None) -> tuple:
    return ("S1", seq, "K", 2.8, 3.5, 5.0, day(study_day), "Hypokalemia", grade, None, None, blfl)


def test_grade3_lab_still_above_grade1_after_7_days_is_met_while_ongoing():
    # protocol.md "DLT definition" 5: a grade 3 laboratory abnormality is excepted only if it
    # returns to grade 1 or baseline within 7 days. Grade 3 on day 5, still grade 2 on day 20
    # (no later result): it has not returned within 7 days, so the criterion is met already,
    # with 15 days so far, not "pending, 0 days".
    out = candidates(lb_frame=lb([hypok(1, 0, 0, "Y"), hypok(2, 5, 3), hypok(3, 10, 2), hypok(4, 20, 2)]))
    assert out.select("DLT_RULE", "DURATION", "DURUNIT", "CANDSTAT").rows() == [
        ("DLT5-LAB", 15.0, "days so far (ongoing)", "CRITERIA MET")
    ]
    # back to grade 1 on day 12 (7 days): excepted
    assert candidates(lb_frame=lb([hypok(1, 0, 0, "Y"), hypok(2, 5, 3), hypok(3, 10, 2), hypok(4, 12, 1)])).is_empty()


def test_grade4_neutropenia_starting_day_29_is_out():
    assert candidates(lb_frame=lb([neut("S1", 2, 29, 4), neut("S1", 3, 40, 3)])).is_empty()


@pytest.mark.parametrize(("recovery_day", "expected"), [(11, []), (12, [("DLT6", 8.0)])])
def test_alt_above_5x_for_7_vs_8_days(recovery_day, expected):
    rows = [liver("S1", 1, "ALT", 4, 240.0), liver("S1", 2, "ALT", 8, 220.0), liver("S1", 3, "ALT", recovery_day, 200.0)]
    out = candidates(lb_frame=lb(rows))  # 6x, 5.5x, then 5.0x = not above 5x: recovered
    assert out.select("DLT_RULE", "DURATION").rows() == expected


@pytest.mark.parametrize(("value", "expected"), [(320.0, []), (321.0, ["DLT6-8X"])])
def test_ast_above_8x_once(value, expected):
    out = candidates(lb_frame=lb([liver("S1", 1, "SGOT", 10, value), liver("S1", 2, "SGOT", 11, 40.0)]))
    assert out["DLT_RULE"].to_list() == expected


def test_platelets_grade4_any_duration_and_grade3_only_with_bleeding():
    plat = [("S1", 1, "PLAT", 20.0, 150.0, 400.0, day(6), "Platelet count decreased", 4, None, None, None),
            ("S1", 2, "PLAT", 100.0, 150.0, 400.0, day(7), "Platelet count decreased", 1, None, None, None),
            ("S2", 1, "PLAT", 40.0, 150.0, 400.0, day(6), "Platelet count decreased", 3, None, None, None),
            ("S3", 1, "PLAT", 40.0, 150.0, 400.0, day(6), "Platelet count decreased", 3, None, None, None)]
    bleed = ae([("S2", 5, "Gastric hemorrhage", 2, "POSSIBLE", None, None, day(8), day(10))])
    out = candidates(bleed, lb(plat), subjects=("S1", "S2", "S3"))
    assert out.select("USUBJID", "DLT_RULE").rows() == [("S1", "DLT3"), ("S2", "DLT3-BLEED")]


def test_grade5_with_related_cause():
    out = candidates(ae([("S1", 9, "Sepsis", 4, "POSSIBLE", None, "FATAL", day(20), day(21))]))
    assert out["DLT_RULE"].to_list() == ["DLT5", "DLT8"]


def test_lipid_class_effect_is_excepted_at_grade3():
    out = candidates(ae([("S1", 2, "Hypertriglyceridemia", 3, "Y", None, None, day(3), None)]))
    assert out.is_empty()


@pytest.mark.parametrize(("restart_day", "expected"), [(16, []), (17, [("DLT9", 15.0)])])
def test_interruption_14_vs_15_days(restart_day, expected):
    # elacestrant days 1-1, held for toxicity days 2..restart-1, then restarted
    ex = ex_rows([
        ("S1", 1, "ELACESTRANT", 345.0, day(1), day(1), None),
        ("S1", 2, "ELACESTRANT", 0.0, day(2), day(restart_day - 1), "ADVERSE EVENT"),
        ("S1", 3, "ELACESTRANT", 258.0, day(restart_day), day(56), "ADVERSE EVENT"),
        ("S1", 4, "EXEMESTANE", 25.0, day(1), day(56), None),
    ])
    out = candidates(ex_frame=ex).filter(pl.col("DLT_RULE") == "DLT9")
    got = out.filter(pl.col("TERM") == "ELACESTRANT interrupted").select("DLT_RULE", "DURATION").rows()
    assert got == expected
    # 14 or 15 days held => at most 14 or 13 doses of 28: fewer than 75% in both cases
    assert out.filter(pl.col("TERM") == "ELACESTRANT doses below 75%")["SRC"].to_list() == ["EX:2"]
    # EX:2 starts both candidates; each has its own id, so a committee decision names one of them
    assert out["CANDIDATE_ID"].null_count() == 0 and out["CANDIDATE_ID"].n_unique() == out.height


def test_interruption_for_another_reason_is_not_a_candidate():
    ex = ex_rows([
        ("S1", 1, "ELACESTRANT", 345.0, day(1), day(3), None),
        ("S1", 2, "ELACESTRANT", 0.0, day(4), day(20), "DRUG SUPPLY"),
        ("S1", 3, "ELACESTRANT", 345.0, day(21), day(56), None),
        ("S1", 4, "EXEMESTANE", 25.0, day(1), day(56), None),
    ])
    assert candidates(ex_frame=ex).is_empty()


def test_gap_without_reason_is_flagged_for_review():
    ex = ex_rows([
        ("S1", 1, "EXEMESTANE", 25.0, day(1), day(3), None),
        ("S1", 2, "EXEMESTANE", 25.0, day(20), day(56), None),
        ("S1", 3, "ELACESTRANT", 345.0, day(1), day(56), None),
    ])
    out = candidates(ex_frame=ex)
    assert sorted(out.select("DLT_RULE", "TERM", "CANDSTAT", "DURATION").rows()) == [
        ("DLT9", "EXEMESTANE doses below 75%", "REVIEW", 12.0),
        ("DLT9", "EXEMESTANE interrupted", "REVIEW", 16.0),
    ]
    # No EX record marks the gap: its start date names it, so the committee can decide on each.
    assert sorted(out["CANDIDATE_ID"].to_list()) == [
        "S1:DLT9:EX:start 2024-03-04:EXEMESTANE doses below 75%",
        "S1:DLT9:EX:start 2024-03-04:EXEMESTANE interrupted",
    ]


def test_hys_law_case_in_window_is_a_candidate():
    rows = [liver("S1", 1, "ALT", 10, 130.0), liver("S1", 2, "BILI", 20, 42.0, uln=20.0),
            liver("S1", 3, "ALP", 18, 150.0, uln=100.0)]
    out = candidates(lb_frame=lb(rows))
    assert out.select("DLT_RULE", "SRC", "DLTSTDT").rows() == [("DLT7", "LB:1,2,3", date(2024, 3, 10))]


def test_candidate_columns_carry_version_and_sources():
    out = candidates(ae([("S1", 12, "Colitis", 3, "Y", None, None, day(5), day(9))]))
    row = out.row(0, named=True)
    assert row["RULE_VERSION"] == RULES.version
    assert (row["SRCDOM"], row["SRCSEQ"], row["SRC"], row["CANDIDATE_ID"]) == ("AE", [12], "AE:12", "S1:DLT5:AE:12")
