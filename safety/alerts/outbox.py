"""The alert outbox: insert events once, claim them for delivery, record each attempt, acknowledge.

Exactly-once rests on the database, not on the process: the unique event_key with ON CONFLICT DO
NOTHING makes a second insert of the same event a no-op, and a claim is a conditional UPDATE whose
row count says whether this process won the alert (two senders can never both win). A process that
dies after the SMTP server accepted a message but before marking it sent leaves a claim that
expires, and the alert is sent again: at-least-once in that one window, which is the most SMTP
allows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from safety.alerts.events import AlertEvent, as_utc, events_for_rule, quarantine_growth_frame
from safety.alerts.rules import AlertConfig
from safety.store import Store, schema

A = schema.alert


class AlertError(ValueError):
    """An alert operation the user asked for cannot be done (unknown id, already acknowledged)."""


def _insert_ignoring_duplicates(conn: Connection, values: dict[str, Any]) -> int:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise NotImplementedError(f"alert outbox: dialect {conn.dialect.name} is not supported")
    stmt = dialect_insert(A).values(**values).on_conflict_do_nothing(index_elements=["event_key"]).returning(A.c.id)
    # RETURNING, not rowcount: drivers differ in what rowcount reports for a skipped conflict
    return len(conn.execute(stmt).all())


def insert_events(conn: Connection, events: list[AlertEvent], cycle_id: int | None, now: dt.datetime,
                  status: str = "pending") -> int:
    """Insert the events not yet in the outbox; returns how many were new."""
    now = as_utc(now)
    inserted = 0
    for ev in events:
        inserted += _insert_ignoring_duplicates(conn, {
            "event_key": ev.event_key, "rule": ev.rule, "severity": ev.severity, "delivery": ev.delivery,
            "usubjid": ev.usubjid, "record_key": ev.record_key, "title": ev.title, "body": ev.body,
            "link": ev.link, "recipients": ev.recipients, "created_at": now, "cycle_id": cycle_id,
            # alerts nobody is to be mailed about are recorded as suppressed from the start
            "status": "suppressed" if ev.delivery == "none" else status,
            "attempts": 0, "next_attempt_at": now,
        })
    return inserted


def is_initial_load(conn: Connection, cycle_id: int | None) -> bool:
    """No alert ever recorded and no earlier successful cycle: this is the store's first cycle."""
    # alerts a cycle raised; the scheduler's stale-data alert (no cycle) can precede the first cycle
    if conn.execute(select(func.count()).select_from(A).where(A.c.cycle_id.is_not(None))).scalar_one():
        return False
    c = schema.cycle
    earlier = select(func.count()).select_from(c).where(c.c.status == "success")
    if cycle_id is not None:
        earlier = earlier.where(c.c.id != cycle_id)
    return conn.execute(earlier).scalar_one() == 0


def _finished_runs(conn: Connection) -> pl.DataFrame:
    t = schema.ingest_run
    rows = conn.execute(
        select(t.c.id, t.c.n_quarantined).where(t.c.status.in_(["success", "partial"])).order_by(t.c.id.desc()).limit(2)
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], orient="row", schema={"id": pl.Int64, "n_quarantined": pl.Int64})


def cycle_events(conn: Connection, derived: dict[str, pl.DataFrame], cfg: AlertConfig) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for rule in cfg.rules:
        if not rule.enabled or rule.source == "stale_data":
            continue  # staleness is the scheduler's question (`stale_data_event`), not the cycle's
        if rule.source == "quarantine_growth":
            frame = quarantine_growth_frame(_finished_runs(conn))
        else:
            frame = derived.get(rule.source)
        events += events_for_rule(frame, rule, cfg)
    return events


def generate_alerts(conn: Connection, store: Store, derived: dict[str, pl.DataFrame], cycle_id: int,
                    cfg: AlertConfig, now: dt.datetime | None = None) -> int:
    """Raise the cycle's alerts inside the cycle's write transaction; returns how many were new.

    On the store's first cycle with `initial_load: suppress` the back-log is recorded as
    'suppressed' (visible on the dashboard and in `vigil alerts list`, never e-mailed)."""
    del store  # the cycle's connection is the one that must see (and write) this cycle
    now = now or dt.datetime.now(dt.UTC)
    status = "suppressed" if cfg.initial_load == "suppress" and is_initial_load(conn, cycle_id) else "pending"
    return insert_events(conn, cycle_events(conn, derived, cfg), cycle_id, now, status)


def raise_stale_data_alert(store: Store, cfg: AlertConfig, now: dt.datetime | None = None) -> int:
    """For the scheduler: record a 'data stale' alert if the last successful pull is too old."""
    from safety.alerts.events import stale_data_event

    now = now or dt.datetime.now(dt.UTC)
    run = store.last_successful_run()
    last = None if run is None else (run.get("finished_at") or run.get("started_at"))
    event = stale_data_event(last, now, cfg)
    if event is None:
        return 0
    with store.write() as conn:
        return insert_events(conn, [event], None, now)


# -- delivery bookkeeping ---------------------------------------------------------------------------
def due_ids(store: Store, delivery: str, now: dt.datetime, limit: int, retry_failed: bool = False) -> list[int]:
    statuses = ["pending", "failed"] if retry_failed else ["pending"]
    now = as_utc(now)
    with store.read() as conn:
        return list(conn.execute(
            select(A.c.id).where(
                A.c.delivery == delivery, A.c.status.in_(statuses),
                # an explicit retry of failed alerts ignores their back-off
                or_(A.c.next_attempt_at.is_(None), A.c.next_attempt_at <= now, A.c.status == "failed"),
                or_(A.c.claimed_until.is_(None), A.c.claimed_until < now),
            ).order_by(A.c.id).limit(limit)
        ).scalars())


