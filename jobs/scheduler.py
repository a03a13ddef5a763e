"""APScheduler 3 set-up: jobs from the `jobs:` section, kept in the study database.

The job store is a table (`apscheduler_jobs`) in the same database, so a restart picks up the
stored next run times. APScheduler 3 does not coordinate two schedulers sharing a job store
(both may fire the same job), so every run claims its (job, fire time) row in job_run before
doing anything, and every step runs under its lease: the step runs once either way.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from jobs.config import JobsConfig, load_jobs_config
from jobs.health import JOBSTORE_TABLE
from jobs.runs import claim_run
from jobs.tasks import store_for
from safety.config import StudyConfig
from safety.store import Store

log = logging.getLogger(__name__)
RUN_JOB = "jobs.tasks:run_job"


class FireTimeExecutor(ThreadPoolExecutor):
    """Passes each run its scheduled fire time, the key that makes a run happen once."""

    def _do_submit_job(self, job: Job, run_times: list) -> None:
        if job.func_ref == RUN_JOB:
            fire = run_times[-1].astimezone(UTC).isoformat()
            job = _with_kwargs(job, scheduled_for=fire)
        super()._do_submit_job(job, run_times)


def _with_kwargs(job: Job, **extra: Any) -> Job:
    clone = Job.__new__(Job)
    clone.__setstate__(job.__getstate__())
    clone._scheduler = job._scheduler
    clone._jobstore_alias = job._jobstore_alias
    clone.kwargs = {**job.kwargs, **extra}
    return clone


def build_scheduler(cfg: StudyConfig, jobs_cfg: JobsConfig | None = None, store: Store | None = None,
                    max_workers: int = 8) -> BackgroundScheduler:
    jobs_cfg = jobs_cfg or load_jobs_config(cfg)
    store = store or store_for(cfg)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename=JOBSTORE_TABLE)},
        executors={"default": FireTimeExecutor(max_workers=max_workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": jobs_cfg.misfire_grace_seconds},
        timezone=jobs_cfg.timezone,
    )
    scheduler.add_listener(_listener(store), EVENT_JOB_ERROR | EVENT_JOB_EXECUTED | EVENT_JOB_MISSED
                           | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def _listener(store: Store):  # noqa: ANN202
    def on_event(event: JobEvent) -> None:
        fire = getattr(event, "scheduled_run_time", None)
        if event.code == EVENT_JOB_EXECUTED:
            log.info("job %s (%s) done: %s", event.job_id, fire, getattr(event, "retval", None))
            return
        if event.code == EVENT_JOB_MISSED:
            reason = "missed: the scheduler was not running within misfire_grace_time of the fire time"
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            reason, fire = "skipped: the previous run of this job is still running", None
        else:
            # run_job records its own failures; this is an error before that (config unreadable...)
            reason = f"failed before the step started: {type(event.exception).__name__}: {event.exception}"
            log.error("job %s: %s\n%s", event.job_id, reason, getattr(event, "traceback", ""))
        try:
            claim_run(store, event.job_id, fire.astimezone(UTC) if fire else None,
                      outcome="failed" if event.code == EVENT_JOB_ERROR else "skipped", error=reason)
        except Exception:  # recording must never take the scheduler down
            log.exception("could not record job event for %s", event.job_id)

    return on_event


def install_jobs(scheduler: BackgroundScheduler, cfg: StudyConfig, jobs_cfg: JobsConfig) -> list[str]:
    """Add the configured jobs (replace_existing, so config changes apply) and remove the others.

    A job whose trigger and arguments are unchanged keeps its stored next run time, so a run
    that fell due while the service was down still happens on start (coalesced to one).
    Call after `scheduler.start(paused=True)` so the job store is readable.
    """
    wanted = jobs_cfg.schedules()
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
    for name, schedule in wanted.items():
        trigger = schedule.trigger(jobs_cfg.timezone)
        args = [str(cfg.path), name]
        existing = scheduler.get_job(name)
        keep = (existing is not None and existing.next_run_time is not None and existing.args == tuple(args)
                and str(existing.trigger) == str(trigger) and existing.func_ref == RUN_JOB)
        options: dict[str, Any] = {"next_run_time": existing.next_run_time} if keep else {}
        scheduler.add_job(RUN_JOB, trigger=trigger, args=args, id=name, name=name, replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=jobs_cfg.misfire_grace_seconds,
                          **options)
    return list(wanted)


def start_scheduler(cfg: StudyConfig, jobs_cfg: JobsConfig | None = None) -> BackgroundScheduler:
    """Recover from a previous crash, then start the scheduler with the configured jobs."""
    from jobs.lifecycle import recover

    jobs_cfg = jobs_cfg or load_jobs_config(cfg)
    store = store_for(cfg)
    recover(store, jobs_cfg)
    scheduler = build_scheduler(cfg, jobs_cfg, store)
    scheduler.start(paused=True)
    install_jobs(scheduler, cfg, jobs_cfg)
    scheduler.resume()
    return scheduler
