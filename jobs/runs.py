"""Job run history: one `job_run` row per run (start, end, outcome, counts, error).

A scheduled run first claims its row keyed on (job, scheduled_for): the unique constraint makes
a second scheduler process that fires the same job at the same time lose the claim and do
nothing, so a step runs once per fire time however many schedulers share the database.
Manual runs (`vigil cycle`) have no fire time and never conflict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, column, insert, select, table, update
from sqlalchemy.exc import IntegrityError

from safety.store import HOST, Store, utcnow

# `scheduled_for` comes from migration 0002; a lightweight table keeps this module independent of
# whether safety/store/schema.py declares it yet
job_run_t = table(
    "job_run",
    column("id", Integer), column("job", String), column("started_at", DateTime(timezone=True)),
    column("finished_at", DateTime(timezone=True)), column("outcome", String), column("host", String),
    column("counts", JSON), column("error", Text), column("scheduled_for", DateTime(timezone=True)),
)

OUTCOMES = ("running", "success", "failed", "skipped", "abandoned")


def claim_run(store: Store, job: str, scheduled_for: datetime | None, outcome: str = "running",
              error: str | None = None) -> int | None:
    """Insert the run's row; None when another process already claimed this fire time."""
    now = utcnow()
    values = {"job": job, "started_at": now, "outcome": outcome, "host": HOST, "scheduled_for": scheduled_for,
              "error": error, "finished_at": None if outcome == "running" else now}
    try:
        with store.write() as conn:
            return conn.execute(insert(job_run_t).values(**values).returning(job_run_t.c.id)).scalar_one()
    except IntegrityError:
        return None


def finish_run(store: Store, run_id: int, outcome: str, counts: dict[str, Any] | None = None,
               error: str | None = None) -> None:
    with store.write() as conn:
        conn.execute(update(job_run_t).where(job_run_t.c.id == run_id).values(
            outcome=outcome, finished_at=utcnow(), counts=_jsonable(counts), error=error))


def mark_abandoned(store: Store, job: str, except_id: int | None = None) -> int:
    """Rows left 'running' by a process that died; call only while holding the job's lease."""
    query = update(job_run_t).where(job_run_t.c.job == job, job_run_t.c.outcome == "running")
    if except_id is not None:
        query = query.where(job_run_t.c.id != except_id)
    with store.write() as conn:
        return conn.execute(query.values(
            outcome="abandoned", finished_at=utcnow(),
            error="the process stopped before the run finished; its transaction was rolled back")).rowcount


def job_runs(store: Store, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    query = select(job_run_t).order_by(job_run_t.c.id.desc()).limit(limit)
    if job is not None:
        query = query.where(job_run_t.c.job == job)
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def last_runs(store: Store) -> dict[str, dict[str, Any]]:
    """Per job: the newest run and the newest successful run."""
    out: dict[str, dict[str, Any]] = {}
    with store.read() as conn:
        last_ids = select(job_run_t.c.job, job_run_t.c.id).order_by(job_run_t.c.id.desc())
        for row in conn.execute(last_ids).mappings():
            out.setdefault(row["job"], {})
        for job in out:
            newest = conn.execute(select(job_run_t).where(job_run_t.c.job == job, job_run_t.c.outcome != "skipped")
                                  .order_by(job_run_t.c.id.desc()).limit(1)).mappings().first()
            newest = newest or conn.execute(select(job_run_t).where(job_run_t.c.job == job)
                                            .order_by(job_run_t.c.id.desc()).limit(1)).mappings().first()
            success = conn.execute(select(job_run_t.c.finished_at).where(
                job_run_t.c.job == job, job_run_t.c.outcome == "success")
                .order_by(job_run_t.c.id.desc()).limit(1)).scalar_one_or_none()
            out[job] = {"last": dict(newest) if newest else None, "last_success_at": success}
    return out


def _jsonable(counts: dict[str, Any] | None) -> dict[str, Any] | None:
    import json

    return None if counts is None else json.loads(json.dumps(counts, default=str))
