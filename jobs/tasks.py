"""The job functions the scheduler calls, and the wrapper every step runs in.

`run_job(config_path, job, scheduled_for)` is the one callable the job store pickles (a module
path and simple arguments). The wrapper claims the run's row for its fire time, takes the
step's lease (with a heartbeat), runs the step and records the outcome; an exception is
recorded in job_run and never reaches the scheduler, so the next fire time simply tries again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from jobs.config import JobsConfig, load_jobs_config
from jobs.locks import Lease, describe
from jobs.runs import claim_run, finish_run, mark_abandoned
from safety.config import StudyConfig, load_config
from safety.store import Store, schema, utcnow

log = logging.getLogger(__name__)

_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def store_for(cfg: StudyConfig) -> Store:
    """One Store per database per process: migrations run once, connections are pooled."""
    with _stores_lock:
        if cfg.database not in _stores:
            _stores[cfg.database] = Store(cfg.database)
        return _stores[cfg.database]


def close_stores() -> None:
    with _stores_lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()


@dataclass
class StepContext:
    cfg: StudyConfig
    jobs: JobsConfig
    store: Store
    now: datetime  # the fire time for scheduled runs, the wall clock for manual ones
    source: Path | None = None


@dataclass
class StepOutcome:
    job: str
    run_id: int | None
    outcome: str  # success | failed | skipped | claimed_elsewhere
    counts: dict[str, Any] | None = None
    error: str | None = None
    result: Any = None


# -- the wrapper ------------------------------------------------------------------------------

def run_job(config_path: str, job: str, scheduled_for: str | None = None) -> dict[str, Any]:
    """Entry point for the scheduler (pickled by reference); `scheduled_for` is the fire time."""
    cfg = load_config(config_path)
    fire = datetime.fromisoformat(scheduled_for) if scheduled_for else None
    outcome = run_step(cfg, load_jobs_config(cfg), store_for(cfg), job, scheduled_for=fire)
    return {"job": job, "run_id": outcome.run_id, "outcome": outcome.outcome, "error": outcome.error}


def run_step(cfg: StudyConfig, jobs_cfg: JobsConfig, store: Store, job: str,
             scheduled_for: datetime | None = None, source: Path | None = None,
             now: datetime | None = None) -> StepOutcome:
    if job not in STEPS:
        raise ValueError(f"unknown job {job!r}; known: {', '.join(STEPS)}")
    run_id = claim_run(store, job, scheduled_for)
    if run_id is None:
        log.info("%s at %s: already claimed by another scheduler", job, scheduled_for)
        return StepOutcome(job, None, "claimed_elsewhere")
    lease = Lease(store, job, jobs_cfg.lease_seconds)
    if not lease.acquire():
        reason = f"lease '{job}' busy: {describe(store, job)}"
        finish_run(store, run_id, "skipped", error=reason)
        return StepOutcome(job, run_id, "skipped", error=reason)
    lease.start_heartbeat()
    try:
        mark_abandoned(store, job, except_id=run_id)
        ctx = StepContext(cfg, jobs_cfg, store, scheduled_for or now or utcnow(), source)
        result = STEPS[job](ctx)
        counts = _counts(result)
        if not lease.still_held():
            # the lease expired mid-step and another process took it: the two may have overlapped
            error = (f"lease '{job}' was lost during the step (expired and taken by another process, which "
                     f"may have run it at the same time); what the step committed stays")
            log.error("job %s: %s", job, error)
            finish_run(store, run_id, "failed", counts, error=error)
            return StepOutcome(job, run_id, "failed", counts, error=error, result=result)
        finish_run(store, run_id, "success", counts)
        return StepOutcome(job, run_id, "success", counts, result=result)
    except Exception as exc:
        log.exception("job %s failed", job)
        error = f"{type(exc).__name__}: {exc}"
        finish_run(store, run_id, "failed", error=error)
        return StepOutcome(job, run_id, "failed", error=error, result=exc)
    finally:
        lease.release()


def _counts(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if isinstance(result, dict):
        return result
    if is_dataclass(result):
        data = asdict(result)
        # keep the run summary small: nested results become their scalar fields
        return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | type(None) | dict)}
    return {"result": str(result)}


# -- the steps --------------------------------------------------------------------------------

def record_unavailable_source(store: Store, cfg: StudyConfig, reason: str, source: Path | None = None) -> int:
    """A source that could not be read at all still leaves a failed ingest run saying why."""
    now = utcnow()
    kind = "sdtm_files" if source is not None else cfg.source.kind
    where = str(source or cfg.source_path or getattr(cfg.source, "url", None) or kind)
    with store.write() as conn:
        return conn.execute(insert(schema.ingest_run).values(
            source=where, source_kind=kind, started_at=now, finished_at=now, status="failed",
            message=f"source unavailable: {reason}",
        )).inserted_primary_key[0]


def cycle_step(ctx: StepContext) -> Any:
    from safety.sources import SourceUnavailable

    # we hold the cycle lease, so no ingest of ours is running: any 'running' one is dead
    ctx.store.mark_abandoned_runs()
    try:
        return _cycle(ctx)
    except SourceUnavailable as exc:
        record_unavailable_source(ctx.store, ctx.cfg, str(exc), ctx.source)
        raise


def _cycle(ctx: StepContext) -> dict[str, Any]:
    if not ctx.jobs.cycle.derive:
        from safety.ingest import ingest_configured

        result = ingest_configured(ctx.cfg, ctx.store, ctx.source)
        return {"ingest_run_id": result.run_id, "ingest_status": result.status, **result.counts.__dict__,
                "quarantined": result.quarantined, "derivations": "off (jobs.cycle.derive: false)"}
    from safety.cycle import run_cycle

    result = run_cycle(ctx.cfg, ctx.store, source=ctx.source, now=utcnow())
    return {"cycle_id": result.cycle_id, "status": result.status, "data_cut": str(result.data_cut),
            "ingest_run_id": getattr(result.ingest, "run_id", None), "alerts_created": result.alerts_created,
            "ingest_errors": getattr(result.ingest, "errors", []), "seconds": result.seconds,
            "derived_rows": result.derived_rows}


def delivery_step(ctx: StepContext) -> dict[str, Any]:
    """Raise the stale-data alert when the last successful pull is too old, then send what is due."""
    from jobs.health import last_ingest_success, stale_data
    from safety import alerts

    now = utcnow()
    last_success = last_ingest_success(ctx.store)
    alert_cfg = alerts.load_alert_config(ctx.cfg)
    # the alert's event key carries the date, so a stale episode alerts once a day, not every minute
    raised = alerts.raise_stale_data_alert(ctx.store, alert_cfg, now)
    delivered = alerts.deliver_pending(ctx.store, ctx.cfg.settings, alert_cfg, now)
    return {"stale": stale_data(last_success, now, alert_cfg.stale_data.hours), "stale_alerts_raised": raised,
            "last_ingest_success": str(last_success) if last_success else None, "delivery": _counts(delivered)}


def digest_step(ctx: StepContext) -> dict[str, Any]:
    from safety import alerts

    alert_cfg = alerts.load_alert_config(ctx.cfg)
    return {"digest": _counts(alerts.send_digest(ctx.store, ctx.cfg.settings, alert_cfg, utcnow()))}


def susar_listing_step(ctx: StepContext) -> dict[str, Any]:
    """The weekly SUSAR line listing over the past week, stored (CSV) in the `listing` table."""
    import tempfile

    from safety.listings import ListingMeta, susar_line_listing, write_listing

    cases = ctx.store.derived("susar_cases")
    if cases is None:
        return {"rows": 0, "note": "no SUSAR cases derived yet (no successful cycle)"}
    period_to = ctx.now.date()
    period_from = period_to - timedelta(days=6)
    frame = susar_line_listing(cases, ctx.store.history("AE"), ctx.store.current("DM"), ctx.store.current("EX"),
                               period_from, period_to)
    meta = ListingMeta(study=ctx.cfg.study.id, data_cut=period_to, generated_at=utcnow(),
                       title="SUSAR line listing", period=f"{period_from} to {period_to}")
    with tempfile.TemporaryDirectory() as tmp:
        written = write_listing(frame, Path(tmp) / "susar_listing.csv", "csv", meta)
        payload = written.path.read_bytes()
    with ctx.store.write() as conn:
        listing_id = conn.execute(insert(schema.listing).values(
            kind="susar", format="csv", params={"from": str(period_from), "to": str(period_to)},
            content_sha256=written.sha256, file_sha256=written.file_sha256 or written.sha256,
            n_rows=written.rows, created_at=utcnow(), created_by="scheduler", payload=payload,
        )).inserted_primary_key[0]
        ctx.store.audit(conn, "scheduler", "susar_listing", str(listing_id), {"rows": written.rows})
    return {"listing_id": listing_id, "rows": written.rows}


def committee_cut_step(ctx: StepContext) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from jobs.data_cut import freeze_data_cut

    # the fire date where the cron is read (jobs.timezone), not in UTC: 00:00 on the 1st in Berlin
    # is still the last day of the previous month in UTC, whose label is already frozen
    label = ctx.now.astimezone(ZoneInfo(ctx.jobs.timezone)).strftime(ctx.jobs.committee_cut.label)
    cut = freeze_data_cut(ctx.store, label, "scheduler")
    return {"data_cut_id": cut["id"], "label": label, "content_sha256": cut["content_sha256"]}


def demo_feed_step(ctx: StepContext) -> dict[str, Any]:
    from jobs.demo_feed import feed_tick

    return feed_tick(ctx.cfg, ctx.jobs.demo_feed)


STEPS = {
    "cycle": cycle_step,
    "delivery": delivery_step,
    "digest": digest_step,
    "susar_listing": susar_listing_step,
    "committee_cut": committee_cut_step,
    "demo_feed": demo_feed_step,
}
