"""SUSAR line listings and writers: inert text in CSV/XLSX/PDF, page counts, content hash."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import openpyxl
import polars as pl
import pypdf
import pytest

from safety.dates import derive_dates
from safety.listings import (
    ListingMeta,
    content_sha256,
    cumulative_listing,
    cumulative_summary_tabulation,
    susar_line_listing,
    write_listing,
)
from safety.rsi import load_rsi
from safety.susar import load_pv_config, susar_cases

ROOT = Path(__file__).resolve().parents[1]
RSI = load_rsi(ROOT / "config" / "rsi.yaml")
PV = load_pv_config(ROOT / "config" / "pharmacovigilance.yaml")
FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
NASTY = ['<script>alert(1)</script>', '=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "Ærø ünïcødé ✓"]
META = ListingMeta("ST", dt.date(2025, 3, 31), dt.datetime(2025, 4, 1, 8, 0), "SUSAR line listing", "2025-Q1")


def ae_rows(n: int) -> pl.DataFrame:
    terms = [NASTY[i % len(NASTY)] for i in range(n)]
    frame = pl.DataFrame({
        "STUDYID": "ST", "USUBJID": [f"ST-{i:03d}" for i in range(n)], "AESEQ": 1, "_version": 1, "_run_id": 1,
        "_valid_from": dt.datetime(2025, 3, 2), "AETERM": terms, "AEDECOD": None, "AEBODSYS": "Respiratory",
        "AESER": "Y", **{f: "N" for f in FLAGS}, "AEREL": "RELATED", "AEREL2": "NOT RELATED", "AEOUT": "NOT RECOVERED",
        "AETOXGR": 3, "AEACN": "DRUG INTERRUPTED", "AESTDTC": "2025-03-01", "AEAWDTC": "2025-03-02",
    }, schema_overrides={"AEDECOD": pl.String, "AETOXGR": pl.Int64}).with_columns(AESHOSP=pl.lit("Y"))
    return derive_dates(derive_dates(frame, "AESTDTC", "first"), "AEAWDTC", "first")


def listing(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    ae = ae_rows(n)
    dm = pl.DataFrame({"USUBJID": ae["USUBJID"], "SITEID": "01", "AGE": 61.0, "SEX": "F", "RFXSTDTC": "2025-02-01"})
    ex = pl.DataFrame({"USUBJID": ae["USUBJID"], "EXTRT": "ELACESTRANT", "EXDOSE": 345.0, "EXDOSU": "mg",
                       "EXSTDTC": "2025-02-01", "EXENDTC": None}, schema_overrides={"EXENDTC": pl.String})
    cases, _ = susar_cases(ae, RSI, PV, dm, ex, None, dt.date(2025, 3, 10))
    return susar_line_listing(cases, ae, dm, ex, dt.date(2025, 1, 1), dt.date(2025, 3, 31)), ae


def test_line_listing_columns_and_values():
    frame, _ = listing(3)
    row = frame.row(0, named=True)
    assert frame.height == 3
    assert row["Suspect drug(s) and daily dose"] == "ELACESTRANT 345 mg daily"
    assert row["Suspect drug start / stop"] == "ELACESTRANT: 2025-02-01 to ongoing"
    assert row["Time to onset (days from first dose)"] == 29
    assert row["Day 0"] == dt.date(2025, 3, 2) and row["Due date"] == dt.date(2025, 3, 17)
    assert row["Report type"] == "initial" and row["Source record"] == "ST-000/1/v1"
    assert row["RSI version"] == RSI.version and row["Expectedness and RSI"].startswith("UNEXPECTED")
    assert row["Verbatim term"] == NASTY[0]


def test_period_filter_and_cumulative():
    ae = ae_rows(2)
    cases, _ = susar_cases(ae, RSI, PV, None, None, None, dt.date(2025, 3, 10))
    assert susar_line_listing(cases, ae, None, None, dt.date(2025, 4, 1), dt.date(2025, 6, 30)).height == 0
    assert cumulative_listing(cases, ae, None, None, dt.date(2025, 3, 31)).height == 2
    assert cumulative_listing(cases, ae, None, None, dt.date(2025, 3, 1)).height == 0


def test_xlsx_text_is_inert(tmp_path):
    frame, _ = listing(len(NASTY))
    out = write_listing(frame, tmp_path / "l.xlsx", "xlsx", META)
    ws = openpyxl.load_workbook(out.path).active
    col = frame.columns.index("Verbatim term") + 1
    header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Case reference")
    assert ws.freeze_panes == f"A{header_row + 1}"
    seen = []
    for r in range(header_row + 1, header_row + 1 + frame.height):
        cell = ws.cell(r, col)
        assert cell.data_type == "s"
        seen.append(cell.value)
    for text in NASTY:
        expected = "'" + text if text[0] in "=+-@\t" else text
        assert expected in seen
    assert out.sha256 == content_sha256(frame) and out.rows == len(NASTY)


def test_csv_text_is_inert_and_hash_is_canonical(tmp_path):
    frame, _ = listing(len(NASTY))
    out = write_listing(frame, tmp_path / "l.csv", "csv", META)
    with out.path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    terms = {r["Verbatim term"] for r in rows}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in terms and "'-2" in terms and "<script>alert(1)</script>" in terms
    assert all(not t.startswith(("=", "+", "-", "@", "\t")) for r in rows for t in r.values())
    changed = frame.with_columns(pl.col("Verbatim term").str.replace("SUM", "MAX"))
    assert content_sha256(changed) != out.sha256


@pytest.mark.parametrize("n", [3, 60])
def test_pdf_page_count_matches_footer(tmp_path, n):
    frame, _ = listing(n)
    out = write_listing(frame, tmp_path / "l.pdf", "pdf", META)
    reader = pypdf.PdfReader(out.path)
    last = reader.pages[-1].extract_text()
    x, y = map(int, re.search(r"Page (\d+) of (\d+)", last).groups())
    assert x == y == len(reader.pages) == out.pages
    if n == 60:
        assert out.pages > 1
    text = "".join(p.extract_text() for p in reader.pages)
    assert "<script>alert(1)</script>" in text and "data cut 2025-03-31" in text
    assert not reader.pages[0].get("/Annots")  # no live links from HYPERLINK text


def test_cumulative_summary_tabulation_counts():
    ae = ae_rows(4).with_columns(
        AEDECOD=pl.Series(["Pneumonitis", "Pneumonitis", "Nausea", "Nausea"]),
        AEREL=pl.Series(["RELATED", "NOT RELATED", "NOT RELATED", "NOT RELATED"]),
        AEREL2=pl.Series(["NOT RELATED", "NOT RELATED", "POSSIBLE", "NOT RELATED"]),
        AESTDTC=pl.Series(["2025-03-01", "2025-03-01", "2025-03-01", "2025-05-01"]),
    ).drop("AESTDT")
    tab = cumulative_summary_tabulation(ae, RSI, PV, dt.date(2025, 3, 31))
    got = {r["Preferred term"]: r for r in tab.to_dicts()}
    assert got["Pneumonitis"]["Related to elacestrant"] == 1 and got["Pneumonitis"]["Not related"] == 1
    assert got["Nausea"]["Total events"] == 1 and got["Nausea"]["Related to exemestane"] == 1


def fatal_followup_versions() -> pl.DataFrame:
    """ST-000 AE 1 received 2025-03-02 (15-day clock), a follow-up received 2025-03-08 makes it fatal."""
    v1 = ae_rows(1).with_columns(_valid_from=pl.lit(dt.datetime(2025, 3, 2, 9)))
    v2 = v1.with_columns(_version=pl.lit(2), _run_id=pl.lit(2), _valid_from=pl.lit(dt.datetime(2025, 3, 8, 9)),
                         AESDTH=pl.lit("Y"), AEOUT=pl.lit("FATAL"))
    return pl.concat([v1, v2])


def test_line_listing_from_store_history_one_row_per_case():
    # pharmacovigilance.md: the SUSAR line listing has one row per case, newest follow-up. The store's
    # history (what the weekly scheduled listing passes) names the version `_VERSION`: every version
    # of the AE used to become its own row.
    versions = fatal_followup_versions()
    cases, _ = susar_cases(versions, RSI, PV, None, None, None, dt.date(2025, 3, 10))
    history = versions.rename({"_version": "_VERSION"}).with_columns(_OP=pl.Series(["new", "changed"]))
    frame = susar_line_listing(cases, history, None, None, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["Outcome"] == "FATAL" and row["Source record"] == "ST-000/1/v2"


def test_line_listing_day0_is_that_of_the_report_listed():
    # pharmacovigilance.md: a follow-up is reported on the same timelines "counted from its own day 0";
    # the row lists the newest report (type, due date, date reported), so its day 0 is that report's:
    # the follow-up that turned fatal on 2025-03-08 is due 7 days later, 2025-03-15 (not day 0 2025-03-02).
    versions = fatal_followup_versions()
    cases, _ = susar_cases(versions, RSI, PV, None, None, None, dt.date(2025, 3, 10))
    row = susar_line_listing(cases, versions, None, None, None, None).row(0, named=True)
    assert row["Report type"] == "follow-up 1"
    assert row["Day 0"] == dt.date(2025, 3, 8) and row["Due date"] == dt.date(2025, 3, 15)


def test_imputed_day0_comment_names_the_initial_report_when_a_follow_up_is_listed():
    versions = fatal_followup_versions().with_columns(AEAWDTC=pl.lit(None, pl.String), AEAWDT=pl.lit(None, pl.Date))
    cases, _ = susar_cases(versions, RSI, PV, None, None, None, dt.date(2025, 3, 10))
    row = susar_line_listing(cases, versions, None, None, None, None).row(0, named=True)
    assert row["Report type"] == "follow-up 1" and row["Day 0"] == dt.date(2025, 3, 8)
    assert "initial report's day 0 = AE start date (awareness date missing)" in row["Comments"]


@pytest.mark.parametrize("text", [" =1+2", "  +SUM(A1)", "\u00a0=HYPERLINK(\"http://x\")", "\n-1+2"])
def test_csv_formula_after_leading_whitespace_is_inert(tmp_path, text):
    # Standard: listings that go to Excel are safe against formula injection. A spreadsheet that trims
    # spaces on import (LibreOffice "Trim spaces", Google Sheets) evaluates ' =1+2': quote it like '=1+2'.
    frame = listing(3)[0].with_columns(pl.lit(text).alias("Verbatim term"))
    out = write_listing(frame, tmp_path / "l.csv", "csv", META)
    with out.path.open(encoding="utf-8-sig", newline="") as fh:
        terms = {r["Verbatim term"] for r in csv.DictReader(fh)}
    assert terms == {"'" + text}
    ws = openpyxl.load_workbook(write_listing(frame, tmp_path / "l.xlsx", "xlsx", META).path).active
    assert "'" + text in [c.value for r in ws.iter_rows() for c in r]


def test_pdf_says_which_rows_lost_characters_outside_latin1(tmp_path):
    # Standard: a PDF never drops or alters characters silently. The core font shows latin-1 only ('µ' is
    # in it, '≥', Greek and CJK are not): those print as '?', and the PDF itself says so, with the rows.
    frame = listing(4)[0].with_columns(pl.Series("Verbatim term", ["CRP ≥ 5 µg/L", "cough", "Πνευμονίτιδα", "肺炎"]))
    out = write_listing(frame, tmp_path / "l.pdf", "pdf", META)
    raw = "".join(p.extract_text() for p in pypdf.PdfReader(out.path).pages)
    text = " ".join(raw.split())
    assert "CRP?5µg/L" in "".join(raw.split()) and "????????????" in "".join(raw.split())  # cells wrap
    assert "3 cell(s) with characters outside latin-1 shown as '?'" in text
    assert "they are printed as '?' (listing rows 1, 3, 4)" in text
    assert out.params["pdf_cells_with_replaced_characters"] == "3"
    clean = write_listing(frame.head(2).tail(1), tmp_path / "c.pdf", "pdf", META)
    assert "latin-1" not in pypdf.PdfReader(clean.path).pages[0].extract_text()
    assert clean.params["pdf_cells_with_replaced_characters"] == "0"
