"""Derived frames -> alert events (pure): filter each rule's source, key each row, render its text.

An event key is `rule|USUBJID|record key|version`. The version part is the record's version only
for rules that name a `version_column` (a SUSAR follow-up is news; a corrected SAE is not), so the
outbox's unique key on it is what makes "the same event never alerts twice" hold across cycles,
restarts and concurrent processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import polars as pl

from safety.alerts.rules import AlertConfig, Condition, Rule, template_fields

EVENT_KEY_MAX = 512


class AlertRuleError(ValueError):
    """A rule cannot be applied to the frame it names (missing table or column)."""


@dataclass(frozen=True)
class AlertEvent:
    event_key: str
    rule: str
    severity: str
    delivery: str
    usubjid: str | None
    record_key: str
    title: str
    body: str
    link: str
    recipients: list[str] = field(default_factory=list)


def display(value: Any) -> str:
    """One value as message text: dates ISO, lists joined, floats without noise, missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ",".join(display(v) for v in value)
    return str(value)


def _literal(value: Any, dtype: pl.DataType) -> Any:
    # ISO strings in the YAML compare as dates against date columns
    if isinstance(value, str) and dtype == pl.Date:
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and isinstance(dtype, pl.Datetime):
        parsed = dt.datetime.fromisoformat(value)
        return parsed if dtype.time_zone is None or parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return value


