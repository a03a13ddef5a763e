"""Alert rules as data (config/alerting.yaml): what raises an alert, how urgent, to whom, how delivered.

A rule reads one derived table of the cycle (or a special source: ingest quarantine counts, data
staleness), keeps the rows its declarative filter accepts, and turns each into an event keyed by
the record it is about. Every name a rule uses (groups, template fields) is checked when the file
is loaded, so a typo fails at start-up with the file and field named, not silently at 3 a.m.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safety.config import ConfigError, StudyConfig, load_model

Severity = Literal["info", "warning", "high", "critical"]
Delivery = Literal["immediate", "digest", "none"]
Op = Literal["eq", "ne", "in", "not_in", "ge", "gt", "le", "lt", "is_null", "not_null"]
# Sources that are not derived tables: computed from the ingest runs, or by the scheduler.
SPECIAL_SOURCES = ("quarantine_growth", "stale_data")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One column test; a rule's `where` is the AND of its conditions."""

    column: str
    op: Op = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("is_null", "not_null"):
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{self.op} needs a non-empty list as value")
        elif self.value is None:
            raise ValueError(f"{self.op} needs a value (use is_null / not_null to test for missing)")
        elif self.op in ("ge", "gt", "le", "lt") and not isinstance(self.value, int | float | str):
            raise ValueError(f"{self.op} needs a number or an ISO date string")
        return self


def template_fields(template: str) -> set[str]:
    """The {field} names a title or page template uses (raises ValueError if malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    description: str = ""
    enabled: bool = True
    source: str
    where: list[Condition] = Field(default_factory=list)
    # columns that identify the record (beside USUBJID); with `version_column`, a new version of
    # the record is a new event, otherwise the record alerts once, whatever later corrections do
    key: list[str] = Field(min_length=1)
    version_column: str | None = None
    subject_column: str | None = "USUBJID"
    severity: Severity = "warning"
    delivery: Delivery = "immediate"
    recipients: list[str] = Field(min_length=1)
    title: str
    page: str = "/"
    # columns shown in the message body; keep to coded terms and ids (no personal data)
    fields: list[str] = Field(default_factory=list)

    @field_validator("title", "page")
    @classmethod
    def _template_parses(cls, value: str) -> str:
        try:
            template_fields(value)
        except ValueError as exc:
            raise ValueError(f"malformed template {value!r}: {exc}") from None
        return value


class RetryPolicy(_Strict):
    max_attempts: int = Field(default=6, ge=1)
    backoff_seconds: float = Field(default=60, gt=0)
    backoff_factor: float = Field(default=2, ge=1)
    max_backoff_seconds: float = Field(default=3600, gt=0)
    # how long a claim protects an alert being sent from a second process
    claim_seconds: float = Field(default=300, gt=0)
    smtp_timeout_seconds: float = Field(default=30, gt=0)

    def next_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
        return min(self.backoff_seconds * self.backoff_factor ** max(attempts - 1, 0), self.max_backoff_seconds)


class StaleData(_Strict):
    hours: float = Field(default=26, gt=0)
    rule: str = "stale_data"


class AlertConfig(_Strict):
    version: str
    # first cycle on a store with no alerts and no earlier successful cycle: `alert` e-mails what
    # the back-log raises; `suppress` records it with status 'suppressed' (visible, not sent)
    initial_load: Literal["alert", "suppress"] = "alert"
    groups: dict[str, list[str]] = Field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    stale_data: StaleData = StaleData()
    rules: list[Rule] = Field(min_length=1)
    # from study.yaml, set by `load_alert_config`
    study_id: str = ""
    base_url: str = ""

    @field_validator("groups")
    @classmethod
    def _addresses(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, members in groups.items():
            if "@" in name:
                raise ValueError(f"group name {name!r} must not contain '@'")
            if not members:
                raise ValueError(f"group {name!r} has no addresses")
            bad = [m for m in members if "@" not in m]
            if bad:
                raise ValueError(f"group {name!r}: not e-mail addresses: {', '.join(bad)}")
        return groups

    @model_validator(mode="after")
    def _names_resolve(self) -> AlertConfig:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate rule ids: {', '.join(dup)}")
        for rule in self.rules:
            unknown = [r for r in rule.recipients if "@" not in r and r not in self.groups]
            if unknown:
                raise ValueError(f"rule {rule.id}: unknown recipient groups {', '.join(unknown)} "
                                 f"(known: {', '.join(self.groups) or 'none'})")
        if self.stale_data.rule not in ids:
            raise ValueError(f"stale_data.rule {self.stale_data.rule!r} is not a rule id")
        return self

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def addresses(self, recipients: list[str]) -> list[str]:
        """Group names expanded to addresses, duplicates removed, order kept."""
        out: list[str] = []
        for entry in recipients:
            for address in ([entry] if "@" in entry else self.groups.get(entry, [])):
                if address not in out:
                    out.append(address)
        return out


def alerting_path(study_cfg: StudyConfig) -> Path:
    """config/alerting.yaml, or the file named by `alerting: {file: ...}` in study.yaml."""
    return study_cfg.resolve(str((study_cfg.alerting or {}).get("file", "alerting.yaml")))


def load_alert_config(study_cfg: StudyConfig) -> AlertConfig:
    path = alerting_path(study_cfg)
    cfg: AlertConfig = load_model(AlertConfig, path)
    if cfg.study_id or cfg.base_url:
        raise ConfigError(f"{path}: study_id and base_url come from study.yaml, not this file")
    return cfg.model_copy(update={"study_id": study_cfg.study.id,
                                  "base_url": study_cfg.dashboard.base_url.rstrip("/")})
