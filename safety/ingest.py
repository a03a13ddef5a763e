"""Pull a source into the store: one ingest run, one transaction.

Per domain: unchanged fingerprint -> nothing to compare; otherwise load, validate, quarantine and
write the changes. A file that cannot be used is reported and its domain keeps what the store
had; a failure anywhere rolls the whole run back and is recorded as a failed run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import insert, select, update

from safety.sources import Pull, SourceFileError
from safety.store import Store, records, schema, utcnow

Progress = Callable[[str, int], None]


class IngestError(RuntimeError):
    """The run failed and was rolled back; the store is as it was before it."""


@dataclass
class IngestResult:
    run_id: int
    status: str
    counts: records.Counts
    quarantined: int
    per_domain: dict[str, dict[str, Any]]
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def ingest_configured(cfg, store: Store, source=None, progress: Progress | None = None) -> IngestResult:
    """Pull the study's configured source (or an SDTM folder given instead) and ingest it."""
    from safety.sources.configured import pull_source

    return ingest(store, pull_source(cfg, source), progress)


def _previous_details(store: Store) -> dict[str, Any]:
    last = store.last_successful_run()
    return (last or {}).get("details") or {}


def ingest(store: Store, pull: Pull, progress: Progress | None = None) -> IngestResult:
    started = time.perf_counter()
    t = schema.ingest_run
    with store.write() as conn:
        run_id = conn.execute(insert(t).values(
            source=pull.source, source_kind=pull.kind, started_at=utcnow(), status="running",
        )).inserted_primary_key[0]
    previous = _previous_details(store).get("domains", {})
    try:
        result = _ingest_in_one_transaction(store, run_id, pull, previous, progress)
    except Exception as exc:
        with store.write() as conn:
            conn.execute(update(t).where(t.c.id == run_id).values(
                status="failed", finished_at=utcnow(), message=f"{type(exc).__name__}: {exc}",
                seconds={"total": round(time.perf_counter() - started, 3)},
            ))
        raise IngestError(f"ingest run {run_id} failed and was rolled back: {exc}") from exc
    result.seconds = time.perf_counter() - started
    return result


def _ingest_in_one_transaction(store: Store, run_id: int, pull: Pull, previous: dict, progress) -> IngestResult:
    t = schema.ingest_run
    total = records.Counts()
    per_domain: dict[str, dict[str, Any]] = {}
    errors = list(pull.errors)
    n_quarantined = 0
    timings: dict[str, float] = {}
    with store.write() as conn:
        for domain, dp in pull.domains.items():
            tick = time.perf_counter()
            before = previous.get(domain, {})
            if before.get("fingerprint") == dp.fingerprint:
                # same bytes, same rules: the comparison would find nothing
                n_live = before.get("live", 0)
                counts = records.Counts(unchanged=n_live, live=n_live)
                n_q = _copy_quarantine(conn, before.get("run_id"), run_id, domain)
                info = before | {"counts": counts.__dict__, "skipped_unchanged": True, "run_id": run_id}
            else:
                try:
                    canon = dp.load()
                except SourceFileError as exc:
                    errors.append(str(exc))
                    # the store keeps what it had; the last good fingerprint stays so a fixed file is compared
                    per_domain[domain] = {k: v for k, v in before.items() if k != "counts"} | {"error": str(exc)}
                    continue
                keep = canon.quarantine.get_column("RECORD_KEY") if canon.quarantine.height else None
                counts = records.write_changes(
                    conn, run_id, domain, canon.frame, keep_keys=keep,
                    progress=(lambda n, d=domain: progress(d, n)) if progress else None,
                )
                n_q = _insert_quarantine(conn, run_id, canon.quarantine)
                info = {"files": dp.files, "fingerprint": dp.fingerprint, "live": counts.live,
                        "counts": counts.__dict__, "quarantined": n_q, "ignored": canon.ignored, "run_id": run_id}
            per_domain[domain] = info
            total.add(counts)
            n_quarantined += n_q
            timings[domain] = round(time.perf_counter() - tick, 3)
        status = "partial" if errors else "success"
        conn.execute(update(t).where(t.c.id == run_id).values(
            status=status, finished_at=utcnow(), fingerprint=_run_fingerprint(per_domain),
            n_new=total.new, n_changed=total.changed, n_unchanged=total.unchanged, n_deleted=total.deleted,
            n_quarantined=n_quarantined, seconds=timings,
            message="; ".join(errors) or None,
            details={"domains": {**previous, **per_domain}, "errors": errors, "skipped_files": pull.skipped},
        ))
    return IngestResult(run_id, status, total, n_quarantined, per_domain, errors)


def _run_fingerprint(per_domain: dict[str, dict[str, Any]]) -> str:
    import hashlib

    joined = "".join(f"{d}:{info.get('fingerprint')}" for d, info in sorted(per_domain.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def _insert_quarantine(conn, run_id: int, frame: pl.DataFrame) -> int:
    if frame.height == 0:
        return 0
    rows = frame.rename({c: c.lower() for c in frame.columns}).with_columns(pl.lit(run_id).alias("run_id"))
    conn.execute(insert(schema.quarantine), rows.select(
        "run_id", "domain", "file", "source_row", "record_key", "reason", "row_json").to_dicts())
    return frame.height


def _copy_quarantine(conn, from_run: int | None, to_run: int, domain: str) -> int:
    """An unchanged file still has the same bad rows: this run reports them too."""
    if from_run is None:
        return 0
    q = schema.quarantine
    rows = conn.execute(
        select(q.c.domain, q.c.file, q.c.source_row, q.c.record_key, q.c.reason, q.c.row_json)
        .where(q.c.run_id == from_run, q.c.domain.in_([domain, f"SUPP{domain}"]))
    ).mappings().all()
    if rows:
        conn.execute(insert(q), [dict(r) | {"run_id": to_run} for r in rows])
    return len(rows)
