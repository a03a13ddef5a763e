"""`vigil listing susar` and `vigil susar submit` on a store with ingested AE/DM/EX and stored SUSAR cases."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import openpyxl
import polars as pl
import pypdf
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from safety.cli import app
from safety.cli.app import console as cli_console
from safety.ingest import ingest_configured
from safety.listings import content_sha256
from safety.rsi import load_rsi
from safety.store import Store, schema, utcnow
from safety.susar import load_pv_config, susar_cases

FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
XSS = "<script>alert(1)</script>"


def write_sdtm(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = ["ST-001", "ST-002", "ST-003"]
    pl.DataFrame({"STUDYID": "ST", "DOMAIN": "DM", "USUBJID": subjects, "SITEID": "01", "AGE": 61.0, "SEX": "F",
                  "RFXSTDTC": "2025-02-01", "ARM": "ELA+EXE"}).write_csv(folder / "dm.csv")
    pl.DataFrame({"STUDYID": "ST", "DOMAIN": "EX", "USUBJID": subjects, "EXSEQ": 1, "EXTRT": "ELACESTRANT",
                  "EXDOSE": 345.0, "EXDOSU": "mg", "EXSTDTC": "2025-02-01"}).write_csv(folder / "ex.csv")
    pl.DataFrame({
        "STUDYID": "ST", "DOMAIN": "AE", "USUBJID": subjects, "AESEQ": 1, "AETERM": [XSS, "=1+1", "cough"],
        "AEDECOD": "Pneumonitis", "AEBODSYS": "Respiratory", "AETOXGR": 3, "AESER": "Y",
        **{f: "N" for f in FLAGS}, "AEREL": "RELATED", "AEREL2": "NOT RELATED", "AEOUT": "NOT RECOVERED",
        "AEACN": "DRUG INTERRUPTED", "AESTDTC": ["2025-03-01", "2025-03-01", "2025-05-01"],
        "AEAWDTC": ["2025-03-02", "2025-03-03", "2025-05-02"],
    }).with_columns(AESHOSP=pl.lit("Y")).write_csv(folder / "ae.csv")


@pytest.fixture
def listing_store(study_config, tmp_path):
    """Ingest the constructed SDTM, derive SUSAR cases with the real code, store them as a cycle would."""
    write_sdtm(study_config.source_path)
    store = Store(study_config.database)
    ingest_configured(study_config, store)
    versions = store.history("AE").rename({"_VERSION": "_version", "_RUN_ID": "_run_id"}).with_columns(
        pl.lit(dt.datetime(2025, 3, 3, tzinfo=dt.UTC)).alias("_valid_from"))
    rsi, pv = load_rsi(study_config.resolve("rsi.yaml")), load_pv_config(study_config.resolve("pharmacovigilance.yaml"))
    cases, followups = susar_cases(versions, rsi, pv, store.current("DM"), store.current("EX"), None,
                                   dt.date(2025, 6, 1))
    assert cases.height == 3
    with store.write() as conn:
        cycle_id = conn.execute(insert(schema.cycle).values(
            started_at=utcnow(), status="success", data_cut=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))).inserted_primary_key[0]
        store.put_derived(conn, "susar_cases", cases, cycle_id, "test")
        store.put_derived(conn, "susar_followups", followups, cycle_id, "test")
    yield store, cases
    store.dispose()


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def listings(store: Store) -> list[dict]:
    with store.read() as conn:
        return [dict(r) for r in conn.execute(select(schema.listing).order_by(schema.listing.c.id)).mappings()]


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "pdf"])
def test_listing_in_each_format_is_stored_with_params_and_hashes(listing_store, study_config, tmp_path, file_format):
    store, _ = listing_store
    out = tmp_path / f"susar.{file_format}"
    result = run("listing", "susar", "--from", "2025-03-01", "--to", "2025-03-31", "--format", file_format,
                 "-o", str(out), "--user", "pv.officer", "--config", str(study_config.path), "--report", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["rows"][0]
    (row,) = listings(store)
    assert summary["listing_id"] == row["id"] and summary["rows"] == row["n_rows"] == 2  # May case is outside
    assert row["kind"] == "susar_line_listing" and row["format"] == file_format and row["created_by"] == "pv.officer"
    assert row["payload"] == out.read_bytes()
    assert row["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    params = row["params"]
    assert params["from"] == "2025-03-01" and params["to"] == "2025-03-31" and params["cumulative"] is False
    assert params["format"] == file_format and params["study"] == "VIGIL-ELA-EXE-01"
    assert params["susar_cases_sha256"] == store.derived_meta("susar_cases")["content_sha256"]
    assert row["content_sha256"] == params["content_sha256"] == summary["content_sha256"]
    if file_format == "csv":
        with out.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert sorted(r["Subject"] for r in rows) == ["ST-001", "ST-002"]
        assert {r["Verbatim term"] for r in rows} == {XSS, "'=1+1"}
        assert {r["Source record"] for r in rows} == {"ST-001/1/v1", "ST-002/1/v1"}
    elif file_format == "xlsx":
        ws = openpyxl.load_workbook(out).active
        values = [c.value for r in ws.iter_rows() for c in r]
        assert "ST-001" in values and "'=1+1" in values and "ST-003" not in values
    else:
        reader = pypdf.PdfReader(out)
        text = "".join("".join(p.extract_text() for p in reader.pages).split())  # cells wrap in narrow columns
        assert "ST-001" in text and "ST-003" not in text
        assert "ST-001/1/v1" in text
    with store.read() as conn:
        audit = conn.execute(select(schema.audit_log.c.action, schema.audit_log.c.target)).all()
    assert [tuple(a) for a in audit] == [("listing.create", f"listing:{row['id']}")]


def test_cumulative_listing_and_content_hash_is_format_independent(listing_store, study_config, tmp_path):
    store, _ = listing_store
    for fmt in ("csv", "pdf"):
        result = run("listing", "susar", "--cumulative", "--to", "2025-06-30", "--format", fmt,
                     "-o", str(tmp_path / f"cum.{fmt}"), "--user", "u", "--config", str(study_config.path))
        assert result.exit_code == 0, result.output
    a, b = listings(store)
    assert a["kind"] == b["kind"] == "susar_cumulative" and a["n_rows"] == 3
    assert a["content_sha256"] == b["content_sha256"] and a["file_sha256"] != b["file_sha256"]
    assert a["params"]["cumulative"] is True and a["params"]["from"] is None


def test_table_report_prints_data_as_text_not_rich_markup(listing_store, study_config, tmp_path, monkeypatch):
    # Standard: nothing renders user text as markup, and no traceback. The summary table quotes the
    # output path (and other commands' tables quote verbatim terms): as Rich markup a '[/x]' in it raised
    # MarkupError after the listing was stored.
    store, _ = listing_store
    out = tmp_path / "[/x]" / "susar.csv"
    monkeypatch.setattr(cli_console, "width", 1000)  # one line per row: the path is not folded
    result = run("listing", "susar", "--cumulative", "--to", "2025-06-30", "-o", str(out), "--user", "u",
                 "--config", str(study_config.path))
    assert result.exit_code == 0, result.output
    assert out.is_file() and f"│ {out} │" in result.stdout
    (row,) = listings(store)
    assert row["payload"] == out.read_bytes()


def test_listing_errors_are_one_line(study_config, tmp_path):
    Store(study_config.database).dispose()
    result = CliRunner().invoke(app, ["listing", "susar", "--config", str(study_config.path)])
    assert result.exit_code != 0 and "run `vigil cycle` first" in str(result.exception or result.output)
    result = CliRunner().invoke(app, ["listing", "susar", "--from", "2025-13-01", "--config", str(study_config.path)])
    assert result.exit_code != 0 and "not a date" in str(result.exception or result.output)


def test_susar_submit_records_once_with_audit(listing_store, study_config):
    store, cases = listing_store
    case_id = cases["CASE_ID"][0]
    args = ["susar", "submit", case_id, "--report-type", "initial", "--on", "2025-03-10", "--user", "pv.officer",
            "--config", str(study_config.path)]
    assert run(*args).exit_code == 0
    t = schema.susar_submission
    with store.read() as conn:
        subs = conn.execute(select(t.c.case_id, t.c.report_type, t.c.recorded_by, t.c.submitted_on)).all()
        audit = conn.execute(select(schema.audit_log.c.action, schema.audit_log.c.target)).all()
    assert [(s[0], s[1], s[2]) for s in subs] == [(case_id, "initial", "pv.officer")]
    assert subs[0][3].date() == dt.date(2025, 3, 10)
    assert [tuple(a) for a in audit] == [("susar.submit", f"susar:{case_id}")]
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "already recorded" in str(again.exception)
    unknown = CliRunner().invoke(app, [*args[:2], "NOPE", *args[3:]])
    assert "no SUSAR case 'NOPE'" in str(unknown.exception)
    followup = CliRunner().invoke(app, [*args[:3], "--report-type", "follow-up 1", *args[5:]])
    assert "has no follow-up 1" in str(followup.exception)
    assert content_sha256(pl.DataFrame({"a": [1]}))  # the listing hash helper stays importable for the CLI


def test_complete_report_is_recorded_only_for_a_fatal_or_life_threatening_case(listing_store, study_config):
    store, cases = listing_store
    base = ["--on", "2025-03-20", "--user", "pv.officer", "--config", str(study_config.path)]
    hospitalised = cases["CASE_ID"][0]
    refused = CliRunner().invoke(app, ["susar", "submit", hospitalised, "--report-type", "complete", *base])
    assert refused.exit_code != 0 and "owes no complete report" in str(refused.exception)
    # the next cycle finds the second case life-threatening: it owes the complete report
    fatal_id = cases["CASE_ID"][1]
    cases = cases.with_columns(pl.when(pl.col("CASE_ID") == fatal_id).then(pl.lit(dt.date(2025, 3, 18)))
                               .alias("COMPLETE_DUE"))
    with store.write() as conn:
        cycle_id = conn.execute(insert(schema.cycle).values(
            started_at=utcnow(), status="success", data_cut=dt.datetime(2025, 6, 2, tzinfo=dt.UTC))).inserted_primary_key[0]
        store.put_derived(conn, "susar_cases", cases, cycle_id, "test")
    assert run("susar", "submit", fatal_id, "--report-type", "complete", *base).exit_code == 0
    t = schema.susar_submission
    with store.read() as conn:
        assert conn.execute(select(t.c.case_id, t.c.report_type)).all() == [(fatal_id, "complete")]
