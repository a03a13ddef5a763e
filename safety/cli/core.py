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
    from safety.ingest import IngestError, ingest
    from safety.sources import SourceUnavailable
    from safety.sources.configured import pull_source

    try:
        pull = pull_source(cfg, source)
    except SourceUnavailable as exc:
        raise UserError(f"source unavailable: {exc}") from None
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), console=err_console, disable=quiet, transient=True) as bar:
        task = bar.add_task("ingesting", total=None)

        def progress(domain: str, n: int) -> None:
            bar.update(task, advance=n, description=f"ingesting {domain}")

        try:
            return ingest(store, pull, progress)
        except IngestError as exc:
            raise UserError(str(exc)) from None


@app.command("ingest")
def ingest_command(config: ConfigOption = None, source: SourceOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Pull the configured source (or --source DIR) into the store now."""
    cfg = study_config(config)
    store = open_store(cfg)
    result = run_ingest(cfg, store, source, quiet=fmt == OutputFormat.json)
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
            err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def status_report(store) -> tuple[pl.DataFrame, dict]:
    counts = []
    for domain in TABLES:
        frame = store.current(domain)
        counts.append({"domain": domain, "records": frame.height,
                       "subjects": frame.get_column("USUBJID").n_unique() if frame.height else 0})
    runs = store.runs(5)
    last = store.last_successful_run()
    extra = {
        "subjects": next(c["subjects"] for c in counts if c["domain"] == "DM"),
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
    frame, extra = status_report(store)
    if fmt == OutputFormat.table:
        emit(frame, fmt, title=f"{cfg.study.id}: records in the store")
        runs = store.runs(5)
        if not runs.is_empty():
            emit(runs.select("id", "status", "started_at", "n_new", "n_changed", "n_unchanged", "n_deleted",
                             "n_quarantined"), fmt, title="last ingest runs")
        q = store.quarantine()
        if q.height:
            emit(q.group_by("domain", "reason").len().sort("len", descending=True).head(20), fmt,
                 title="quarantined in the last run")
    else:
        emit(frame, fmt, extra=extra)


def run_ingest_quiet(cfg: StudyConfig, store, source: Path | None):
    """Ingest for the cycle and the scheduler: errors are exceptions, not exits."""
    from safety.ingest import ingest
    from safety.sources.configured import pull_source

    return ingest(store, pull_source(cfg, source))


@app.command()
def cycle(config: ConfigOption = None, source: SourceOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """One monitoring cycle now: ingest, grading, DLT and boundaries, SUSARs, signals, alerts, delivery."""
    from safety.cycle import run_cycle
    from safety.ingest import IngestError
    from safety.sources import SourceUnavailable

    cfg = study_config(config)
    store = open_store(cfg)
    try:
        result = run_cycle(cfg, store, source)
    except (IngestError, SourceUnavailable) as exc:
        raise UserError(str(exc)) from None
    rows = pl.DataFrame([{"table": k, "rows": v} for k, v in result.derived_rows.items()])
    emit(rows, fmt, title=f"cycle {result.cycle_id}: {result.status} (data cut {result.data_cut})",
         extra={"cycle_id": result.cycle_id, "status": result.status, "data_cut": str(result.data_cut),
                "alerts_created": result.alerts_created, "seconds": result.seconds,
                "ingest_errors": getattr(result.ingest, "errors", [])})