def claim(store: Store, alert_id: int, holder: str, now: dt.datetime, seconds: float,
          statuses: tuple[str, ...] = ("pending",)) -> dict[str, Any] | None:
    """Take one alert for sending; None if another process holds it or it is no longer due."""
    now = as_utc(now)
    # the hold runs from the real time of the claim: `now` may be when a long cycle or run started
    until = max(now, dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=seconds)
    with store.write() as conn:
        won = conn.execute(
            update(A).where(
                A.c.id == alert_id, A.c.status.in_(statuses),
                or_(A.c.claimed_until.is_(None), A.c.claimed_until < now),
            ).values(claimed_by=holder, claimed_until=until)
        ).rowcount
        if won != 1:
            return None
        return dict(conn.execute(select(A).where(A.c.id == alert_id)).mappings().one())


def record_attempt(store: Store, alert_id: int, holder: str, now: dt.datetime, ok: bool, error: str | None,
                   message_id: str | None, next_status: str, next_attempt_at: dt.datetime | None,
                   sent_status: str = "sent") -> None:
    """Write the attempt and the alert's new state, releasing the claim (only if still ours)."""
    now = as_utc(now)
    with store.write() as conn:
        conn.execute(insert(schema.delivery_attempt).values(
            alert_id=alert_id, at=now, ok=ok, error=error, message_id=message_id))
        values: dict[str, Any] = {"status": sent_status if ok else next_status, "attempts": A.c.attempts + 1,
                                  "claimed_by": None, "claimed_until": None,
                                  "next_attempt_at": None if ok else next_attempt_at}
        if ok:
            values["sent_at"] = now
        conn.execute(update(A).where(A.c.id == alert_id, A.c.claimed_by == holder).values(**values))


def release(store: Store, alert_ids: list[int], holder: str) -> None:
    if not alert_ids:
        return
    with store.write() as conn:
        conn.execute(update(A).where(A.c.id.in_(alert_ids), A.c.claimed_by == holder)
                     .values(claimed_by=None, claimed_until=None))


# -- acknowledgement and listing ------------------------------------------------------------------
def acknowledge(store: Store, alert_id: int, user: str, comment: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Acknowledge an alert once, with an audit_log row; a second acknowledgement is refused."""
    if not user or not user.strip():
        raise AlertError("an acknowledgement needs the user's name")
    if not comment or not comment.strip():
        raise AlertError("an acknowledgement needs a comment")
    now = as_utc(now or dt.datetime.now(dt.UTC))
    with store.write() as conn:
        done = conn.execute(
            update(A).where(A.c.id == alert_id, A.c.acknowledged_at.is_(None))
            .values(acknowledged_at=now, acknowledged_by=user.strip(), ack_comment=comment)
        ).rowcount
        row = conn.execute(select(A).where(A.c.id == alert_id)).mappings().first()
        if row is None:
            raise AlertError(f"no alert with id {alert_id}")
        if done != 1:
            raise AlertError(f"alert {alert_id} was already acknowledged by {row['acknowledged_by']} "
                             f"at {as_utc(row['acknowledged_at']).isoformat(timespec='minutes')}")
        store.audit(conn, user.strip(), "alert.acknowledge", f"alert:{alert_id}",
                    {"event_key": row["event_key"], "rule": row["rule"], "usubjid": row["usubjid"],
                     "comment": comment})
        return dict(row)


LIST_COLUMNS = ["id", "created_at", "rule", "severity", "delivery", "status", "usubjid", "title", "attempts",
                "sent_at", "acknowledged_at", "acknowledged_by", "ack_comment", "link"]


def list_alerts(store: Store, status: str | None = None, limit: int = 200, unacknowledged: bool = False) -> pl.DataFrame:
    """Newest first; `status` one of pending|sent|failed|digested|suppressed."""
    query = select(*(A.c[c] for c in LIST_COLUMNS)).order_by(A.c.id.desc()).limit(limit)
    if status:
        query = query.where(A.c.status == status)
    if unacknowledged:
        query = query.where(A.c.acknowledged_at.is_(None))
    with store.read() as conn:
        rows = conn.execute(query).all()
    schema_ = {c: pl.String for c in LIST_COLUMNS} | {
        "id": pl.Int64, "attempts": pl.Int64, "created_at": pl.Datetime("us", "UTC"),
        "sent_at": pl.Datetime("us", "UTC"), "acknowledged_at": pl.Datetime("us", "UTC")}
    data = [tuple(as_utc(v) if isinstance(v, dt.datetime) else v for v in r) for r in rows]
    return pl.DataFrame(data, orient="row", schema=schema_)


def last_error(store: Store, alert_id: int) -> str | None:
    t = schema.delivery_attempt
    with store.read() as conn:
        return conn.execute(select(t.c.error).where(and_(t.c.alert_id == alert_id, t.c.ok.is_(False)))
                            .order_by(t.c.id.desc()).limit(1)).scalar_one_or_none()


__all__ = ["AlertError", "acknowledge", "generate_alerts", "insert_events", "list_alerts", "raise_stale_data_alert"]