def condition_expr(cond: Condition, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(cond.column)
    if cond.op == "is_null":
        return col.is_null()
    if cond.op == "not_null":
        return col.is_not_null()
    if cond.op in ("in", "not_in"):
        values = [_literal(v, dtype) for v in cond.value]
        expr = col.is_in(values)
        return (~expr if cond.op == "not_in" else expr).fill_null(cond.op == "not_in")
    value = _literal(cond.value, dtype)
    expr = {"eq": col == value, "ne": col != value, "ge": col >= value, "gt": col > value,
            "le": col <= value, "lt": col < value}[cond.op]
    # a missing value is not equal to the value (as it is not in a list): ne keeps it, the others do not
    return expr.fill_null(cond.op == "ne")


def _needed_columns(rule: Rule) -> list[str]:
    cols = [c.column for c in rule.where] + list(rule.key) + list(rule.fields)
    cols += sorted(template_fields(rule.title) | template_fields(rule.page))
    for extra in (rule.version_column, rule.subject_column):
        if extra:
            cols.append(extra)
    return list(dict.fromkeys(cols))


def select_rows(frame: pl.DataFrame, rule: Rule) -> pl.DataFrame:
    """The rows of `frame` the rule's `where` accepts (all of them for an empty `where`)."""
    if frame.height == 0:
        return frame
    missing = [c for c in _needed_columns(rule) if c not in frame.columns]
    if missing:
        raise AlertRuleError(f"alert rule {rule.id}: source {rule.source!r} has no column "
                             f"{', '.join(missing)} (columns: {', '.join(frame.columns)})")
    expr = pl.lit(True)
    for cond in rule.where:
        expr = expr & condition_expr(cond, frame.schema[cond.column])
    return frame.filter(expr)


def _format(template: str, row: dict[str, Any], quote_values: bool = False) -> str:
    values = {k: quote(display(v), safe="") if quote_values else display(v) for k, v in row.items()}
    return template.format_map(values)


def event_key(rule_id: str, usubjid: str | None, record_key: str, version: str) -> str:
    key = f"{rule_id}|{usubjid or ''}|{record_key}|{version}"
    if len(key) > EVENT_KEY_MAX:
        # still unique: a prefix to read, the hash of the whole key to compare
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = key[: EVENT_KEY_MAX - len(digest) - 1] + "#" + digest
    return key


def message_body(cfg: AlertConfig, rule: Rule, usubjid: str | None, title: str, link: str,
                 row: dict[str, Any]) -> str:
    """Plain `label: value` lines; the HTML part is rendered from these with every value escaped."""
    lines = [f"Study: {cfg.study_id}", f"Subject: {usubjid or '-'}", f"Event: {title}",
             f"Rule: {rule.id}" + (f" ({rule.description})" if rule.description else ""),
             f"Severity: {rule.severity}"]
    lines += [f"{name}: {display(row.get(name))}" for name in rule.fields]
    lines.append(f"Dashboard: {link}")
    return "\n".join(lines)


def events_for_rule(frame: pl.DataFrame | None, rule: Rule, cfg: AlertConfig) -> list[AlertEvent]:
    if frame is None:
        raise AlertRuleError(f"alert rule {rule.id}: source table {rule.source!r} was not derived in this cycle")
    chosen = select_rows(frame, rule)
    events = []
    for row in chosen.iter_rows(named=True):
        usubjid = display(row[rule.subject_column]) if rule.subject_column and row[rule.subject_column] else None
        record = "/".join(display(row[c]) for c in rule.key)
        version = display(row[rule.version_column]) if rule.version_column else ""
        title = _format(rule.title, row)
        link = cfg.base_url + _format(rule.page, row, quote_values=True)
        events.append(AlertEvent(
            event_key=event_key(rule.id, usubjid, record, version), rule=rule.id, severity=rule.severity,
            delivery=rule.delivery, usubjid=usubjid, record_key=record + (f"/v{version}" if version else ""),
            title=title, body=message_body(cfg, rule, usubjid, title, link, row), link=link,
            recipients=list(rule.recipients),
        ))
    return events


def quarantine_growth_frame(runs: pl.DataFrame) -> pl.DataFrame:
    """From finished ingest runs (id, n_quarantined), newest last: one row for the newest run with
    the previous run's count; GROWTH > 0 means quarantine grew."""
    schema = {"RUN_ID": pl.Int64, "N_QUARANTINED": pl.Int64, "PREV_RUN_ID": pl.Int64,
              "PREV_N_QUARANTINED": pl.Int64, "GROWTH": pl.Int64}
    if runs.height < 2:
        return pl.DataFrame(schema=schema)
    ordered = runs.sort("id").tail(2)
    prev, last = ordered.row(0, named=True), ordered.row(1, named=True)
    n, p = int(last["n_quarantined"] or 0), int(prev["n_quarantined"] or 0)
    return pl.DataFrame([{"RUN_ID": last["id"], "N_QUARANTINED": n, "PREV_RUN_ID": prev["id"],
                          "PREV_N_QUARANTINED": p, "GROWTH": n - p}], schema=schema)


def stale_data_frame(last_success_at: dt.datetime | None, now: dt.datetime, hours: float) -> pl.DataFrame:
    """One row (keyed by today's date) when the last successful pull is older than `hours`."""
    schema = {"DATE": pl.String, "LAST_SUCCESS_AT": pl.String, "HOURS_SINCE": pl.Float64,
              "THRESHOLD_HOURS": pl.Float64}
    now = as_utc(now)
    since = None if last_success_at is None else (now - as_utc(last_success_at)).total_seconds() / 3600
    if since is not None and since < hours:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame([{
        "DATE": now.date().isoformat(),
        "LAST_SUCCESS_AT": "never" if last_success_at is None else as_utc(last_success_at).isoformat(timespec="minutes"),
        "HOURS_SINCE": None if since is None else round(since, 1), "THRESHOLD_HOURS": float(hours),
    }], schema=schema)


def stale_data_event(last_success_at: dt.datetime | None, now: dt.datetime, cfg: AlertConfig) -> AlertEvent | None:
    """The 'data stale' event for the scheduler, or None while data is fresh (one per day at most)."""
    rule = cfg.rule(cfg.stale_data.rule)
    if not rule.enabled:
        return None
    events = events_for_rule(stale_data_frame(last_success_at, now, cfg.stale_data.hours), rule, cfg)
    return events[0] if events else None


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
