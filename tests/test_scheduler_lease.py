"""Leases and fire-time claims on real SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest

from jobs.locks import Lease, holder_is_dead, is_free
from jobs.runs import claim_run, finish_run, job_runs
from safety.store import Store
from tests.pg import throwaway_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'lease.db'}")
        yield s
        s.dispose()
        return
    with throwaway_database("vigil_lease") as url:
        s = Store(url)
        try:
            yield s
        finally:
            s.dispose()


def test_one_holder_at_a_time_and_release_frees(store):
    a, b = Lease(store, "cycle", 60), Lease(store, "cycle", 60)
    assert a.acquire()
    assert not b.acquire()
    assert a.acquire()  # held by me: re-entrant renewal
    a.release()
    assert b.acquire()
    assert not a.acquire()


def test_expired_lease_is_taken_over_and_the_old_holder_knows(store):
    a = Lease(store, "cycle", 0.2, holder="otherhost:1:1:x")
    b = Lease(store, "cycle", 60)
    assert a.acquire()
    assert not b.acquire()
    import time

    time.sleep(0.3)
    assert b.acquire()
    assert not a.renew() and a.lost


def test_heartbeat_keeps_a_long_step_s_lease(store):
    import time

    a = Lease(store, "cycle", 0.6)
    assert a.acquire()
    a.start_heartbeat(0.1)
    time.sleep(1.0)
    assert not Lease(store, "cycle", 60).acquire()
    a.release()
    assert is_free(store, "cycle")


def test_only_one_of_many_racers_wins(store):
    winners = []
    barrier = threading.Barrier(6)

    def race():
        lease = Lease(store, "delivery", 60)
        barrier.wait()
        if lease.acquire():
            winners.append(lease.holder)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_a_dead_holder_on_this_host_is_taken_over(store):
    proc = subprocess.run([sys.executable, "-c", "from jobs.locks import new_holder; print(new_holder())"],
                          capture_output=True, text=True, check=True)
    dead = proc.stdout.strip()
    assert holder_is_dead(dead)
    assert Lease(store, "cycle", 600, holder=dead).acquire()
    assert Lease(store, "cycle", 600).acquire()  # not 10 minutes later: the holder is gone


def test_a_fire_time_is_claimed_once(store):
    fire = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    first = claim_run(store, "cycle", fire)
    assert first is not None
    assert claim_run(store, "cycle", fire) is None
    assert claim_run(store, "delivery", fire) is not None
    assert claim_run(store, "cycle", None) is not None and claim_run(store, "cycle", None) is not None
    finish_run(store, first, "success", {"n": 3})
    rows = [r for r in job_runs(store, "cycle") if r["id"] == first]
    assert rows[0]["outcome"] == "success" and rows[0]["counts"] == {"n": 3}


def test_a_process_whose_clock_is_off_neither_steals_nor_loses_a_live_lease(store, monkeypatch):
    """Two processes never run one step at once: a lease's expiry is judged by one clock, the
    database's. A scheduler on a host whose clock runs an hour ahead must not see a live lease as
    expired, and a holder whose clock runs an hour behind must not write an expiry already past."""
    from datetime import timedelta

    import jobs.locks

    real = jobs.locks.utcnow
    a = Lease(store, "cycle", 60)
    assert a.acquire()
    monkeypatch.setattr(jobs.locks, "utcnow", lambda: real() + timedelta(hours=1))
    assert not Lease(store, "cycle", 60).acquire()  # an hour ahead: A's lease is still live
    assert not is_free(store, "cycle")
    monkeypatch.setattr(jobs.locks, "utcnow", lambda: real() - timedelta(hours=1))
    assert a.renew()  # A's clock an hour behind: its renewal must still hold the lease for 60 s
    monkeypatch.setattr(jobs.locks, "utcnow", real)
    assert not Lease(store, "cycle", 60).acquire()
    a.release()
    assert Lease(store, "cycle", 60).acquire()
