"""Issue 6 end to end: monitoring cycles on the demo study e-mail each new SUSAR exactly once, to a
real SMTP server on loopback; an outage delays, never loses or doubles; two cycles at once send once."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, date, datetime

import polars as pl
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import select

from safety.alerts import deliver_pending, load_alert_config
from safety.config import REPO_ROOT, load_config
from safety.demo import generate_study, write_study
from safety.store import Store, schema
from tests.test_alerts_outbox import Inbox, free_port


def _config(tmp_path, database_url: str, port: int, monkeypatch):
    folder = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", folder)
    study = yaml.safe_load((folder / "study.yaml").read_text())
    study["database_url"] = database_url
    study["source"]["path"] = str(tmp_path / "sdtm")
    study["jobs"]["data_cut"] = "latest_record"
    (folder / "study.yaml").write_text(yaml.safe_dump(study))
    alerting = yaml.safe_load((folder / "alerting.yaml").read_text())
    for rule in alerting["rules"]:  # only the new-SUSAR rule, so every message can be accounted for
        rule["enabled"] = rule["id"] == "susar_new"
    (folder / "alerting.yaml").write_text(yaml.safe_dump(alerting))
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    monkeypatch.setenv("VIGIL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VIGIL_SMTP_PORT", str(port))
    monkeypatch.setenv("VIGIL_SMTP_TLS", "none")
    monkeypatch.setenv("VIGIL_MAIL_FROM", "vigil@test.example")
    return folder / "study.yaml"


def _export(tmp_path, as_of: date) -> None:
    write_study(generate_study(), tmp_path / "sdtm", as_of=as_of, fmt="parquet")


def _cycle(config_path):
    from jobs.config import load_jobs_config
    from jobs.tasks import run_step

    cfg = load_config(config_path)
    store = Store(cfg.database)
    try:
        return run_step(cfg, load_jobs_config(cfg), store, "cycle")
    finally:
        store.dispose()


def _susar_cases(config_path) -> set[str]:
    store = Store(load_config(config_path).database)
    cases = store.derived("susar_cases").filter(pl.col("CASE_STATE") == "SUSAR")
    store.dispose()
    return set(cases["USUBJID"].to_list())


def test_each_new_susar_is_mailed_once_through_outage_and_concurrent_cycles(tmp_path, database_url, monkeypatch):
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        config = _config(tmp_path, database_url, port, monkeypatch)
        _export(tmp_path, date(2025, 9, 30))  # the liver-injury SUSAR (day 0 2025-09-07) is known
        assert _cycle(config).outcome == "success"
        first = _susar_cases(config)
        assert first and len(inbox.messages) == len(first)
        assert all("New SUSAR" in msg["Subject"] for _, msg in inbox.messages)
        assert _cycle(config).outcome == "success"  # nothing new: nothing sent
        assert len(inbox.messages) == len(first)

        server.stop()  # the mail server goes down; new SUSARs arrive
        _export(tmp_path, date(2026, 1, 15))
        outage = _cycle(config)
        assert outage.outcome == "success"  # the cycle completes; the alerts wait in the outbox
        later = _susar_cases(config)
        assert later > first and len(inbox.messages) == len(first)
        store = Store(load_config(config).database)
        with store.read() as conn:
            waiting = conn.execute(select(schema.alert.c.status, schema.alert.c.attempts)
                                   .where(schema.alert.c.status != "sent")).all()
        store.dispose()
        assert len(waiting) == len(later - first) and all(attempts >= 1 for _, attempts in waiting)

        server = Controller(inbox, hostname="127.0.0.1", port=port)
        server.start()  # back: two cycles started at once deliver each waiting alert once
        results = []
        threads = [threading.Thread(target=lambda: results.append(_cycle(config))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(r.outcome for r in results) in (["skipped", "success"], ["success", "success"])
        cfg = load_config(config)
        store = Store(cfg.database)
        # the backoff may hold a retry a little longer than the cycles took: deliver what is due now
        deliver_pending(store, cfg.settings, load_alert_config(cfg), retry_failed=True,
                        now=datetime(2100, 1, 1, tzinfo=UTC))
        store.dispose()
        subjects = [msg["Subject"] for _, msg in inbox.messages]
        assert len(subjects) == len(later) and len(set(subjects)) == len(subjects)
    finally:
        server.stop()


def test_a_susar_submission_date_is_read_back_as_recorded_whatever_the_server_timezone(tmp_path):
    """Time zones: `vigil susar submit --on 2025-03-01` stores midnight UTC. PostgreSQL hands
    timestamptz back in the session's TimeZone (a server set to New York gives 2025-02-28 19:00-05:00);
    taking .date() of that moves the submission a day earlier on the 7/15-day clock."""
    from sqlalchemy import create_engine, insert, text

    from safety.cycle import susar_submissions
    from tests.pg import ADMIN_URL, throwaway_database

    urls = [f"sqlite:///{tmp_path / 'tz.db'}"]
    with throwaway_database("vigil_tz") as pg_url:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{pg_url.rsplit("/", 1)[1]}" SET TimeZone = \'America/New_York\''))
        admin.dispose()
        for url in [*urls, pg_url]:
            store = Store(url)
            try:
                with store.write() as conn:
                    conn.execute(insert(schema.susar_submission).values(
                        case_id="C1", report_type="initial", submitted_on=datetime(2025, 3, 1, tzinfo=UTC),
                        recorded_by="pv", recorded_at=datetime(2025, 3, 1, 9, tzinfo=UTC)))
                assert susar_submissions(store).rows() == [("C1", "initial", date(2025, 3, 1))], url
            finally:
                store.dispose()
