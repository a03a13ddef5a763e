"""What the dashboard reads from the store, for the live data or for one frozen data cut.

A data cut's manifest pins, per derived table, the id of the version the committee saw, and per
domain the last changeset; reading "as of the cut" is reading those ids, so a meeting's numbers
can be shown again months later. Derived versions are immutable once written, so decoded frames
are cached by id: a page that is opened twice does not decode the same Parquet twice.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import case, func, select

from safety.store import Store, schema

LIVE = "live"
_CACHE_SIZE = 48


class _FrameCache:
    """A small LRU of decoded frames keyed by an immutable id."""

    def __init__(self, size: int = _CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[tuple, pl.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> pl.DataFrame | None:
        with self._lock:
            frame = self._items.get(key)
            if frame is not None:
                self._items.move_to_end(key)
            return frame

    def put(self, key: tuple, frame: pl.DataFrame) -> None:
        with self._lock:
            self._items[key] = frame
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class DataCut:
    id: int
    label: str
    created_at: datetime
    derived_ids: dict[str, int]
    changesets: dict[str, int]


def _manifest_ids(manifest: dict[str, Any] | None, *keys: str) -> dict[str, int]:
    """name -> id from the manifest's first section among `keys`; an entry is an id or a mapping holding
    one (`{"id": ...}` for derived tables, `{"max_changeset_id": ...}` for domains, as jobs.data_cut writes)."""
    manifest = manifest or {}
    for key in keys:
        section = manifest.get(key)
        if not isinstance(section, dict):
            continue
        out = {}
        for name, value in section.items():
            if isinstance(value, dict):
                value = value.get("id", value.get("max_changeset_id"))
            if value is not None:
                out[str(name)] = int(value)
        return out
    return {}


def _rows(conn, query) -> pl.DataFrame:
    result = conn.execute(query)
    rows = [dict(r) for r in result.mappings().all()]
    if not rows:
        return pl.DataFrame({c: [] for c in result.keys()})
    return pl.DataFrame(rows, infer_schema_length=None)


class StoreReader:
    """Read-only access to one store; `view(cut)` gives the tables as of a data cut or live."""

    def __init__(self, store: Store):
        self.store = store
        self._frames = _FrameCache()

    # -- data cuts ------------------------------------------------------------------------------
    def data_cuts(self) -> list[DataCut]:
        t = schema.data_cut
        with self.store.read() as conn:
            rows = conn.execute(select(t).order_by(t.c.id.desc())).mappings().all()
        return [DataCut(r["id"], r["label"], r["created_at"],
                        _manifest_ids(r["manifest"], "derived", "derived_ids"),
                        _manifest_ids(r["manifest"], "domains", "changesets"))
                for r in rows]

    def data_cut(self, cut: str | int | None) -> DataCut | None:
        if cut in (None, "", LIVE):
            return None
        return next((c for c in self.data_cuts() if str(c.id) == str(cut)), None)

    def view(self, cut: str | int | None = None) -> DataView:
        return DataView(self, self.data_cut(cut))

    # -- derived tables ------------------------------------------------------------------------
    def derived_id(self, name: str, upto_id: int | None = None) -> int | None:
        t = schema.derived
        query = select(func.max(t.c.id)).where(t.c.name == name)
        if upto_id is not None:
            query = query.where(t.c.id <= upto_id)
        with self.store.read() as conn:
            return conn.execute(query).scalar_one_or_none()

    def derived_by_id(self, derived_id: int) -> pl.DataFrame:
        key = ("derived", derived_id)
        frame = self._frames.get(key)
        if frame is None:
            with self.store.read() as conn:
                payload = conn.execute(select(schema.derived.c.payload)
                                       .where(schema.derived.c.id == derived_id)).scalar_one()
            frame = pl.read_parquet(io.BytesIO(payload))
            self._frames.put(key, frame)
        return frame

    def current(self, domain: str, upto_changeset: int | None = None) -> pl.DataFrame:
        """A canonical domain, cached by the last changeset it includes (new changesets change the key)."""
        last = upto_changeset if upto_changeset is not None else self.store.last_changeset_id()
        key = ("current", domain, last)
        frame = self._frames.get(key)
        if frame is None:
            frame = self.store.current(domain, upto_changeset)
            self._frames.put(key, frame)
        return frame


class DataView:
    """The tables one page render reads: live, or pinned by a data cut."""

    def __init__(self, reader: StoreReader, cut: DataCut | None):
        self.reader = reader
        self.cut = cut
        self.store = reader.store

    @property
    def label(self) -> str:
        return "live data" if self.cut is None else f"data cut {self.cut.label!r}"

    def derived(self, name: str) -> pl.DataFrame | None:
        """The derived table, or None when no cycle has computed it (or the cut does not pin it)."""
        if self.cut is not None:
            derived_id = self.cut.derived_ids.get(name)
        else:
            derived_id = self.reader.derived_id(name)
        return None if derived_id is None else self.reader.derived_by_id(derived_id)

    def derived_meta(self, name: str) -> dict[str, Any] | None:
        t = schema.derived
        derived_id = self.cut.derived_ids.get(name) if self.cut else self.reader.derived_id(name)
        if derived_id is None:
            return None
        with self.store.read() as conn:
            row = conn.execute(select(t.c.id, t.c.cycle_id, t.c.rule_version, t.c.created_at, t.c.n_rows)
                               .where(t.c.id == derived_id)).mappings().first()
        return dict(row) if row else None

    def current(self, domain: str) -> pl.DataFrame:
        upto = self.cut.changesets.get(domain) if self.cut else None
        if self.cut is not None and upto is None:
            upto = max(self.cut.changesets.values(), default=None)
        frame = self.reader.current(domain, upto)
        return frame.drop([c for c in frame.columns if c.startswith("_")])

    # -- operational tables (always live: they describe the service, not the data) ----------------
    def alerts(self, limit: int = 500) -> pl.DataFrame:
        t = schema.alert
        with self.store.read() as conn:
            return _rows(conn, select(
                t.c.id, t.c.created_at, t.c.severity, t.c.rule, t.c.usubjid, t.c.title, t.c.body, t.c.link,
                t.c.status, t.c.attempts, t.c.sent_at, t.c.acknowledged_at, t.c.acknowledged_by, t.c.ack_comment,
            ).order_by(t.c.id.desc()).limit(limit))

    def job_runs(self, limit: int = 200) -> pl.DataFrame:
        t = schema.job_run
        with self.store.read() as conn:
            return _rows(conn, select(t.c.id, t.c.job, t.c.started_at, t.c.finished_at, t.c.outcome, t.c.host,
                                      t.c.error).order_by(t.c.id.desc()).limit(limit))

    def last_job_runs(self) -> pl.DataFrame:
        """The newest run of each job: the freshness of each step."""
        t = schema.job_run
        newest = select(func.max(t.c.id)).group_by(t.c.job)
        with self.store.read() as conn:
            return _rows(conn, select(t.c.job, t.c.started_at, t.c.finished_at, t.c.outcome, t.c.error)
                         .where(t.c.id.in_(newest)).order_by(t.c.job))

    def ingest_runs(self, limit: int = 50) -> pl.DataFrame:
        t = schema.ingest_run
        with self.store.read() as conn:
            return _rows(conn, select(t.c.id, t.c.source, t.c.source_kind, t.c.started_at, t.c.finished_at,
                                      t.c.status, t.c.n_new, t.c.n_changed, t.c.n_unchanged, t.c.n_deleted,
                                      t.c.n_quarantined, t.c.message).order_by(t.c.id.desc()).limit(limit))

    def quarantine(self) -> pl.DataFrame:
        return self.store.quarantine()

    def cycles(self, limit: int = 20) -> pl.DataFrame:
        t = schema.cycle
        with self.store.read() as conn:
            return _rows(conn, select(t.c.id, t.c.started_at, t.c.finished_at, t.c.status, t.c.data_cut,
                                      t.c.message).order_by(t.c.id.desc()).limit(limit))

    def dlt_decisions(self) -> pl.DataFrame:
        """The committee's DLT decisions; for a data cut, only those made before it was frozen."""
        t = schema.dlt_confirmation
        query = select(t.c.id, t.c.candidate_id, t.c.decision, t.c.decided_by, t.c.decided_at, t.c.comment)
        if self.cut is not None:
            query = query.where(t.c.decided_at <= self.cut.created_at)
        with self.store.read() as conn:
            return _rows(conn, query.order_by(t.c.id.desc()))

    def signal_states(self) -> pl.DataFrame:
        """Each signal's status and reviewer's assessment; for a data cut, the status its cycle
        recorded (signals_flagged as pinned) and only assessments made before it was frozen."""
        t = schema.signal_state
        columns = [t.c.signal_key, t.c.status, t.c.first_seen_at, t.c.assessment, t.c.assessed_by]
        if self.cut is not None:
            before = t.c.assessed_at <= self.cut.created_at
            columns = [t.c.signal_key, t.c.status, t.c.first_seen_at,
                       case((before, t.c.assessment)).label("assessment"),
                       case((before, t.c.assessed_by)).label("assessed_by")]
        with self.store.read() as conn:
            states = _rows(conn, select(*columns).order_by(t.c.id))
        if self.cut is None or states.is_empty():
            return states
        flagged = self.derived("signals_flagged")
        status = (pl.DataFrame(schema={"signal_key": pl.String, "_CUT_STATUS": pl.String}) if flagged is None
                  else flagged.select(pl.col("SIGNAL_KEY").alias("signal_key"),
                                      pl.col("SIGNAL_STATUS").alias("_CUT_STATUS")))
        # a signal known now but not flagged at the cut had no status then
        return (states.join(status, on="signal_key", how="left")
                .with_columns(pl.col("_CUT_STATUS").alias("status")).drop("_CUT_STATUS"))

    def audit(self, limit: int = 200) -> pl.DataFrame:
        t = schema.audit_log
        with self.store.read() as conn:
            return _rows(conn, select(t.c.id, t.c.at, t.c.actor, t.c.action, t.c.target)
                         .order_by(t.c.id.desc()).limit(limit))

    def derived_since(self, since: datetime | None) -> pl.DataFrame:
        """Derived tables written after `since` (what the last cycles changed)."""
        t = schema.derived
        query = select(t.c.name, func.max(t.c.created_at).label("created_at"), func.count().label("versions"))
        if since is not None:
            query = query.where(t.c.created_at > since)
        with self.store.read() as conn:
            return _rows(conn, query.group_by(t.c.name).order_by(t.c.name))

    def ingest_runs_since(self, since: datetime | None) -> pl.DataFrame:
        t = schema.ingest_run
        query = select(t.c.id, t.c.started_at, t.c.status, t.c.n_new, t.c.n_changed, t.c.n_quarantined)
        if since is not None:
            query = query.where(t.c.started_at > since)
        with self.store.read() as conn:
            return _rows(conn, query.order_by(t.c.id.desc()))


__all__ = ["LIVE", "DataCut", "DataView", "StoreReader"]
