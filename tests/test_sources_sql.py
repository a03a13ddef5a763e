"""The SQL source against a real PostgreSQL database holding EDC-like tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine

from jobs.config import load_jobs_config
from jobs.tasks import run_step
from safety.config import REPO_ROOT, load_config
from safety.ingest import ingest
from safety.sources import SourceUnavailable
from safety.sources.configured import pull_source
from safety.store import Store
from tests.pg import throwaway_database

STUDY = "VIGIL-ELA-EXE-01"
EDC = f"""
create schema edc;
create table edc.subject (subject_id text primary key, site_code text, age_years int, sex text, arm text,
                          first_dose_on date, last_dose_on date);
create table edc.adverse_event (subject_id text, ae_no int, verbatim text, pt text, soc text, ctcae_grade int,
                                serious boolean, onset_on date, resolved_on date, related_ela text,
                                related_exe text, deleted boolean default false);
create table edc.lab_result (subject_id text, result_no int, test_code text, result_text text, unit text,
                             result_value numeric, normal_low numeric, normal_high numeric, collected_at timestamp);
insert into edc.subject values ('{STUDY}-001', '101', 61, 'female', 'ELA+EXE', '2025-01-06', null),
                               ('{STUDY}-002', '102', 55, 'male', 'ELA+EXE', '2025-01-13', null);
insert into edc.adverse_event values
  ('{STUDY}-001', 1, 'nausea', 'Nausea', 'Gastrointestinal disorders', 2, false, '2025-02-01', null, 'RELATED',
   'NOT RELATED', false),
  ('{STUDY}-001', 2, 'diarrhoea', 'Diarrhoea', 'Gastrointestinal disorders', 3, true, '2025-02-10', null, 'RELATED',
   'RELATED', false),
  ('{STUDY}-002', 1, 'entered in error', 'Fatigue', 'General disorders', 1, false, '2025-02-11', null, null,
   null, true);
insert into edc.lab_result values ('{STUDY}-001', 1, 'ALT', '35', 'U/L', 35, 7, 40, '2025-02-03 08:30'),
                                  ('{STUDY}-001', 2, 'ALT', '130', 'U/L', 130, 7, 40, '2025-02-17 09:00');
