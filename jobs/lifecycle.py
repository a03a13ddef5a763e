"""Start-up recovery and graceful shutdown.

On SIGTERM or SIGINT the scheduler stops taking new runs and waits for running steps to finish
(each step releases its lease in a `finally`); the process then exits 0. A kill -9 leaves at
most an uncommitted transaction (rolled back by the database) and a lease that expires; on the
next start the runs left 'running' are marked abandoned, but only where the step's lease is
free, so a step still running in another process is never mistaken for a dead one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from jobs.config import JobsConfig
from jobs.locks import Lease
from jobs.runs import mark_abandoned
from safety.store import Store

log = logging.getLogger(__name__)


def recover(store: Store, jobs_cfg: JobsConfig) -> dict[str, int]:
    """Mark runs of dead processes 'abandoned', each under its step's lease."""
    marked: dict[str, int] = {}
    for name in jobs_cfg.schedules():
        lease = Lease(store, name, jobs_cfg.lease_seconds)
        if not lease.acquire():
            continue  # someone is running it right now: its 'running' rows are alive
        try:
            marked[name] = mark_abandoned(store, name)
            if name == "cycle":
                marked["ingest_run"] = store.mark_abandoned_runs()
        finally:
            lease.release()
    if any(marked.values()):
        log.warning("marked runs of a stopped process as abandoned: %s", marked)
    return marked


class StopFlag:
    """Set by SIGTERM/SIGINT; the main thread waits on it, then shuts down in order."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: int | None = None

    def install(self, on_stop: Callable[[], None] | None = None) -> None:
        def handler(signum: int, _frame: object) -> None:
            if self.event.is_set():
                return  # a second signal: we are already stopping
            self.signal = signum
            log.info("received %s: finishing running steps, then stopping", signal.Signals(signum).name)
            self.event.set()
            if on_stop is not None:
                on_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def wait(self, timeout: float | None = None) -> bool:
        return self.event.wait(timeout)


def run_until_stopped(start: Callable[[], object], stop: Callable[[], None]) -> int:
    """Start, block until SIGTERM/SIGINT, stop (waiting for running steps); exit status 0."""
    flag = StopFlag()
    flag.install()
    start()
    while not flag.wait(1.0):
        pass
    stop()
    return 0
