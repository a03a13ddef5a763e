"""derive_pfs: one constructed subject per FDA 2018 censoring situation and boundary."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from safety.activity.config import load_pfs_config
from safety.activity.pfs import derive_pfs
from safety.config import ConfigError

CFG = load_pfs_config()
START = date(2024, 1, 1)  # day 1 = first dose for every constructed subject


def day(n: int) -> str:
    """ISO date of study day n (AVAL scale: day 1 = first dose)."""
    return (START + timedelta(days=n - 1)).isoformat()


def dm(*rows: tuple[str, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["USUBJID", "RFXSTDTC", "DTHDTC"], orient="row")


def rs(*rows: tuple) -> pl.DataFrame:
    """(USUBJID, RSSEQ, RSDTC, response[, evaluator])."""
    full = [(*r, "INVESTIGATOR") if len(r) == 4 else r for r in rows]
    return pl.DataFrame(full, schema=["USUBJID", "RSSEQ", "RSDTC", "RSSTRESC", "RSEVAL"], orient="row").with_columns(
        pl.lit("OVRLRESP").alias("RSTESTCD"), pl.lit(None, pl.String).alias("RSACPTFL")
    )


def ds(*rows: tuple) -> pl.DataFrame:
    """(USUBJID, DSSEQ, DSDECOD, DSSTDTC)."""
    return pl.DataFrame(rows, schema=["USUBJID", "DSSEQ", "DSDECOD", "DSSTDTC"], orient="row").with_columns(
        pl.col("DSDECOD").alias("DSTERM")
    )


NO_DS = ds(("NOBODY", 1, "COMPLETED", "2020-01-01"))

# subject, RS records, DM death, DS records, expected (AVAL, CNSR, EVNTDESC, SRCDOM, SRCSEQ, ADTF)
CASES = [
    ("progression", [(1, day(57), "SD"), (2, day(113), "PD")], None, [],
     (113, 0, "PD", "RS", 2, None)),
    ("first PD counts, later CR does not undo it", [(1, day(57), "PD"), (2, day(113), "CR")], None, [],
     (57, 0, "PD", "RS", 1, None)),
    ("death without progression (DM)", [(1, day(57), "SD")], day(100), [],
     (100, 0, "DEATH", "DM", None, None)),
    ("death without progression (DS only)", [(1, day(57), "SD")], None, [(7, "DEATH", day(90))],
     (90, 0, "DEATH", "DS", 7, None)),
    ("death before any assessment, within two intervals", [], day(100), [],
     (100, 0, "DEATH", "DM", None, None)),
    ("progression and death the same day: reported as PD", [(1, day(57), "SD"), (2, day(113), "PD")], day(113), [],
     (113, 0, "PD", "RS", 2, None)),
    ("new therapy before progression", [(1, day(57), "SD"), (2, day(113), "SD"), (3, day(169), "PD")], None,
     [(4, "NEW ANTICANCER THERAPY", day(130))],
     (113, 1, "LAST ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY", "RS", 2, None)),
    ("assessment on the new-therapy start day still counts", [(1, day(57), "SD"), (2, day(130), "SD")], None,
     [(4, "NEW ANTICANCER THERAPY", day(130))],
     (130, 1, "LAST ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY", "RS", 2, None)),
    ("death after new therapy is not a PFS event", [(1, day(57), "SD")], day(150),
     [(4, "NEW ANTICANCER THERAPY", day(80))],
     (57, 1, "LAST ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY", "RS", 1, None)),
    ("new therapy before any assessment", [], None, [(4, "NEW ANTICANCER THERAPY", day(40))],
     (1, 1, "NO ADEQUATE ASSESSMENT BEFORE NEW ANTICANCER THERAPY", "DM", None, None)),
    ("two missed assessments before progression (gap 120 > 2*56+7)", [(1, day(57), "SD"), (2, day(177), "PD")],
     None, [], (57, 1, "LAST ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS", "RS", 1, None)),
    ("gap exactly 2*56+7 = 119 days: progression counts", [(1, day(57), "SD"), (2, day(176), "PD")], None, [],
     (176, 0, "PD", "RS", 2, None)),
    ("death after two missed assessments", [(1, day(57), "SD")], day(200), [],
     (57, 1, "LAST ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS", "RS", 1, None)),
    ("death after two missed assessments, none done", [], day(150), [],
     (1, 1, "NO ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS", "DM", None, None)),
    ("NE is not adequate: gap counted from the last adequate one", [(1, day(57), "SD"), (2, day(113), "NE"),
     (3, day(180), "PD")], None, [], (57, 1, "LAST ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS", "RS", 1, None)),
    ("alive without progression", [(1, day(57), "SD"), (2, day(113), "PR"), (3, day(169), "NE")], None, [],
     (113, 1, "LAST ADEQUATE ASSESSMENT", "RS", 2, None)),
    ("no post-baseline assessment (baseline on day 1 only)", [(1, day(1), "SD")], None, [],
     (1, 1, "NO POST-BASELINE ASSESSMENT", "DM", None, None)),
    ("only NE after baseline", [(1, day(57), "NE")], None, [],
     (1, 1, "NO POST-BASELINE ASSESSMENT", "DM", None, None)),
    # 2024-05 imputes to 2024-05-01 = day 122 (first day of the month, admiral date_imputation "first")
    ("partial progression date", [(1, day(57), "SD"), (2, "2024-05", "PD")], None, [],
     (122, 0, "PD", "RS", 2, "D")),
    # 2024 imputes to 2024-01-01, before first dose 2024-01-10 in its period: moved to first dose
    ("partial death date before first dose is moved to first dose", [], "2024", [],
     (1, 0, "DEATH", "DM", None, "M")),
    ("independent reads are ignored under the investigator rule",
     [(1, day(57), "SD"), (2, day(57), "PD", "INDEPENDENT ASSESSOR")], None, [],
     (57, 1, "LAST ADEQUATE ASSESSMENT", "RS", 1, None)),
]


def build(cases=CASES):
    dms, rss, dss = [], [], []
    for i, (_, records, death, disp, _) in enumerate(cases):
        sid = f"S{i:02d}"
        start = "2024-01-10" if death == "2024" else START.isoformat()
        dms.append((sid, start, death))
        rss += [(sid, *r) for r in records]
        dss += [(sid, *d) for d in disp]
    return dm(*dms), rs(*rss) if rss else rs(("NOBODY", 1, "2020-01-01", "SD")), ds(*dss) if dss else NO_DS


@pytest.fixture(scope="module")
def pfs() -> pl.DataFrame:
    return derive_pfs(*build(), CFG)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_event_and_censoring_rules(pfs: pl.DataFrame, index: int) -> None:
    row = pfs.filter(pl.col("USUBJID") == f"S{index:02d}").row(0, named=True)
    got = (row["AVAL"], row["CNSR"], row["EVNTDESC"], row["SRCDOM"], row["SRCSEQ"], row["ADTF"])
    assert got == CASES[index][4]
    assert row["AVAL"] == (row["ADT"] - row["STARTDT"]).days + 1
    assert row["PARAMCD"] == "PFS" and row["RULE_VERSION"] == CFG.version


def test_one_row_per_treated_subject_only() -> None:
    dm_frame, rs_frame, ds_frame = build()
    untreated = pl.concat([dm_frame, dm(("UNTREATED", None, None))])
    out = derive_pfs(untreated, rs_frame, ds_frame, CFG)
    assert out.height == len(CASES)
    assert "UNTREATED" not in out["USUBJID"].to_list()
    assert out["USUBJID"].is_unique().all()


def test_data_cut_ignores_later_records() -> None:
    out = derive_pfs(dm(("A", START.isoformat(), day(150))), rs(("A", 1, day(57), "SD"), ("A", 2, day(113), "PD")),
                     NO_DS, CFG, data_cut=START + timedelta(days=99))
    assert out.select("AVAL", "CNSR", "EVNTDESC").row(0) == (57, 1, "LAST ADEQUATE ASSESSMENT")


def test_partial_progression_date_in_the_month_of_first_dose_counts() -> None:
    # Module rule (admiral date_imputation "first" + min_dates = TRTSDT): "2024-01" imputes to
    # 2024-01-01, before first dose 2024-01-10, and is moved to first dose; the known part of the
    # date allows a post-baseline progression (any day 11-31 January), so the PD must not be
    # dropped as a baseline record. A record whose whole period precedes first dose ("2023-12") is.
    subjects = dm(("A", "2024-01-10", None), ("B", "2024-01-10", None))
    records = rs(("A", 1, "2024-01", "PD"), ("B", 1, "2023-12", "PD"))
    out = derive_pfs(subjects, records, NO_DS, CFG)
    assert out.select("USUBJID", "AVAL", "CNSR", "EVNTDESC", "SRCSEQ", "ADTF").rows() == [
        ("A", 1, 0, "PD", 1, "D"),
        ("B", 1, 1, "NO POST-BASELINE ASSESSMENT", None, None),
    ]


def test_independent_evaluator_uses_accepted_read() -> None:
    cfg = CFG.model_copy(update={"response": CFG.response.model_copy(update={"evaluator": "INDEPENDENT ASSESSOR"})})
    records = rs(("A", 1, day(57), "SD", "INDEPENDENT ASSESSOR"), ("A", 2, day(57), "PD", "INDEPENDENT ASSESSOR"),
                 ("A", 3, day(57), "SD", "INVESTIGATOR"))
    # reader 2's PD is the adjudicated read at day 57
    records = records.with_columns(pl.when(pl.col("RSSEQ") == 2).then(pl.lit("Y")).alias("RSACPTFL"))
    out = derive_pfs(dm(("A", START.isoformat(), None)), records, None, cfg)
    assert out.select("AVAL", "CNSR", "EVNTDESC", "SRCSEQ").row(0) == (57, 0, "PD", 2)


def test_missed_assessment_window_is_config() -> None:
    # every 6 weeks + 7 days: 2 * 42 + 7 = 91 < 120, so the same progression is now after 2+ missed
    cfg = CFG.model_copy(update={"missed_assessments": CFG.missed_assessments.model_copy(update={"interval_days": 42})})
    records = rs(("A", 1, day(57), "SD"), ("A", 2, day(150), "PD"))
    subject = dm(("A", START.isoformat(), None))
    assert derive_pfs(subject, records, None, CFG)["CNSR"].to_list() == [0]
    assert derive_pfs(subject, records, None, cfg)["CNSR"].to_list() == [1]


def test_config_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "pfs.yaml"
    bad.write_text("version: X\nmissed_assessments:\n  interval_days: -5\n")
    with pytest.raises(ConfigError, match=r"pfs\.yaml: missed_assessments\.interval_days"):
        load_pfs_config(bad)
    bad.write_text("version: X\nresponse:\n  progression: [PD]\n  adequate: [CR, PR, SD]\n")
    with pytest.raises(ConfigError, match=r"pfs\.yaml: response: .*must also be listed in adequate"):
        load_pfs_config(bad)
    bad.write_text("version: X\nlandmark: 183\n")
    with pytest.raises(ConfigError, match="landmark"):
        load_pfs_config(bad)


SDTM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sdtm"


def test_real_onco_example_data() -> None:
    if not (SDTM / "onco_examples" / "rs_onco.parquet").exists():
        pytest.skip(f"public SDTM example data not found under {SDTM.resolve()}")
    dm_frame = pl.read_parquet(SDTM / "cdiscpilot01" / "dm.parquet")
    rs_frame = pl.read_parquet(SDTM / "onco_examples" / "rs_onco.parquet")
    ds_frame = pl.read_parquet(SDTM / "cdiscpilot01" / "ds.parquet")
    out = derive_pfs(dm_frame, rs_frame, ds_frame, CFG)
    assert out.height == dm_frame.filter(pl.col("RFXSTDTC").is_not_null()).height
    row = out.filter(pl.col("USUBJID") == "01-701-1015").row(0, named=True)
    # investigator PD at week 6 (2014-02-12, RSSEQ 7); first dose 2014-01-02
    assert (row["ADT"], row["AVAL"], row["CNSR"], row["SRCSEQ"]) == (date(2014, 2, 12), 42, 0, 7)
    # subjects without RS records are censored at first dose
    no_rs = out.join(rs_frame.select("USUBJID").unique(), on="USUBJID", how="anti")
    assert set(no_rs["EVNTDESC"].unique()) <= {"NO POST-BASELINE ASSESSMENT", "DEATH",
                                               "NO ADEQUATE ASSESSMENT BEFORE 2+ MISSED ASSESSMENTS"}
