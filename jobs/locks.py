"""Leases: a row per step in the `lease` table, so two processes never run the same step at once.

Acquiring is one transaction: a conditional UPDATE (free, expired, or a holder on this host whose
process is gone) and, if no row matched, an INSERT; the rowcount or the primary-key conflict
says who won. It works the same on SQLite and PostgreSQL (under READ COMMITTED a concurrent
UPDATE re-checks its WHERE against the committed row, so only one of two racers matches).
A heartbeat thread renews the expiry while the step runs; a crashed holder's lease expires.
Expiry is written and judged by the database's clock, so processes on hosts whose clocks disagree
still agree on whether a lease has expired.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psutil
from sqlalchemy import Connection, delete, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from safety.store import HOST, Store, schema, utcnow

log = logging.getLogger(__name__)
lease_t = schema.lease


class LeaseBusy(RuntimeError):
    """Another process holds the step's lease."""


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_now(conn: Connection) -> datetime:
    """The database server's clock (UTC): one clock for every process sharing the lease table."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
    if conn.dialect.name == "sqlite":
        value = conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return utcnow()


def _process_started() -> str:
    return str(int(psutil.Process(os.getpid()).create_time()))


def new_holder() -> str:
    """host:pid:process-start:token. The start time tells a dead pid from a reused one."""
    return f"{HOST}:{os.getpid()}:{_process_started()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this host and its process is gone (or was replaced)."""
    parts = holder.split(":")
    if len(parts) != 4 or parts[0] != HOST:
        return False
    try:
        pid, started = int(parts[1]), parts[2]
    except ValueError:
        return False
    try:
        return str(int(psutil.Process(pid).create_time())) != started
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


class Lease:
    def __init__(self, store: Store, name: str, ttl_seconds: float = 600, holder: str | None = None):
        self.store = store
        self.name = name
        self.ttl = timedelta(seconds=ttl_seconds)
        self.holder = holder or new_holder()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.lost = False

    def acquire(self) -> bool:
        try:
            with self.store.write() as conn:
                now = db_now(conn)
                values = {"holder": self.holder, "acquired_at": now, "expires_at": now + self.ttl}
                won = conn.execute(
                    update(lease_t).where(
                        lease_t.c.name == self.name,
                        or_(lease_t.c.expires_at < now, lease_t.c.holder == self.holder),
                    ).values(**values)
                ).rowcount == 1
                if not won:
                    current = conn.execute(
                        select(lease_t.c.holder).where(lease_t.c.name == self.name)
                    ).scalar_one_or_none()
                    if current is not None and holder_is_dead(current):
                        log.warning("lease %s: holder %s is gone; taking over", self.name, current)
                        won = conn.execute(
                            update(lease_t).where(lease_t.c.name == self.name, lease_t.c.holder == current)
                            .values(**values)
                        ).rowcount == 1
                    elif current is None:
                        try:
                            with conn.begin_nested():
                                conn.execute(insert(lease_t).values(name=self.name, **values))
                            won = True
                        except IntegrityError:
                            won = False
        except OperationalError as exc:
            # SQLite: another writer held the database past busy_timeout; treat as busy
            log.warning("lease %s: could not reach the lease table: %s", self.name, exc.orig)
            return False
        return won

    def renew(self) -> bool:
        with self.store.write() as conn:
            ok = conn.execute(
                update(lease_t).where(lease_t.c.name == self.name, lease_t.c.holder == self.holder)
                .values(expires_at=db_now(conn) + self.ttl)
            ).rowcount == 1
        if not ok:
            self.lost = True
            log.error("lease %s was lost by %s (expired and taken by another process)", self.name, self.holder)
        return ok

    def still_held(self) -> bool:
        """Whether the lease row still names this holder (a read: never waits for a writer)."""
        if self.lost:
            return False
        with self.store.read() as conn:
            current = conn.execute(select(lease_t.c.holder).where(lease_t.c.name == self.name)).scalar_one_or_none()
        return current == self.holder

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)
        with self.store.write() as conn:
            conn.execute(delete(lease_t).where(lease_t.c.name == self.name, lease_t.c.holder == self.holder))

    def start_heartbeat(self, every_seconds: float | None = None) -> None:
        interval = every_seconds or max(self.ttl.total_seconds() / 3, 0.2)

        def beat() -> None:
            while not self._stop.wait(interval):
                try:
                    if not self.renew():
                        return
                except Exception as exc:  # a busy database: try again on the next beat
                    log.warning("lease %s: heartbeat failed: %s", self.name, exc)

        self._beat = threading.Thread(target=beat, name=f"lease-{self.name}", daemon=True)
        self._beat.start()


@contextmanager
def hold(store: Store, name: str, ttl_seconds: float = 600) -> Iterator[Lease]:
    """Run a block under the named lease (heartbeat included); LeaseBusy if someone else has it."""
    lease = Lease(store, name, ttl_seconds)
    if not lease.acquire():
        raise LeaseBusy(f"step '{name}' is already running ({describe(store, name)})")
    lease.start_heartbeat()
    try:
        yield lease
    finally:
        lease.release()


def describe(store: Store, name: str) -> str:
    with store.read() as conn:
        row = conn.execute(select(lease_t).where(lease_t.c.name == name)).mappings().first()
    if row is None:
        return "free"
    return f"held by {row['holder']} until {as_utc(row['expires_at']):%Y-%m-%d %H:%M:%S} UTC"


def is_free(store: Store, name: str, now: datetime | None = None) -> bool:
    """Free, expired, or held by a dead process on this host."""
    with store.read() as conn:
        now = now or db_now(conn)
        row = conn.execute(select(lease_t).where(lease_t.c.name == name)).mappings().first()
    return row is None or as_utc(row["expires_at"]) < now or holder_is_dead(row["holder"])
