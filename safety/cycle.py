"""One monitoring cycle: ingest, derive, store the results, raise alerts, deliver them.

The derived tables and the alerts they raise are written in one transaction, so the dashboard
and the outbox always see one consistent cycle; delivery runs after the commit, so an e-mail
is never sent for a result that was rolled back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import insert, select, update

from safety.config import StudyConfig
from safety.derive import Derived, Inputs, Rules, derive_all
from safety.ingest import ingest_configured
from safety.schemas import TABLES, empty_frame
from safety.signals.history import update_signal_states
from safety.store import Store, schema, utcnow


@dataclass
class CycleResult:
    cycle_id: int
    status: str
    data_cut: date
    ingest: Any = None
    derived_rows: dict[str, int] = field(default_factory=dict)
    alerts_created: int = 0
    delivery: Any = None
    seconds: dict[str, float] = field(default_factory=dict)
    message: str | None = None


def _current_tables(store: Store) -> dict[str, pl.DataFrame]:
    tables = {}
    for domain in TABLES:
        frame = store.current(domain)
        tables[domain] = frame if frame.height else empty_frame(domain)
    return tables


def _ae_versions(store: Store) -> pl.DataFrame:
    """Every AE version with the time its ingest run started (`_valid_from`: when we learnt it)."""
    versions = store.history("AE").filter(pl.col("_OP") != "deleted")
    t = schema.ingest_run
    with store.read() as conn:
        runs = conn.execute(select(t.c.id, t.c.started_at)).all()
    started = pl.DataFrame(
        {"_RUN_ID": [r[0] for r in runs], "_valid_from": [r[1] for r in runs]},
        schema={"_RUN_ID": pl.Int64, "_valid_from": pl.Datetime("us", "UTC")},
    )
    return versions.join(started, on="_RUN_ID", how="left").rename({"_VERSION": "_version", "_RUN_ID": "_run_id"})


def committee_decisions(store: Store) -> pl.DataFrame:
    t = schema.dlt_confirmation
    with store.read() as conn:
        rows = conn.execute(select(t.c.candidate_id, t.c.decision, t.c.decided_by, t.c.decided_at, t.c.comment)
                            .order_by(t.c.id)).all()
    return pl.DataFrame(
        [tuple(r) for r in rows], orient="row",
        schema={"CANDIDATE_ID": pl.String, "DECISION": pl.String, "BY": pl.String,
                "AT": pl.Datetime("us", "UTC"), "COMMENT": pl.String},
    )


def susar_submissions(store: Store) -> pl.DataFrame:
    t = schema.susar_submission
    with store.read() as conn:
        rows = conn.execute(select(t.c.case_id, t.c.report_type, t.c.submitted_on)).all()
    # stored as midnight UTC; PostgreSQL returns it in the session's TimeZone, SQLite naive (UTC)
    return pl.DataFrame(
        [(r[0], r[1], _utc_date(r[2])) for r in rows], orient="row",
        schema={"CASE_ID": pl.String, "REPORT_TYPE": pl.String, "SUBMITTED_ON": pl.Date},
    )


def _utc_date(value: datetime | date) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo is not None else value).date()
    return value


def data_cut_for(cfg: StudyConfig, tables: dict[str, pl.DataFrame], now: datetime) -> date:
    """Today, unless the study pins a date or asks for the newest date in the data (a replayed
    or demo study, whose records are not dated today)."""
    setting = (cfg.jobs or {}).get("data_cut", "today")
    if setting == "today":
        return now.date()
    if setting == "latest_record":
        candidates = [
            tables[d].get_column(c).max() for d, c in
            (("LB", "LBDT"), ("AE", "AESTDT"), ("EX", "EXENDT"), ("RS", "RSDT"), ("DS", "DSSTDT"))
            if tables[d].height
        ]
        found = [c for c in candidates if c is not None]
        return min(max(found), now.date()) if found else now.date()
    return date.fromisoformat(str(setting))


def store_derived(store: Store, conn, derived: Derived, cycle_id: int) -> dict[str, int]:
    ids = {}
    for name, frame in derived.tables.items():
        ids[name] = store.put_derived(conn, name, frame, cycle_id, derived.versions[name])
    return ids


def run_cycle(cfg: StudyConfig, store: Store, source: Path | None = None, now: datetime | None = None,
              ingest_first: bool = True, deliver: bool = True) -> CycleResult:
    now = now or datetime.now(UTC)
    timings: dict[str, float] = {}
    c = schema.cycle
    with store.write() as conn:
        cycle_id = conn.execute(insert(c).values(started_at=utcnow(), status="running")).inserted_primary_key[0]
    result = CycleResult(cycle_id, "running", now.date())
    try:
        tick = time.perf_counter()
        if ingest_first:
            result.ingest = ingest_configured(cfg, store, source)
        timings["ingest"] = round(time.perf_counter() - tick, 3)
        tick = time.perf_counter()
        rules = Rules.load(cfg)
        tables = _current_tables(store)
        data_cut = data_cut_for(cfg, tables, now)
        result.data_cut = data_cut
        inputs = Inputs(tables, _ae_versions(store), committee_decisions(store), susar_submissions(store), data_cut)
        timings["read"] = round(time.perf_counter() - tick, 3)
        derived = derive_all(inputs, rules)
        timings.update(derived.seconds)
        tick = time.perf_counter()
        with store.write() as conn:
            flagged = update_signal_states(conn, derived.tables["signals_oe"], cycle_id, now)
            derived.put("signals_flagged", flagged, derived.versions["signals_oe"])
            store_derived(store, conn, derived, cycle_id)
            result.alerts_created = _raise_alerts(cfg, store, conn, derived, cycle_id, now)
            conn.execute(update(c).where(c.c.id == cycle_id).values(
                status="success", finished_at=utcnow(), data_cut=datetime.combine(data_cut, datetime.min.time(), UTC),
                ingest_run_id=getattr(result.ingest, "run_id", None),
                steps={"seconds": timings, "rows": {k: v.height for k, v in derived.tables.items()}},
            ))
        timings["store"] = round(time.perf_counter() - tick, 3)
        result.derived_rows = {k: v.height for k, v in derived.tables.items()}
        result.status = "success"
    except Exception as exc:
        with store.write() as conn:
            conn.execute(update(c).where(c.c.id == cycle_id).values(
                status="failed", finished_at=utcnow(), message=f"{type(exc).__name__}: {exc}",
                steps={"seconds": timings},
            ))
        raise
    if deliver:
        tick = time.perf_counter()
        result.delivery = _deliver(cfg, store, now)
        timings["deliver"] = round(time.perf_counter() - tick, 3)
    result.seconds = timings
    return result


def _raise_alerts(cfg: StudyConfig, store: Store, conn, derived: Derived, cycle_id: int, now: datetime) -> int:
    from safety.alerts import generate_alerts, load_alert_config

    return generate_alerts(conn, store, derived.tables, cycle_id, load_alert_config(cfg), now)


def _deliver(cfg: StudyConfig, store: Store, now: datetime):
    from safety.alerts import deliver_pending, load_alert_config

    return deliver_pending(store, cfg.settings, load_alert_config(cfg), now)
