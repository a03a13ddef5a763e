"""A demo store for the dashboard's tests and benchmark: the demo study ingested and derived.

The monitoring cycle (`safety.cycle.run_cycle`) is the one way derived tables are made; when it
is importable it is used. Until it lands, `derive_with_engines` calls the same domain engines
step by step so that the dashboard can be exercised on realistic tables; each step that fails
is skipped (the page then says "not computed yet", which the tests also exercise).
This module writes to a store, so it is never imported by the app itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import insert

from safety.config import StudyConfig, load_config
from safety.store import Store, schema


def study_folder(out: Path, *, db_name: str = "vigil.db") -> StudyConfig:
    # the demo's records are dated in the past: the data cut is the newest record, not today
    """A copy of the repository's config/ in `out`, pointing at a SQLite file and SDTM folder there."""
    import shutil

    from safety.config import DEFAULT_CONFIG

    cfg_dir = out / "config"
    if not cfg_dir.exists():
        shutil.copytree(DEFAULT_CONFIG.parent, cfg_dir)
    study = cfg_dir / "study.yaml"
    text = study.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("database_url:"):
            line = f"database_url: sqlite:///{(out / db_name).resolve()}"
        elif line.strip().startswith("path:") and "sdtm" in line:
            line = f"  path: {(out / 'sdtm').resolve()}"
        lines.append(line)
    if not any(line.startswith("jobs:") for line in lines):
        lines += ["jobs:", "  data_cut: latest_record"]
    study.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(study)


def build_demo_store(out: Path, *, n_subjects: int | None = None, lb_rows: int = 5_000_000,
                     xss_term: bool = True) -> tuple[StudyConfig, Store]:
    """Write the demo study (or a scaled one), ingest it and derive every table.

    `xss_term` rewrites one AE verbatim term to a script tag so that tests can check it shows as text.
    """
    from safety.demo import generate_scaled, generate_study, write_study
    from safety.ingest import ingest
    from safety.sources.configured import pull_source

    out.mkdir(parents=True, exist_ok=True)
    cfg = study_folder(out)
    study = generate_study() if n_subjects is None else generate_scaled(n_subjects=n_subjects, lb_rows_target=lb_rows)
    write_study(study, out / "sdtm", fmt="parquet")
    if xss_term:
        ae_path = out / "sdtm" / "ae.parquet"
        ae = pl.read_parquet(ae_path)
        ae = ae.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("<script>alert(1)</script> rash"))
            .otherwise(pl.col("AETERM")).alias("AETERM"))
        ae.write_parquet(ae_path)
    store = Store(cfg.database)
    ingest(store, pull_source(cfg, out / "sdtm"))
    try:
        from safety.cycle import run_cycle

        result = run_cycle(cfg, store, ingest_first=False, deliver=False)
        ok = result.status == "success"
    except Exception:  # the cycle is being written alongside; its engines are enough here
        ok = False
    if not ok:
        derive_with_engines(cfg, store)
    seed_outbox(store)
    return cfg, store


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns as text: the store hashes a frame through CSV, which cannot hold lists."""
    nested = [n for n, t in frame.schema.items() if t.is_nested()]
    return frame.with_columns(pl.col(n).cast(pl.List(pl.String)).list.join("; ")
                              if isinstance(frame.schema[n], pl.List) else pl.col(n).cast(pl.String)
                              for n in nested) if nested else frame


def derive_with_engines(cfg: StudyConfig, store: Store) -> list[str]:
    """The cycle's derivations (`safety.derive.derive_all`) stored directly; nested columns as text.

    Returns the names of tables that could not be stored."""
    from safety import cycle
    from safety.derive import Inputs, Rules, derive_all

    tables = cycle._current_tables(store)
    data_cut = cycle.data_cut_for(cfg, tables, datetime.now(UTC))
    inputs = Inputs(tables, cycle._ae_versions(store), cycle.committee_decisions(store),
                    cycle.susar_submissions(store), data_cut)
    derived = derive_all(inputs, Rules.load(cfg))
    skipped = []
    with store.write() as conn:
        cycle_id = conn.execute(insert(schema.cycle).values(
            started_at=datetime.now(UTC), finished_at=datetime.now(UTC), status="success",
            data_cut=datetime.combine(data_cut, datetime.min.time(), UTC),
            steps={"seconds": derived.seconds}, message="dashboard sample derivations")).inserted_primary_key[0]
        for name, frame in derived.tables.items():
            try:
                store.put_derived(conn, name, _flat(frame), cycle_id, derived.versions.get(name))
            except Exception as exc:  # a sample store: report, keep going
                skipped.append(f"{name}: {type(exc).__name__}: {exc}")
    return skipped


def seed_outbox(store: Store) -> None:
    """A few alerts, job runs and a frozen data cut, as the cycle and scheduler would leave them."""
    from sqlalchemy import func, select

    now = datetime.now(UTC)
    with store.write() as conn:
        if conn.execute(select(func.count()).select_from(schema.alert)).scalar_one() == 0:
            dm = store.current("DM")
            subject = dm.get_column("USUBJID")[0] if dm.height else None
            for i, (rule, severity, title, status) in enumerate([
                ("dlt_candidate", "high", "DLT candidate: febrile neutropenia", "sent"),
                ("boundary", "high", "Toxicity boundary: 2 events to the stopping boundary", "pending"),
                ("stale_data", "medium", "LB source not updated for 3 days", "failed"),
            ]):
                conn.execute(insert(schema.alert).values(
                    event_key=f"{rule}|{subject}|{i}|1", rule=rule, severity=severity, delivery="immediate",
                    usubjid=subject, record_key=None, title=title, body=f"{title} <b>not bold</b>",
                    link=f"/patients?usubjid={subject}", recipients=["safety@example.org"], created_at=now,
                    status=status, attempts=1 if status != "pending" else 0,
                    sent_at=now if status == "sent" else None))
        for job, outcome in (("ingest", "success"), ("cycle", "success"), ("deliver_alerts", "failed")):
            conn.execute(insert(schema.job_run).values(
                job=job, started_at=now, finished_at=now, outcome=outcome, host="sample",
                counts={"n": 1}, error=None if outcome == "success" else "SMTP connection refused"))
    try:
        from jobs.data_cut import freeze_data_cut
    except ImportError:
        return
    freeze_data_cut(store, "DMC meeting 1", "sample")


__all__ = ["build_demo_store", "derive_with_engines", "seed_outbox", "study_folder"]
