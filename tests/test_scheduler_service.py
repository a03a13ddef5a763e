"""The scheduler as a real process: files arrive and are ingested, SIGTERM and SIGKILL, and two
schedulers sharing one PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from sqlalchemy import func, select, text

from jobs.runs import job_run_t
from safety.config import REPO_ROOT
from safety.store import Store, schema
from tests.pg import throwaway_database

VIGIL = str(Path(sys.executable).with_name("vigil"))


def write_config(tmp: Path, database_url: str, every: str = "1s", **jobs: object) -> Path:
    folder = tmp / "config"
    if not folder.exists():
        import shutil

        shutil.copytree(REPO_ROOT / "config", folder)
    data = yaml.safe_load((folder / "study.yaml").read_text())
    data["source"] = {"kind": "sdtm_files", "path": str(tmp / "sdtm")}
    data["database_url"] = database_url
    off = {"cron": "0 7 * * *", "enabled": False}
    data["jobs"] = {"lease_seconds": 5, "misfire_grace_seconds": 30, "cycle": {"every": every, "derive": False},
                    "delivery": off, "digest": off, "susar_listing": off, "committee_cut": off} | jobs
    (folder / "study.yaml").write_text(yaml.safe_dump(data))
    return folder / "study.yaml"


def demo_files(folder: Path, as_of: date) -> None:
    from safety.demo import generate_study, write_study

    write_study(generate_study(), folder, as_of=as_of, fmt="csv")


def start(config: Path, log: Path) -> subprocess.Popen:
    env = os.environ | {"VIGIL_CONFIG": str(config)}
    env.pop("VIGIL_DATABASE_URL", None)
    return subprocess.Popen([VIGIL, "scheduler", "--config", str(config)], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, env=env)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(proc: subprocess.Popen, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout)


def ingest_runs(store: Store) -> list[dict]:
    t = schema.ingest_run
    with store.read() as conn:
        return [dict(r) for r in conn.execute(select(t.c.id, t.c.status, t.c.n_new, t.c.n_changed).order_by(t.c.id))
                .mappings()]


def test_new_files_are_ingested_within_two_intervals_and_sigterm_exits_cleanly(tmp_path):
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'vigil.db'}", every="2s")
    demo_files(tmp_path / "sdtm", date(2025, 4, 1))
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    proc = start(config, tmp_path / "scheduler.log")
    try:
        wait_for(lambda: any(r["status"] == "success" for r in ingest_runs(store)), 15, "the first ingest")
        n_before = len(ingest_runs(store))
        demo_files(tmp_path / "sdtm", date(2025, 7, 1))
        dropped = time.monotonic()
        new = wait_for(lambda: [r for r in ingest_runs(store)[n_before:] if r["n_new"] or r["n_changed"]],
                       2 * 2 + 2, "the new files to be ingested")
        assert new[0]["status"] == "success"
        assert time.monotonic() - dropped <= 2 * 2 + 2
    finally:
        code = stop(proc)
    assert code == 0, (tmp_path / "scheduler.log").read_text()[-2000:]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(schema.lease)).scalar() == 0
        outcomes = conn.execute(select(job_run_t.c.outcome)).scalars().all()
    assert "running" not in outcomes and outcomes.count("success") >= 2


def big_lab_file(folder: Path, rows: int = 600_000) -> None:
    """Many lab rows, so that an ingest lasts long enough to be killed in the middle."""
    dm = pl.read_csv(folder / "dm.csv", infer_schema=False)
    subjects = dm.get_column("USUBJID").to_list()
    n = pl.int_range(0, rows, eager=True)
    pl.DataFrame({
        "STUDYID": dm.get_column("STUDYID")[0], "DOMAIN": "LB",
        "USUBJID": [subjects[i % len(subjects)] for i in range(rows)],
        "LBSEQ": (n // len(subjects) + 1).cast(pl.String), "LBTESTCD": "ALT", "LBTEST": "Alanine Aminotransferase",
        "LBORRES": (n % 90 + 10).cast(pl.String), "LBORRESU": "U/L", "LBSTRESN": (n % 90 + 10).cast(pl.String),
        "LBSTRESU": "U/L", "LBSTNRLO": "7", "LBSTNRHI": "40", "LBDTC": "2025-03-01",
    }).write_csv(folder / "lb.csv")


def test_sigkill_during_an_ingest_leaves_no_partial_run_and_a_restart_recovers(tmp_path):
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    config = write_config(tmp_path, url, every="1s", lease_seconds=600)
    demo_files(tmp_path / "sdtm", date(2025, 4, 1))
    store = Store(url)
    proc = start(config, tmp_path / "scheduler.log")
    try:
        wait_for(lambda: any(r["status"] == "success" for r in ingest_runs(store)), 15, "the first ingest")
        before = {d: store.current(d).height for d in ("DM", "AE", "LB")}
        n_changesets = store.last_changeset_id()
        big_lab_file(tmp_path / "sdtm")
        running = wait_for(lambda: [r for r in ingest_runs(store) if r["status"] == "running"], 20,
                           "an ingest in progress", interval=0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = running[0]["id"]
    assert {d: store.current(d).height for d in ("DM", "AE", "LB")} == before
    assert store.last_changeset_id() == n_changesets  # nothing of the killed run was committed
    # the lease (10 min) is held by a dead process on this host: a restart takes it over at once
    proc = start(config, tmp_path / "scheduler.log")
    try:
        runs = wait_for(lambda: (rs := ingest_runs(store)) and any(r["id"] > killed and r["status"] == "success"
                                                                   for r in rs) and rs, 40, "a successful ingest")
    finally:
        assert stop(proc) == 0
    status = {r["id"]: r["status"] for r in runs}
    assert status[killed] == "abandoned"
    assert store.current("LB").height == 600_000
    with store.read() as conn:
        abandoned = conn.execute(select(func.count()).where(job_run_t.c.outcome == "abandoned")).scalar()
    assert abandoned == 1


@pytest.fixture
def pg_url():
    with throwaway_database("vigil_sched") as url:
        yield url


def test_two_schedulers_on_one_postgresql_database_run_each_fire_time_once(tmp_path, pg_url):
    config = write_config(tmp_path, pg_url, every="1s")
    demo_files(tmp_path / "sdtm", date(2025, 4, 1))
    store = Store(pg_url)
    procs = [start(config, tmp_path / "a.log"), start(config, tmp_path / "b.log")]
    try:
        wait_for(lambda: len(ingest_runs(store)) >= 2, 20, "the first ingests")
        with store.read() as conn:
            t0 = conn.execute(text("select now()")).scalar()
        time.sleep(5)
        with store.read() as conn:
            t1 = conn.execute(text("select now()")).scalar()
    finally:
        codes = [stop(p) for p in procs]
    assert codes == [0, 0]
    with store.read() as conn:
        rows = conn.execute(select(job_run_t.c.scheduled_for, job_run_t.c.outcome, job_run_t.c.counts)
                            .where(job_run_t.c.job == "cycle")).all()
    # rows without a fire time record a run skipped because the previous one was still going
    # (APScheduler's max_instances); they claim nothing
    fire_times = [r[0] for r in rows if r[0] is not None]
    assert len(fire_times) == len(set(fire_times))  # never two rows for one fire time
    ran = [r for r in rows if r[1] == "success"]
    ingested = ingest_runs(store)
    # each successful job run is exactly one ingest: no step ran twice for one fire time
    assert len(ingested) == len(ran)
    assert {r[2]["ingest_run_id"] for r in ran} == {r["id"] for r in ingested}
    # at most one run per second of the window, never two; on a loaded machine a run may be skipped
    # while the previous one is still going, so the lower bound is loose
    window = [f for f in fire_times if t0 <= f <= t1]
    seconds = (t1 - t0).total_seconds()
    assert seconds / 3 <= len(window) <= seconds + 1


def test_dropped_files_are_graded_and_alerted_within_two_intervals_and_never_twice(tmp_path):
    """The full cycle (ingest, grading, DLT, SUSARs, alerts) under the scheduler, not only ingest."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    interval = 5
    config = write_config(tmp_path, url, cycle={"every": f"{interval}s"}, data_cut="latest_record")
    demo_files(tmp_path / "sdtm", date(2025, 4, 1))
    store = Store(url)
    proc = start(config, tmp_path / "scheduler.log")
    a = schema.alert

    def susar_alerts() -> list[dict]:
        with store.read() as conn:
            return [dict(r) for r in conn.execute(
                select(a.c.event_key, a.c.usubjid).where(a.c.rule.contains("susar"))).mappings()]

    def cycles() -> list[dict]:
        with store.read() as conn:
            return [dict(r) for r in conn.execute(
                select(schema.cycle.c.id, schema.cycle.c.status).order_by(schema.cycle.c.id)).mappings()]

    try:
        wait_for(lambda: any(c["status"] == "success" for c in cycles()), 60, "the first full cycle")
        assert not susar_alerts()  # nothing serious, related and unexpected had happened by April 2025
        demo_files(tmp_path / "sdtm", date(2026, 1, 15))  # the liver injury SUSAR is known by then
        dropped = time.monotonic()
        found = wait_for(susar_alerts, 2 * interval + 15, "the new SUSAR's alert")
        elapsed = time.monotonic() - dropped
        graded = store.derived("lb_graded")
        assert graded is not None and graded.height == store.current("LB").height
        n_cycles = len(cycles())
        wait_for(lambda: len(cycles()) >= n_cycles + 1 and cycles()[-1]["status"] == "success", 3 * interval + 15,
                 "another cycle on unchanged data")
    finally:
        assert stop(proc) == 0, (tmp_path / "scheduler.log").read_text()[-2000:]
    assert elapsed <= 2 * interval + 15  # two intervals plus the cycle's own running time
    assert "VIGIL-ELA-EXE-01-031013" in {f["usubjid"] for f in found}
    assert len(susar_alerts()) == len(found)  # the later cycle raised nothing again
    keys = [f["event_key"] for f in susar_alerts()]
    assert len(keys) == len(set(keys))


