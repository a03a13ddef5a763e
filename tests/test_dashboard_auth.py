"""The dashboard's login guard, CSRF and data-cut reads, through Flask's test client: no browser."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from sqlalchemy import insert, update

from dashboards.data import StoreReader
from safety import users
from safety.store import Store, schema, utcnow

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def client(tmp_path, monkeypatch):
    from dashboards.app import create_app
    from dashboards.sample_store import study_folder

    monkeypatch.setenv("VIGIL_SECRET_KEY", "test-secret-" + "x" * 40)
    cfg = study_folder(tmp_path)
    store = Store(cfg.database)
    users.create_user(store, "carol", "committee", PASSWORD)
    app = create_app(cfg, store)
    yield app.server.test_client()
    store.dispose()


def test_login_form_without_a_token_is_refused(client):
    # another site's auto-submitted form: the browser has no Vigil session yet, so no token either
    r = client.post("/login", data={"csrf": "", "username": "carol", "password": PASSWORD, "next": "/"})
    assert r.status_code == 401 and "Location" not in r.headers
    assert client.get("/alerts").status_code == 302  # still signed out


def test_login_with_the_session_token_signs_in(client):
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    r = client.post("/login", data={"csrf": token, "username": "carol", "password": PASSWORD, "next": "/alerts"})
    assert r.status_code == 302 and r.headers["Location"] == "/alerts"


@pytest.mark.parametrize("path", ["/loginx", "/login-page", "/login/../alerts"])
def test_only_the_login_page_itself_is_open(client, path):
    r = client.get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


def test_a_data_cut_shows_the_dlt_decisions_made_before_it(store):
    from jobs.data_cut import freeze_data_cut

    t = schema.dlt_confirmation
    with store.write() as conn:
        store.put_derived(conn, "dlt_candidates", pl.DataFrame({"CANDIDATE_ID": ["S1:DLT1", "S2:DLT1"]}), None, "t")
        conn.execute(insert(t).values(candidate_id="S1:DLT1", decision="CONFIRMED", decided_by="carol",
                                      decided_at=utcnow() - timedelta(days=1), comment=""))
    cut = freeze_data_cut(store, "DMC meeting 1", "test")
    with store.write() as conn:  # decisions made after the meeting's cut was frozen
        conn.execute(insert(t).values(candidate_id="S1:DLT1", decision="REJECTED", decided_by="carol",
                                      decided_at=utcnow() + timedelta(days=1), comment="on review"))
        conn.execute(insert(t).values(candidate_id="S2:DLT1", decision="CONFIRMED", decided_by="carol",
                                      decided_at=utcnow() + timedelta(days=1), comment=""))
    reader = StoreReader(store)
    at_cut = reader.view(cut["id"]).dlt_decisions()
    assert at_cut.select("candidate_id", "decision").rows() == [("S1:DLT1", "CONFIRMED")]
    assert reader.view(None).dlt_decisions().height == 3  # live shows every decision


def test_a_data_cut_shows_signal_status_and_assessments_as_they_were(store):
    from jobs.data_cut import freeze_data_cut

    s, cy = schema.signal_state, schema.cycle
    now = utcnow()
    with store.write() as conn:
        cycle_id = conn.execute(insert(cy).values(started_at=now, finished_at=now, status="success")
                                ).inserted_primary_key[0]
        store.put_derived(conn, "signals_flagged", pl.DataFrame({
            "SIGNAL_KEY": ["oe|any|nausea", "oe|any|rash"], "SIGNAL_STATUS": ["ongoing", "new"]}), cycle_id, "t")
        for key, assessed in (("oe|any|nausea", "under evaluation"), ("oe|any|rash", None)):
            conn.execute(insert(s).values(signal_key=key, status="ongoing" if assessed else "new", first_seen_cycle=1,
                                          last_seen_cycle=cycle_id, first_seen_at=now, updated_at=now,
                                          assessment=assessed, assessed_by="carol" if assessed else None,
                                          assessed_at=now - timedelta(hours=1) if assessed else None))
    cut = freeze_data_cut(store, "DMC meeting 1", "test")
    with store.write() as conn:  # after the meeting: nausea closes, rash is assessed
        conn.execute(update(s).where(s.c.signal_key == "oe|any|nausea").values(status="closed"))
        conn.execute(update(s).where(s.c.signal_key == "oe|any|rash").values(
            status="ongoing", assessment="refuted", assessed_by="dan", assessed_at=now + timedelta(days=1)))
    reader = StoreReader(store)
    at_cut = reader.view(cut["id"]).signal_states()
    assert at_cut.select("signal_key", "status", "assessment", "assessed_by").rows() == [
        ("oe|any|nausea", "ongoing", "under evaluation", "carol"), ("oe|any|rash", "new", None, None)]
    live = reader.view(None).signal_states()
    assert live.select("signal_key", "status", "assessment").rows() == [
        ("oe|any|nausea", "closed", "under evaluation"), ("oe|any|rash", "ongoing", "refuted")]