"""


@pytest.fixture
def edc():
    with throwaway_database("vigil_edc") as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(EDC)
        yield url, engine
        engine.dispose()


def study(tmp_path: Path, url: str, **source: object):
    folder = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", folder, dirs_exist_ok=True)
    data = yaml.safe_load((folder / "study.yaml").read_text())
    data["source"] = {"kind": "sql", "url": url, "password_env": "TEST_EDC_PASSWORD",
                      "mapping": "sources/sql_example.yaml", "timeout_seconds": 1, "attempts": 2,
                      "backoff_seconds": 0.05} | source
    data["database_url"] = f"sqlite:///{tmp_path / 'vigil.db'}"
    data["jobs"] = {"cycle": {"every": "1m", "derive": False}}
    (folder / "study.yaml").write_text(yaml.safe_dump(data))
    return load_config(folder / "study.yaml")


def test_tables_and_queries_map_to_canonical_domains(tmp_path, edc, monkeypatch):
    url, _ = edc
    monkeypatch.setenv("TEST_EDC_PASSWORD", "unused-with-trust-auth")
    pull = pull_source(study(tmp_path, url))
    assert pull.kind == "sql" and "unused-with-trust-auth" not in pull.source
    dm = pull.domains["DM"].load().frame.sort("USUBJID")
    assert dm.get_column("SEX").to_list() == ["F", "M"]
    assert dm.get_column("RFXSTDTC").to_list() == ["2025-01-06", "2025-01-13"]
    ae = pull.domains["AE"].load()
    assert ae.quarantine.height == 0
    assert ae.frame.sort("AESEQ").select("AESEQ", "AETERM", "AESER", "AETOXGR", "AEREL2").rows() == [
        (1, "nausea", "N", 2, "NOT RELATED"), (2, "diarrhoea", "Y", 3, "RELATED")]  # deleted row filtered
    lb = pull.domains["LB"].load().frame.sort("LBSEQ")
    assert lb.get_column("LBSTRESN").to_list() == [35.0, 130.0]
    assert lb.get_column("LBDTC").to_list() == ["2025-02-03T08:30:00", "2025-02-17T09:00:00"]


def test_only_changed_domains_are_compared_again(tmp_path, edc, monkeypatch):
    url, engine = edc
    monkeypatch.setenv("TEST_EDC_PASSWORD", "x")
    cfg = study(tmp_path, url)
    store = Store(cfg.database)
    first = ingest(store, pull_source(cfg))
    assert first.counts.new == 2 + 2 + 2
    with engine.begin() as conn:
        conn.exec_driver_sql("update edc.lab_result set result_value = 150, result_text = '150' where result_no = 2")
    second = ingest(store, pull_source(cfg))
    assert second.per_domain["DM"].get("skipped_unchanged") and second.per_domain["AE"].get("skipped_unchanged")
    assert second.counts.changed == 1
    assert sorted(store.current("LB").get_column("LBSTRESN").to_list()) == [35.0, 150.0]


def test_database_down_fails_the_run_and_keeps_earlier_data(tmp_path, edc, monkeypatch):
    url, _ = edc
    monkeypatch.setenv("TEST_EDC_PASSWORD", "x")
    cfg = study(tmp_path, url)
    store = Store(cfg.database)
    jobs_cfg = load_jobs_config(cfg)
    assert run_step(cfg, jobs_cfg, store, "cycle").outcome == "success"
    before = store.current("AE")
    down = study(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    outcome = run_step(down, jobs_cfg, store, "cycle")
    assert outcome.outcome == "failed" and "after 2 attempts" in outcome.error
    last = store.runs(1).row(0, named=True)
    assert last["status"] == "failed" and "database unreachable" in last["message"]
    assert store.current("AE").equals(before)


def test_a_rejected_query_and_a_missing_password_are_reported(tmp_path, edc, monkeypatch):
    url, engine = edc
    monkeypatch.delenv("TEST_EDC_PASSWORD", raising=False)
    with pytest.raises(SourceUnavailable, match="TEST_EDC_PASSWORD"):
        pull_source(study(tmp_path, url))
    monkeypatch.setenv("TEST_EDC_PASSWORD", "x")
    with engine.begin() as conn:
        conn.exec_driver_sql("alter table edc.lab_result rename column unit to units")
    with pytest.raises(SourceUnavailable, match="rejected"):
        pull_source(study(tmp_path, url))


def test_a_domain_whose_rows_only_moved_is_skipped_as_unchanged(tmp_path, edc, monkeypatch):
    # Rule: no nondeterminism from row order. A table read without ORDER BY comes back in the
    # database's physical order, which an UPDATE that changes nothing still alters; the same
    # records must give the same fingerprint (and the same quarantine row numbers).
    url, engine = edc
    monkeypatch.setenv("TEST_EDC_PASSWORD", "x")
    cfg = study(tmp_path, url)
    store = Store(cfg.database)
    ingest(store, pull_source(cfg))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"update edc.subject set site_code = site_code where subject_id = '{STUDY}-001'")
        conn.exec_driver_sql("update edc.lab_result set unit = unit where result_no = 1")
        order = conn.exec_driver_sql("select subject_id from edc.subject").scalars().all()
    assert order == [f"{STUDY}-002", f"{STUDY}-001"]  # the physical order did change
    second = ingest(store, pull_source(cfg))
    assert {d: bool(second.per_domain[d].get("skipped_unchanged")) for d in ("DM", "AE", "LB")} == {
        "DM": True, "AE": True, "LB": True}
    assert (second.counts.new, second.counts.changed, second.counts.deleted) == (0, 0, 0)
