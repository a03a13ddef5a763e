"""The store: one database (SQLite by default, PostgreSQL by URL) holding every version of every
record, the ingest runs and quarantine, derived results, alerts and the audit trail.

`Store` is the face the rest of the code uses; the dashboard only ever reads through it.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, update

from safety.store import records, schema
from safety.store.db import WRITE, make_engine, migrate


def utcnow() -> datetime:
    return datetime.now(UTC)


def frame_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", compression_level=3)
    return buf.getvalue()


def payload_sha256(payload: bytes) -> str:
    """The content hash of a stored derived table: SHA-256 of exactly the bytes stored. (Hashing
    a text rendering of the frame instead took 25 s per cycle for a 5M-row graded LB.)"""
    return hashlib.sha256(payload).hexdigest()


def payload_matches(payload: bytes, content_sha256: str) -> bool:
    """Whether a stored table still has the hash recorded for it. Tables stored before hashes
    were taken over the bytes carry the hash of the frame's newline-delimited JSON."""
    if payload_sha256(payload) == content_sha256:
        return True
    legacy = pl.read_parquet(io.BytesIO(payload)).write_ndjson().encode()
    return hashlib.sha256(legacy).hexdigest() == content_sha256


class Store:
    def __init__(self, url: str, *, migrate_schema: bool = True):
        self.url = url
        self.engine: Engine = make_engine(url)
        if migrate_schema:
            migrate(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (the SQLite write lock is taken at BEGIN)."""
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # -- canonical records --------------------------------------------------------------------
    def current(self, domain: str, upto_changeset: int | None = None) -> pl.DataFrame:
        with self.read() as conn:
            return records.current(conn, domain, upto_changeset)

    def history(self, domain: str, key: str | None = None) -> pl.DataFrame:
        with self.read() as conn:
            versions = records.history(conn, domain).drop("_SCHEME_OK", strict=False)
        return versions if key is None else versions.filter(pl.col("_KEY") == key)

    def last_changeset_id(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.coalesce(func.max(schema.changeset.c.id), 0))).scalar_one()

    # -- runs and quarantine ------------------------------------------------------------------
    def runs(self, limit: int = 20) -> pl.DataFrame:
        t = schema.ingest_run
        with self.read() as conn:
            rows = conn.execute(select(t).order_by(t.c.id.desc()).limit(limit)).mappings().all()
        return pl.DataFrame([dict(r) for r in rows], infer_schema_length=None) if rows else pl.DataFrame()

    def last_successful_run(self) -> dict[str, Any] | None:
        t = schema.ingest_run
        with self.read() as conn:
            row = conn.execute(
                select(t).where(t.c.status.in_(["success", "partial"])).order_by(t.c.id.desc()).limit(1)
            ).mappings().first()
        return dict(row) if row else None

    def quarantine(self, run_id: int | None = None) -> pl.DataFrame:
        """Quarantined rows of one run (default: the newest finished run)."""
        t = schema.quarantine
        with self.read() as conn:
            if run_id is None:
                run = self.last_successful_run()
                run_id = run["id"] if run else -1
            rows = conn.execute(
                select(t.c.run_id, t.c.domain, t.c.file, t.c.source_row, t.c.record_key, t.c.reason, t.c.row_json)
                .where(t.c.run_id == run_id).order_by(t.c.id)
            ).mappings().all()
        cols = {"run_id": pl.Int64, "domain": pl.String, "file": pl.String, "source_row": pl.Int64,
                "record_key": pl.String, "reason": pl.String, "row_json": pl.String}
        return pl.DataFrame([dict(r) for r in rows], schema=cols)

    # -- derived results ----------------------------------------------------------------------
    def put_derived(self, conn: Connection, name: str, frame: pl.DataFrame, cycle_id: int | None,
                    rule_version: str | None) -> int:
        payload = frame_bytes(frame)
        return conn.execute(insert(schema.derived).values(
            name=name, cycle_id=cycle_id, rule_version=rule_version, created_at=utcnow(),
            n_rows=frame.height, content_sha256=payload_sha256(payload), payload=payload,
        )).inserted_primary_key[0]

    def derived(self, name: str, upto_id: int | None = None) -> pl.DataFrame | None:
        """The newest stored version of a derived table (or the newest at or before `upto_id`)."""
        t = schema.derived
        query = select(t.c.payload).where(t.c.name == name)
        if upto_id is not None:
            query = query.where(t.c.id <= upto_id)
        with self.read() as conn:
            payload = conn.execute(query.order_by(t.c.id.desc()).limit(1)).scalar_one_or_none()
        return None if payload is None else pl.read_parquet(io.BytesIO(payload))

    def derived_meta(self, name: str) -> dict[str, Any] | None:
        t = schema.derived
        with self.read() as conn:
            row = conn.execute(
                select(t.c.id, t.c.cycle_id, t.c.rule_version, t.c.created_at, t.c.n_rows, t.c.content_sha256)
                .where(t.c.name == name).order_by(t.c.id.desc()).limit(1)
            ).mappings().first()
        return dict(row) if row else None

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, conn: Connection, actor: str, action: str, target: str | None = None,
              details: dict[str, Any] | None = None) -> None:
        conn.execute(insert(schema.audit_log).values(
            at=utcnow(), actor=actor, action=action, target=target,
            details=json.loads(json.dumps(details or {}, default=str)),
        ))

    def mark_abandoned_runs(self) -> int:
        """Runs left 'running' by a process that died: their transaction rolled back, say so."""
        t = schema.ingest_run
        with self.write() as conn:
            return conn.execute(
                update(t).where(t.c.status == "running").values(
                    status="abandoned", finished_at=utcnow(),
                    message="the process stopped before the run finished; nothing of it was stored",
                )
            ).rowcount


HOST = socket.gethostname()

__all__ = ["HOST", "Store", "frame_bytes", "payload_matches", "payload_sha256", "utcnow"]
