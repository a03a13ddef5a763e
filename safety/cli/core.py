"""Core commands: demo, ingest, status."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from safety.cli.app import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    UserError,
    app,
    console,
    emit,
    err_console,
    print_error,
)
from safety.config import ConfigError, StudyConfig, load_config
from safety.schemas import TABLES

# the demo's 26-month story ends before today, so nothing in it is dated in the future
DEMO_START = date(2024, 9, 2)

SourceOption = Annotated[Path | None, typer.Option("--source", help="an SDTM folder to read instead of the configured source")]


def study_config(path: Path | None) -> StudyConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def open_store(cfg: StudyConfig):
    from sqlalchemy.exc import OperationalError

    from safety.store import Store

    try:
        return Store(cfg.database)
    except OperationalError as exc:
        raise UserError(f"cannot open the database {cfg.database.split('@')[-1]}: {exc.orig}") from None


@app.command()
def demo(
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="folder to write (default: the configured source folder)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="write the study as known on this date (YYYY-MM-DD)")] = None,
    fmt: Annotated[str, typer.Option("--file-format", help="xpt, parquet or csv")] = "xpt",
    seed: Annotated[int, typer.Option(help="generator seed")] = 20261124,
    start: Annotated[str, typer.Option(help="first enrolment date (YYYY-MM-DD)")] = DEMO_START.isoformat(),
    defects: Annotated[bool, typer.Option("--defects", help="add the planned bad rows that exercise quarantine")] = False,
) -> None:
    """Write the bundled synthetic elacestrant + exemestane study as SDTM files."""
    from safety.demo import generate_study, write_study

    cfg = study_config(config)
    target = out or cfg.source_path
    if target is None:
        raise UserError("no --out given and the config has no source.path")
    try:
        cut = date.fromisoformat(as_of) if as_of else None
        first = date.fromisoformat(start)
    except ValueError:
        raise UserError(f"--as-of {as_of!r} / --start {start!r}: not a date (YYYY-MM-DD)") from None
    if fmt not in ("xpt", "parquet", "csv"):
        raise UserError(f"--file-format {fmt!r}: use xpt, parquet or csv")
    study = generate_study(seed=seed, start=first)
    manifest = write_study(study, Path(target), as_of=cut, fmt=fmt, with_defects=defects)
    n = manifest.study["subjects_in_export"]
    console.print(f"demo study written to {target} ({n} subjects{', as of ' + str(cut) if cut else ''})")


def run_ingest(cfg: StudyConfig, store, source: Path | None, quiet: bool = False):
    from safety.ingest import IngestError, ingest_configured
    from safety.sources import SourceUnavailable

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), console=err_console, disable=quiet, transient=True) as bar:
        task = bar.add_task("ingesting", total=None)

        def progress(domain: str, n: int) -> None:
            bar.update(task, advance=n, description=f"ingesting {domain}")

        try:
            return ingest_configured(cfg, store, source, progress)
        except SourceUnavailable as exc:
            raise UserError(f"source unavailable: {exc}") from None
        except IngestError as exc:
            raise UserError(str(exc)) from None


@app.command("ingest")
def ingest_command(config: ConfigOption = None, source: SourceOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Pull the configured source (or --source DIR) into the store now."""
    from jobs.locks import LeaseBusy, hold

    cfg = study_config(config)
    store = open_store(cfg)
    try:
        with hold(store, "cycle"):  # an ingest is the first step of a cycle: never two at once
            result = run_ingest(cfg, store, source, quiet=fmt == OutputFormat.json)
    except LeaseBusy as exc:
        raise UserError(f"a cycle is already running ({exc}); nothing was ingested") from None
    rows = [
        {"domain": d, **(info.get("counts") or {}), "quarantined": info.get("quarantined", 0),
         "unchanged_file": bool(info.get("skipped_unchanged"))}
        for d, info in result.per_domain.items() if info and "error" not in info
    ]
    extra = {"run_id": result.run_id, "status": result.status, "seconds": round(result.seconds, 2)}
    if fmt == OutputFormat.json:
        extra["errors"] = result.errors
    emit(pl.DataFrame(rows), fmt, title=f"ingest run {result.run_id}: {result.status}", extra=extra)
    if result.errors:
        for error in result.errors:
            print_error(error)
        raise typer.Exit(1)


def status_report(store, cfg: StudyConfig | None = None) -> tuple[pl.DataFrame, dict]:
    counts = []
    for domain in TABLES:
        frame = store.current(domain)
        counts.append({"domain": domain, "records": frame.height,
                       "subjects": frame.get_column("USUBJID").n_unique() if frame.height else 0})
    runs = store.runs(5)
    last = store.last_successful_run()
    from jobs.health import service_health

    health = service_health(store, cfg) if cfg is not None else {}
    extra = {
        "subjects": next(c["subjects"] for c in counts if c["domain"] == "DM"),
        "data_stale": health.get("stale"), "stale_after_hours": health.get("stale_after_hours"),
        "jobs": [{k: j[k] for k in ("job", "next_run_at", "last_outcome", "last_success_at")}
                 for j in health.get("jobs", [])],
        "last_run": None if runs.is_empty() else runs.row(0, named=True) | {"details": None},
        "last_success_at": None if last is None else str(last["finished_at"]),
        "quarantined_last_run": 0 if last is None else last["n_quarantined"],
    }
    return pl.DataFrame(counts), extra


@app.command()
def status(config: ConfigOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Subjects, records per domain, the last ingest runs and quarantine counts."""
    cfg = study_config(config)
    store = open_store(cfg)
    frame, extra = status_report(store, cfg)
    if fmt == OutputFormat.table:
        emit(frame, fmt, title=f"{cfg.study.id}: records in the store")
        runs = store.runs(5)
        if not runs.is_empty():
            emit(runs.select("id", "status", "started_at", "n_new", "n_changed", "n_unchanged", "n_deleted",
                             "n_quarantined"), fmt, title="last ingest runs")
        if extra["jobs"]:
            emit(pl.DataFrame(extra["jobs"]), fmt, title="scheduled jobs")
        stale = "STALE" if extra["data_stale"] else "fresh"
        console.print(f"data: {stale} (last successful pull {extra['last_success_at']}, "
                      f"limit {extra['stale_after_hours']} h)", highlight=False)
        q = store.quarantine()
        if q.height:
            emit(q.group_by("domain", "reason").len().sort("len", descending=True).head(20), fmt,
                 title="quarantined in the last run")
    else:
        emit(frame, fmt, extra=extra)



@app.command()
def cycle(config: ConfigOption = None, source: SourceOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """One monitoring cycle now: ingest, grading, DLT and boundaries, SUSARs, signals, alerts, delivery."""
    from jobs.config import load_jobs_config
    from jobs.tasks import run_step

    cfg = study_config(config)
    store = open_store(cfg)
    # under the same lease as the scheduler's cycle: a manual cycle never overlaps a scheduled one
    outcome = run_step(cfg, load_jobs_config(cfg), store, "cycle", source=source)
    if outcome.outcome == "skipped":
        raise UserError(f"a cycle is already running ({outcome.error}); nothing was done")
    if outcome.outcome != "success":
        raise UserError(f"the cycle failed and was rolled back: {outcome.error}")
    result = dict(outcome.result)
    derived_rows = result.pop("derived_rows", {})
    rows = pl.DataFrame([{"table": k, "rows": v} for k, v in derived_rows.items()])
    emit(rows, fmt, title=f"cycle {result.get('cycle_id')}: {result.get('status')} (data cut {result.get('data_cut')})",
         extra=result)
