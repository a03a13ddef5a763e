"""The outbox and e-mail delivery against real databases (SQLite and PostgreSQL) and a real SMTP
server on loopback (aiosmtpd): exactly once, across repeats, outages and concurrent senders."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from email import message_from_bytes, policy
from pathlib import Path

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from safety.alerts import (
    AlertError,
    acknowledge,
    deliver_pending,
    generate_alerts,
    list_alerts,
    raise_stale_data_alert,
    send_digest,
)
from safety.alerts.rules import load_alert_config
from safety.config import Settings, load_config
from safety.dates import derive_dates
from safety.rsi import load_rsi
from safety.store import Store, schema
from safety.susar import classify_susars, load_pv_config, susar_cases
from tests.pg import throwaway_database

ROOT = Path(__file__).resolve().parents[1]
CFG = load_alert_config(load_config(ROOT / "config" / "study.yaml"))
RSI = load_rsi(ROOT / "config" / "rsi.yaml")
PV = load_pv_config(ROOT / "config" / "pharmacovigilance.yaml")
FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
NOW = dt.datetime(2025, 3, 4, 9, 0, tzinfo=dt.UTC)
XSS = "<script>alert(1)</script>"


# -- fixtures: databases and an SMTP server -------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'alerts.db'}"
        return
    with throwaway_database("vigil_alerts") as url:
        yield url


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.dispose()


class Inbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> Settings:
        return Settings(smtp_host="127.0.0.1", smtp_port=self.port, smtp_tls="none", mail_from="vigil@test.example")


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# -- derived frames, built by the real SUSAR code ---------------------------------------------------
def ae_versions(term: str = "Pneumonitis", verbatim: str = "cough and fever") -> pl.DataFrame:
    frame = pl.DataFrame({
        "STUDYID": "ST", "USUBJID": ["ST-001"], "AESEQ": 1, "_version": 1, "_run_id": 1,
        "_valid_from": dt.datetime(2025, 3, 2), "AETERM": verbatim, "AEDECOD": term, "AEBODSYS": "Respiratory",
        "AESER": "Y", **{f: "N" for f in FLAGS}, "AEREL": "RELATED", "AEREL2": "NOT RELATED",
        "AEOUT": "NOT RECOVERED", "AETOXGR": 3, "AEACN": "DRUG INTERRUPTED", "AESTDTC": "2025-03-01",
        "AEAWDTC": "2025-03-02",
    }).with_columns(AESHOSP=pl.lit("Y"))
    return derive_dates(derive_dates(frame, "AESTDTC", "first"), "AEAWDTC", "first")


def derived_with_susar(term: str = "Pneumonitis", verbatim: str = "cough and fever") -> dict[str, pl.DataFrame]:
    versions = ae_versions(term, verbatim)
    cases, followups = susar_cases(versions, RSI, PV, None, None, None, NOW.date())
    assert cases.height == 1 and cases["CASE_STATE"][0] == "SUSAR"
    ae_events = classify_susars(versions.rename({"_version": "_VERSION"}), RSI, PV)
    sources = {r.source for r in CFG.rules} - {"quarantine_growth", "stale_data"}
    derived = {name: pl.DataFrame() for name in sources}
    derived.update(susar_cases=cases, susar_followups=followups, ae_events=ae_events)
    return derived


def only(cfg, *rule_ids):
    """The shipped config with only some rules enabled (to count messages per event)."""
    rules = [r.model_copy(update={"enabled": r.id in rule_ids}) for r in cfg.rules]
    return cfg.model_copy(update={"rules": rules})


def generate(store, derived, cfg, cycle_id=None, now=NOW) -> int:
    with store.write() as conn:
        return generate_alerts(conn, store, derived, cycle_id, cfg, now)


def attempts(store, alert_id=None):
    t = schema.delivery_attempt
    q = select(t.c.alert_id, t.c.ok, t.c.error).order_by(t.c.id)
    if alert_id is not None:
        q = q.where(t.c.alert_id == alert_id)
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(q)]


# -- tests --------------------------------------------------------------------------------------------
def test_new_susar_delivers_exactly_one_message(store, smtp):
    cfg = only(CFG, "susar_new")
    assert generate(store, derived_with_susar(), cfg) == 1
    report = deliver_pending(store, smtp.settings, cfg, NOW)
    assert (report.sent, report.failed) == (1, 0)
    (rcpts, msg), = smtp.inbox.messages
    assert msg["Subject"] == "[VIGIL-ELA-EXE-01] CRITICAL: New SUSAR ST-ST-001-1: report due 2025-03-17 - subject ST-001"
    assert sorted(rcpts) == sorted(CFG.addresses(["pharmacovigilance", "safety_officers", "pi"]))
    plain = msg.get_body(("plain",)).get_content()
    for expected in ("Study: VIGIL-ELA-EXE-01", "Subject: ST-001", "Rule: susar_new",
                     "Dashboard: http://127.0.0.1:8050/susars", "DUE_DATE: 2025-03-17"):
        assert expected in plain
    assert "cough and fever" not in plain  # no verbatim text unless a rule lists it
    html_part = msg.get_body(("html",)).get_content()
    assert 'href="http://127.0.0.1:8050/susars"' in html_part
    # the same derived frames again (next cycle, or a restarted process): nothing new, nothing sent
    assert generate(store, derived_with_susar(), cfg) == 0
    assert deliver_pending(store, smtp.settings, cfg, NOW + dt.timedelta(hours=1)).sent == 0
    assert len(smtp.inbox.messages) == 1
    row = list_alerts(store).row(0, named=True)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None


def test_outage_waits_with_error_then_delivers_once(store, smtp):
    cfg = only(CFG, "susar_new")
    generate(store, derived_with_susar(), cfg)
    smtp.stop()
    report = deliver_pending(store, smtp.settings, cfg, NOW)  # must not raise
    assert (report.sent, report.failed, report.retried) == (0, 1, 1)
    alert = list_alerts(store).row(0, named=True)
    assert alert["status"] == "pending"
    (alert_id, ok, error), = attempts(store)
    assert not ok and ("refused" in error.lower() or "connect" in error.lower())
    # within the back-off nothing is tried, even with the server back
    smtp.start()
    assert deliver_pending(store, smtp.settings, cfg, NOW + dt.timedelta(seconds=30)).sent == 0
    assert len(attempts(store)) == 1
    later = NOW + dt.timedelta(seconds=cfg.retry.backoff_seconds + 1)
    assert deliver_pending(store, smtp.settings, cfg, later).sent == 1
    assert deliver_pending(store, smtp.settings, cfg, later + dt.timedelta(hours=1)).sent == 0
    assert len(smtp.inbox.messages) == 1
    assert [a[1] for a in attempts(store)] == [False, True]


def test_max_attempts_then_failed_and_explicit_retry(store, smtp):
    cfg = only(CFG, "susar_new")
    cfg = cfg.model_copy(update={"retry": cfg.retry.model_copy(update={"max_attempts": 2})})
    generate(store, derived_with_susar(), cfg)
    smtp.stop()
    t = NOW
    deliver_pending(store, smtp.settings, cfg, t)
    t += dt.timedelta(hours=2)
    report = deliver_pending(store, smtp.settings, cfg, t)
    assert report.gave_up == 1 and list_alerts(store)["status"][0] == "failed"
    smtp.start()
    assert deliver_pending(store, smtp.settings, cfg, t + dt.timedelta(days=1)).sent == 0  # scheduler: no
    assert deliver_pending(store, smtp.settings, cfg, t, retry_failed=True).sent == 1  # explicit: yes
    assert len(smtp.inbox.messages) == 1 and list_alerts(store)["status"][0] == "sent"


def test_concurrent_deliveries_send_each_alert_once(db_url, smtp):
    cfg = only(CFG, "susar_new")
    setup = Store(db_url)
    derived = derived_with_susar()
    cases = derived["susar_cases"]
    # five SUSAR cases, so a race has something to fight over
    derived["susar_cases"] = pl.concat([cases.with_columns(pl.lit(f"CASE-{i}").alias("CASE_ID")) for i in range(5)])
    assert generate(setup, derived, cfg) == 5
    setup.dispose()
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def worker():
        own = Store(db_url, migrate_schema=False)
        try:
            barrier.wait(timeout=30)
            reports.append(deliver_pending(own, smtp.settings, cfg, NOW))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors and len(reports) == 2
    ids = sorted(m["X-Vigil-Alert"] for _, m in smtp.inbox.messages)
    assert len(ids) == 5 and len(set(ids)) == 5
    assert sum(r.sent for r in reports) == 5


def test_script_in_term_and_verbatim_is_inert_in_html(store, smtp):
    cfg = only(CFG, "serious_ae")
    rule = cfg.rule("serious_ae")
    # a deployment that chose to show the verbatim term: it must still arrive as text
    rules = [r.model_copy(update={"fields": [*rule.fields, "AETERM"]}) if r.id == "serious_ae" else r for r in cfg.rules]
    cfg = cfg.model_copy(update={"rules": rules})
    assert generate(store, derived_with_susar(term=XSS, verbatim=XSS + " & <b>x</b>"), cfg) == 1
    deliver_pending(store, smtp.settings, cfg, NOW)
    (_, msg), = smtp.inbox.messages
    html_part = msg.get_body(("html",)).get_content()
    assert "<script>" not in html_part and "<b>x</b>" not in html_part
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part and "&amp; &lt;b&gt;x&lt;/b&gt;" in html_part
    assert XSS in msg.get_body(("plain",)).get_content()  # plain text shows it literally


def test_acknowledge_once_with_audit(store):
    cfg = only(CFG, "susar_new")
    generate(store, derived_with_susar(), cfg)
    alert_id = list_alerts(store)["id"][0]
    acknowledge(store, alert_id, "dr.smith", "reviewed; report in preparation", NOW)
    with pytest.raises(AlertError, match=f"alert {alert_id} was already acknowledged by dr.smith"):
        acknowledge(store, alert_id, "dr.jones", "me too", NOW)
    with pytest.raises(AlertError, match="no alert with id 999"):
        acknowledge(store, 999, "dr.jones", "x", NOW)
    row = list_alerts(store).row(0, named=True)
    assert row["acknowledged_by"] == "dr.smith" and row["ack_comment"] == "reviewed; report in preparation"
    t = schema.audit_log
    with store.read() as conn:
        audits = conn.execute(select(t.c.actor, t.c.action, t.c.target, t.c.details)).all()
    assert [(a[0], a[1], a[2]) for a in audits] == [("dr.smith", "alert.acknowledge", f"alert:{alert_id}")]
    assert audits[0][3]["comment"] == "reviewed; report in preparation"


def test_initial_load_suppress_then_later_alerts_are_pending(store, smtp):
    cfg = only(CFG, "susar_new", "serious_ae").model_copy(update={"initial_load": "suppress"})
    with store.write() as conn:
        cycle_id = conn.execute(insert(schema.cycle).values(started_at=NOW, status="running")).inserted_primary_key[0]
    assert generate(store, derived_with_susar(), cfg, cycle_id) == 2
    assert set(list_alerts(store)["status"]) == {"suppressed"}
    assert deliver_pending(store, smtp.settings, cfg, NOW).sent == 0 and smtp.inbox.messages == []
    second = derived_with_susar()
    second["ae_events"] = second["ae_events"].with_columns(pl.lit(2).alias("AESEQ"))
    assert generate(store, second, cfg, cycle_id + 1) == 1
    assert list_alerts(store, status="pending").height == 1


def test_digest_one_message_per_group_then_nothing(store, smtp):
    cfg = only(CFG, "lab_without_ae")
    review = pl.DataFrame({
        "KIND": "lab grade >=3 without AE", "USUBJID": ["S1", "S2"], "TERM": ["NEUTROPHILS", "ALT"],
        "LBSEQ": [[11], [12, 13]], "AESEQ": None, "LAB_GRADE": [3, 4], "AE_GRADE": None,
        "LBDTC": ["2025-03-01", "2025-03-02"], "ATOXVER": "CTCAE v5.0",
    }, schema_overrides={"AESEQ": pl.Int64, "AE_GRADE": pl.Int64})
    assert generate(store, {"lab_review": review}, cfg) == 2
    assert deliver_pending(store, smtp.settings, cfg, NOW).sent == 0  # digest alerts wait for the digest
    report = send_digest(store, smtp.settings, cfg, NOW)
    groups = cfg.rule("lab_without_ae").recipients
    assert report.messages == len(groups) == len(smtp.inbox.messages) and report.alerts == 2
    assert sorted(sorted(r) for r, _ in smtp.inbox.messages) == sorted(sorted(cfg.addresses([g])) for g in groups)
    for _, msg in smtp.inbox.messages:
        assert "2 alerts" in msg["Subject"] and "Grade 4 ALT" in msg.get_body(("plain",)).get_content()
    assert set(list_alerts(store)["status"]) == {"digested"}
    assert send_digest(store, smtp.settings, cfg, NOW + dt.timedelta(days=1)).messages == 0


def test_quarantine_growth_and_stale_data(store):
    cfg = only(CFG, "quarantine_growth", "stale_data")
    with store.write() as conn:
        for i, n in enumerate([2, 5], start=1):
            conn.execute(insert(schema.ingest_run).values(
                id=i, source="x", source_kind="sdtm_files", started_at=NOW, finished_at=NOW, status="success",
                n_quarantined=n))
    assert generate(store, {}, cfg) == 1
    assert list_alerts(store)["title"][0] == "Quarantine grew to 5 records (run 2, was 2)"
    assert raise_stale_data_alert(store, cfg, NOW + dt.timedelta(hours=1)) == 0
    late = NOW + dt.timedelta(hours=cfg.stale_data.hours + 1)
    assert raise_stale_data_alert(store, cfg, late) == 1
    assert raise_stale_data_alert(store, cfg, late + dt.timedelta(minutes=5)) == 0  # same day, same event


def test_no_smtp_host_leaves_alerts_pending(store):
    cfg = only(CFG, "susar_new")
    generate(store, derived_with_susar(), cfg)
    report = deliver_pending(store, Settings(smtp_host=None), cfg, NOW)
    assert report.skipped_reason and report.sent == 0
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(schema.delivery_attempt)).scalar_one() == 0
    assert list_alerts(store)["status"][0] == "pending"


def test_stale_data_alert_before_the_first_cycle_does_not_unsuppress_the_back_log(store, smtp):
    # initial_load: suppress (config/alerting.yaml) records the first cycle's back-log, never mails it. On a
    # fresh install the delivery step (every minute) raises 'data stale: never' before the first cycle (every
    # 15 minutes) has run; that scheduler alert must not make the first cycle look like a later one.
    cfg = only(CFG, "susar_new", "serious_ae", "stale_data").model_copy(update={"initial_load": "suppress"})
    assert raise_stale_data_alert(store, cfg, NOW) == 1
    with store.write() as conn:
        cycle_id = conn.execute(insert(schema.cycle).values(started_at=NOW, status="running")).inserted_primary_key[0]
    assert generate(store, derived_with_susar(), cfg, cycle_id) == 2
    statuses = dict(zip(list_alerts(store)["rule"], list_alerts(store)["status"], strict=True))
    assert statuses == {"stale_data": "pending", "susar_new": "suppressed", "serious_ae": "suppressed"}


def test_claim_holds_for_claim_seconds_of_real_time_when_the_run_started_earlier(db_url, store, smtp):
    # never double an alert: a cycle hands deliver_pending the time it started, often minutes before it
    # delivers (ingest and derivations run first). Its claim must still protect the alert while it is on the
    # wire, or a concurrent sender (the scheduler's delivery step, `vigil alerts deliver`) takes it and mails
    # it a second time.
    from safety.alerts import outbox

    cfg = only(CFG, "susar_new")
    generate(store, derived_with_susar(), cfg)
    alert_id = list_alerts(store)["id"][0]
    other = Store(db_url, migrate_schema=False)
    seen = []
    handle = smtp.inbox.handle_DATA

    async def while_sending(server, session, envelope):
        wall = dt.datetime.now(dt.UTC)
        seen.append((outbox.due_ids(other, "immediate", wall, 10), outbox.claim(other, alert_id, "other", wall, 300)))
        return await handle(server, session, envelope)

    smtp.inbox.handle_DATA = while_sending
    try:
        started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=cfg.retry.claim_seconds + 60)
        assert deliver_pending(store, smtp.settings, cfg, started).sent == 1
    finally:
        other.dispose()
    assert seen == [([], None)]
    assert len(smtp.inbox.messages) == 1


def test_encoded_word_in_a_title_cannot_inject_a_header(store, smtp):
    # header injection: an AE term from the source such as '=?utf-8?q?=0AX-Injected:_yes?=' is an RFC 2047
    # encoded word for a line break; the header parser decodes it, and the subject went out with a bare LF
    # that the receiving server reads as the start of a new header
    cfg = only(CFG, "serious_ae")
    assert generate(store, derived_with_susar(term="=?utf-8?q?=0AX-Injected:_yes=0A?="), cfg) == 1
    assert deliver_pending(store, smtp.settings, cfg, NOW).sent == 1
    (_, msg), = smtp.inbox.messages
    assert msg["X-Injected"] is None
    assert "\n" not in msg["Subject"] and msg["Subject"].endswith("grade 3 - subject ST-001")
    assert "=?utf-8?q?=0AX-Injected:_yes=0A?=" in msg.get_body(("plain",)).get_content()  # the body keeps it
