"""The `jobs:` section of study.yaml: which step runs when, and the service's limits.

Each schedule is either `every: 15m` (an interval: s, m, h or d) or `cron: "0 7 * * *"`
(five crontab fields, in `timezone`). Interval fire times are anchored to a fixed instant so
that two scheduler processes, or a restart, compute the same fire times.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safety.config import StudyConfig, load_model

# interval triggers count from here, not from "when this process started"
ANCHOR = datetime(2020, 1, 1, tzinfo=UTC)
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> timedelta:
    match = _EVERY.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not an interval like 30s, 15m, 6h or 1d")
    seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise ValueError("an interval must be longer than zero")
    return timedelta(seconds=seconds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(_Strict):
    every: str | None = None
    cron: str | None = None
    enabled: bool = True

    @field_validator("every")
    @classmethod
    def _every_ok(cls, value: str | None) -> str | None:
        if value is not None:
            parse_every(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, value: str | None) -> str | None:
        if value is not None:
            CronTrigger.from_crontab(value, timezone="UTC")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' (e.g. 15m) or 'cron' (e.g. '0 7 * * *')")
        return self

    def trigger(self, timezone: str) -> BaseTrigger:
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=timezone)
        return IntervalTrigger(seconds=parse_every(self.every).total_seconds(), start_date=ANCHOR,
                               timezone=timezone)


class CycleSchedule(Schedule):
    # false: ingest only (no derivations, alerts or delivery), e.g. while a new source is commissioned
    derive: bool = True


class CommitteeCutSchedule(Schedule):
    # strftime pattern applied to the fire date: one committee cut per month by default
    label: str = "DMC data cut %Y-%m"


class DemoFeedSchedule(Schedule):
    enabled: bool = False
    start: date = date(2025, 3, 1)
    step_days: int = Field(default=7, ge=1)
    seed: int = 20261124
    file_format: str = "xpt"


class JobsConfig(_Strict):
    timezone: str = "UTC"
    # a step's lease lives this long unless its heartbeat renews it; a crashed holder frees it
    lease_seconds: float = Field(default=600, gt=0)
    # a run missed by more than this (scheduler down, machine asleep) is skipped, not run late
    misfire_grace_seconds: int = Field(default=300, ge=1)
    # read by safety.cycle: the date derivations are cut at ('today', 'latest_record' or a date)
    data_cut: str = "today"
    cycle: CycleSchedule = CycleSchedule(every="15m")
    delivery: Schedule = Schedule(every="1m")
    digest: Schedule = Schedule(cron="0 7 * * *")
    susar_listing: Schedule = Schedule(cron="0 6 * * mon")
    committee_cut: CommitteeCutSchedule = CommitteeCutSchedule(cron="0 5 1 * *")
    demo_feed: DemoFeedSchedule = DemoFeedSchedule(every="1m")

    @field_validator("data_cut")
    @classmethod
    def _data_cut_ok(cls, value: str) -> str:
        if value not in ("today", "latest_record"):
            date.fromisoformat(str(value))
        return str(value)

    def schedules(self) -> dict[str, Schedule]:
        """The enabled jobs by name (the name is also the job id and the lease name)."""
        all_jobs = {name: getattr(self, name) for name in JOB_NAMES}
        return {name: s for name, s in all_jobs.items() if s.enabled}


JOB_NAMES = ("cycle", "delivery", "digest", "susar_listing", "committee_cut", "demo_feed")


class _Section(_Strict):
    jobs: JobsConfig = JobsConfig()


def load_jobs_config(cfg: StudyConfig, overrides: dict[str, Any] | None = None) -> JobsConfig:
    """Validate study.yaml's `jobs:` section; ConfigError names the file and `jobs.<field>`."""
    data = {"jobs": {**cfg.jobs, **(overrides or {})}}
    section: _Section = load_model(_Section, cfg.path, data=data)
    return section.jobs
