"""The dashboard's login guard, CSRF and data-cut reads, through Flask's test client: no browser."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from sqlalchemy import insert

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