def test_the_committee_cut_is_labelled_by_its_fire_date_in_the_jobs_timezone(study_config, store):
    """A committee's data cut is frozen once per meeting: the label is the fire date in `jobs.timezone`
    (config: 'strftime pattern applied to the fire date'). Midnight on 1 December in Berlin is still
    30 November in UTC; labelled in UTC it would be November's label, and freeze_data_cut would hand
    back November's cut instead of freezing December's."""
    from datetime import UTC, datetime

    from jobs.config import load_jobs_config
    from jobs.tasks import run_step

    jobs_cfg = load_jobs_config(study_config, {"timezone": "Europe/Berlin",
                                               "committee_cut": {"cron": "0 0 1 * *"}})
    november = run_step(study_config, jobs_cfg, store, "committee_cut",
                        scheduled_for=datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    december = run_step(study_config, jobs_cfg, store, "committee_cut",
                        scheduled_for=datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    assert (november.outcome, december.outcome) == ("success", "success")
    assert november.counts["label"] == "DMC data cut 2026-11"
    assert december.counts["label"] == "DMC data cut 2026-12"
    assert december.counts["data_cut_id"] != november.counts["data_cut_id"]
    with store.read() as conn:
        labels = conn.execute(select(schema.data_cut.c.label).order_by(schema.data_cut.c.id)).scalars().all()
    assert labels == ["DMC data cut 2026-11", "DMC data cut 2026-12"]


def test_a_step_that_lost_its_lease_midway_is_not_recorded_as_a_clean_success(study_config, store, monkeypatch):
    """Two processes never run one step at once, and a failed step's error is recorded: when the
    lease expires during a long step (a stalled heartbeat, a paused process) and another process
    takes it, the step may have overlapped the other's run; job_run must say so, not 'success'."""
    from sqlalchemy import update

    import jobs.tasks
    from jobs.config import load_jobs_config
    from jobs.runs import job_runs
    from jobs.tasks import run_step

    def long_step(ctx):
        with ctx.store.write() as conn:  # another process takes the expired lease over
            conn.execute(update(schema.lease).where(schema.lease.c.name == "cycle").values(holder="otherhost:1:1:x"))
        time.sleep(0.5)  # the heartbeat (every 0.1 s) finds the lease gone
        return {"done": True}

    monkeypatch.setitem(jobs.tasks.STEPS, "cycle", long_step)
    outcome = run_step(study_config, load_jobs_config(study_config, {"lease_seconds": 0.3}), store, "cycle")
    assert outcome.outcome == "failed"
    row = job_runs(store, "cycle")[0]
    assert row["outcome"] == "failed"
    assert row["error"].startswith("lease 'cycle' was lost during the step")
    with store.read() as conn:  # the other process's lease is left alone
        assert conn.execute(select(schema.lease.c.holder)).scalars().all() == ["otherhost:1:1:x"]
