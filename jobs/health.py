"""Service health: the next run of each job, the last outcome, each source's last success, staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, String, column, func, inspect, select, table

from jobs.config import load_jobs_config
from jobs.locks import as_utc
from jobs.runs import last_runs
from safety.config import StudyConfig
from safety.store import Store, schema

JOBSTORE_TABLE = "apscheduler_jobs"
_jobs_t = table(JOBSTORE_TABLE, column("id", String), column("next_run_time", Float))


def stale_data(last_success_at: datetime | None, now: datetime, stale_after_hours: float) -> bool:
    """No successful ingest at all, or the last one is older than the configured limit."""
    if last_success_at is None:
        return True
    return now - as_utc(last_success_at) > timedelta(hours=stale_after_hours)


def last_ingest_success(store: Store) -> datetime | None:
    last = store.last_successful_run()
    return as_utc(last["finished_at"]) if last else None


def next_runs(store: Store) -> dict[str, datetime | None]:
    """From the job store table (shared by every scheduler process); empty before the first start."""
    if not inspect(store.engine).has_table(JOBSTORE_TABLE):
        return {}
    with store.read() as conn:
        rows = conn.execute(select(_jobs_t.c.id, _jobs_t.c.next_run_time)).all()
    return {r[0]: None if r[1] is None else datetime.fromtimestamp(r[1], UTC) for r in rows}


def source_health(store: Store) -> list[dict[str, Any]]:
    t = schema.ingest_run
    ok = t.c.status.in_(["success", "partial"])
    with store.read() as conn:
        sources = conn.execute(select(t.c.source, t.c.source_kind, func.max(t.c.id)).group_by(
            t.c.source, t.c.source_kind)).all()
        out = []
        for source, kind, last_id in sources:
            last = conn.execute(select(t.c.status, t.c.finished_at, t.c.message).where(t.c.id == last_id)).first()
            success = conn.execute(select(func.max(t.c.finished_at)).where(t.c.source == source, ok)).scalar()
            out.append({"source": source, "kind": kind, "last_status": last[0], "last_finished_at": as_utc(last[1]),
                        "last_message": last[2], "last_success_at": as_utc(success)})
    return out


def stale_limit_hours(cfg: StudyConfig) -> float:
    """One limit for the health view and the stale-data alert: the alerting config's."""
    from safety.alerts import load_alert_config

    return load_alert_config(cfg).stale_data.hours


def service_health(store: Store, cfg: StudyConfig, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    jobs_cfg = load_jobs_config(cfg)
    scheduled = next_runs(store)
    history = last_runs(store)
    jobs = []
    for name, sched in jobs_cfg.schedules().items():
        last = (history.get(name) or {}).get("last") or {}
        jobs.append({
            "job": name, "schedule": sched.every and f"every {sched.every}" or f"cron {sched.cron}",
            "next_run_at": scheduled.get(name),
            "last_outcome": last.get("outcome"), "last_started_at": as_utc(last.get("started_at")),
            "last_success_at": as_utc((history.get(name) or {}).get("last_success_at")),
            "last_error": last.get("error"),
        })
    last_success = last_ingest_success(store)
    limit = stale_limit_hours(cfg)
    return {
        "now": now, "jobs": jobs, "sources": source_health(store),
        "last_ingest_success_at": last_success, "stale_after_hours": limit,
        "stale": stale_data(last_success, now, limit),
        "scheduler_started": bool(scheduled),
    }
