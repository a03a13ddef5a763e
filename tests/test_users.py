"""Dashboard users: argon2 hashes, roles, disable/reset, audit, and the dashboard's two writes."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from dashboards import actions
from safety import users
from safety.store import Store, schema, utcnow


@pytest.fixture
def store(database_url):
    s = Store(database_url)
    yield s
    s.dispose()


def _audit(store: Store) -> list[tuple[str, str, str]]:
    with store.read() as conn:
        rows = conn.execute(select(schema.audit_log).order_by(schema.audit_log.c.id)).mappings().all()
    return [(r["actor"], r["action"], r["target"]) for r in rows]


def test_create_stores_an_argon2_hash_and_verifies(store):
    user, password = users.create_user(store, "alice", "safety_officer")
    assert len(password) >= users.MIN_PASSWORD_LENGTH  # generated, never a default
    with store.read() as conn:
        stored = conn.execute(select(schema.app_user.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored
    assert users.verify_login(store, "alice", password).role == "safety_officer"
    assert users.verify_login(store, "alice", password + "x") is None
    assert users.verify_login(store, "nobody", password) is None
    assert _audit(store) == [("cli", "user_create", "alice")]


def test_rules_for_names_roles_and_passwords(store):
    with pytest.raises(users.UserError, match="unknown role"):
        users.create_user(store, "bob", "superuser", "a-long-enough-password")
    with pytest.raises(users.UserError, match="at least"):
        users.create_user(store, "bob", "committee", "short")
    users.create_user(store, "bob", "committee", "a-long-enough-password")
    with pytest.raises(users.UserError, match="already exists"):
        users.create_user(store, "bob", "committee", "a-long-enough-password")


def test_disable_and_reset(store):
    users.create_user(store, "carol", "committee", "first-password-123")
    users.set_active(store, "carol", False)
    assert users.verify_login(store, "carol", "first-password-123") is None
    users.set_active(store, "carol", True)
    new = users.reset_password(store, "carol")
    assert users.verify_login(store, "carol", "first-password-123") is None
    assert users.verify_login(store, "carol", new) is not None
    with pytest.raises(users.UserError, match="no user"):
        users.reset_password(store, "dave")
    assert [a[1] for a in _audit(store)] == ["user_create", "user_disable", "user_enable", "user_password_reset"]


def test_demo_user_only_on_an_empty_store(store):
    password = users.ensure_demo_user(store)
    assert password and users.verify_login(store, "demo", password)
    assert users.ensure_demo_user(store) is None


def _alert(store: Store) -> int:
    with store.write() as conn:
        return conn.execute(insert(schema.alert).values(
            event_key="k1", rule="dlt", severity="high", delivery="immediate", title="t", body="b",
            recipients=[], created_at=utcnow(), status="sent")).inserted_primary_key[0]


def test_acknowledge_alert_writes_row_and_audit(store):
    alert_id = _alert(store)
    with pytest.raises(actions.ActionRefused, match="investigator"):
        actions.acknowledge_alert(store, alert_id, "ivan", "investigator", "seen")
    with pytest.raises(actions.ActionRefused, match="comment"):
        actions.acknowledge_alert(store, alert_id, "alice", "safety_officer", "  ")
    actions.acknowledge_alert(store, alert_id, "alice", "safety_officer", "seen, site called")
    with pytest.raises(actions.ActionRefused, match="already"):
        actions.acknowledge_alert(store, alert_id, "alice", "safety_officer", "again")
    with store.read() as conn:
        row = conn.execute(select(schema.alert)).mappings().one()
    assert (row["acknowledged_by"], row["ack_comment"]) == ("alice", "seen, site called")
    assert _audit(store) == [("alice", "alert.acknowledge", f"alert:{alert_id}")]


def test_dlt_decisions_committee_only_and_audited(store):
    import polars as pl

    with pytest.raises(actions.ActionRefused, match="no DLT candidate"):
        actions.decide_dlt(store, "S1:DLT1", "CONFIRMED", "carol", "committee", None)
    with store.write() as conn:  # the last cycle's candidates
        store.put_derived(conn, "dlt_candidates", pl.DataFrame({"CANDIDATE_ID": ["S1:DLT1"]}), None, "test")
    with pytest.raises(actions.ActionRefused, match="committee"):
        actions.decide_dlt(store, "S1:DLT1", "CONFIRMED", "alice", "safety_officer", None)
    with pytest.raises(actions.ActionRefused, match="comment"):
        actions.decide_dlt(store, "S1:DLT1", "REJECTED", "carol", "committee", "")
    actions.decide_dlt(store, "S1:DLT1", "CONFIRMED", "carol", "committee", None)
    actions.decide_dlt(store, "S1:DLT1", "REJECTED", "carol", "committee", "attributed to disease")
    with store.read() as conn:
        rows = conn.execute(select(schema.dlt_confirmation).order_by(schema.dlt_confirmation.c.id)).mappings().all()
    assert [(r["decision"], r["decided_by"]) for r in rows] == [("CONFIRMED", "carol"), ("REJECTED", "carol")]
    assert [a[1] for a in _audit(store)] == ["dlt.confirmed", "dlt.rejected"]


def test_dashboard_refuses_to_start_without_a_secret(tmp_path, monkeypatch):
    from dashboards.app import ConfigurationError, create_app
    from dashboards.sample_store import study_folder

    monkeypatch.delenv("VIGIL_SECRET_KEY", raising=False)
    cfg = study_folder(tmp_path)
    store = Store(cfg.database)
    with pytest.raises(ConfigurationError, match="VIGIL_SECRET_KEY"):
        create_app(cfg, store)
    app = create_app(cfg, store, demo=True)  # demo: a throwaway secret and a printed demo user
    assert app.server.secret_key and users.get_user(store, "demo") is not None
    store.dispose()


def test_repeated_wrong_passwords_lock_the_account_for_a_while(store):
    # OWASP ASVS 2.2.1: a dashboard that guards patient safety data must not allow unlimited guessing.
    from sqlalchemy import update as sql_update

    from safety.store import schema

    users.create_user(store, "erin", "committee", "right-password-123")
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        assert users.verify_login(store, "erin", "wrong-password-000") is None
    assert users.verify_login(store, "erin", "right-password-123") is not None  # a success resets the count
    for _ in range(users.MAX_FAILED_LOGINS):
        assert users.verify_login(store, "erin", "wrong-password-000") is None
    assert users.verify_login(store, "erin", "right-password-123") is None  # locked: even the right one
    assert [a[1] for a in _audit(store)][-1] == "user_locked"
    t = schema.app_user
    with store.write() as conn:  # the lock has run out
        conn.execute(sql_update(t).where(t.c.username == "erin").values(
            locked_until=users.utcnow() - users.LOCKOUT))
    assert users.verify_login(store, "erin", "right-password-123") is not None
    for _ in range(users.MAX_FAILED_LOGINS):
        users.verify_login(store, "erin", "wrong-password-000")
    new = users.reset_password(store, "erin")  # an administrator's reset lifts the lock
    assert users.verify_login(store, "erin", new) is not None
