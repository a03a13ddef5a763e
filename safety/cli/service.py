"""Service commands: `vigil scheduler`, `vigil serve`, `vigil jobs`."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, console, emit
from safety.cli.core import open_store, study_config
from safety.config import REPO_ROOT, ConfigError


def _jobs_config(cfg):  # noqa: ANN001, ANN202
    from jobs.config import load_jobs_config

    try:
        return load_jobs_config(cfg)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)


def _shutdown(scheduler) -> None:  # noqa: ANN001
    from jobs.tasks import close_stores

    # wait=True: running steps finish (or their transaction rolls back) and release their leases
    scheduler.shutdown(wait=True)
    close_stores()


@app.command()
def scheduler(config: ConfigOption = None,
              verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the scheduled jobs (cycle, delivery, digest, SUSAR listing, data cut) until SIGTERM."""
    from jobs.lifecycle import run_until_stopped
    from jobs.scheduler import start_scheduler

    cfg = study_config(config)
    jobs_cfg = _jobs_config(cfg)
    open_store(cfg)
    _logging(verbose)
    holder: dict = {}

    def start() -> None:
        holder["s"] = start_scheduler(cfg, jobs_cfg)
        logging.getLogger("vigil").info("scheduler started: %s", ", ".join(jobs_cfg.schedules()))

    raise typer.Exit(run_until_stopped(start, lambda: _shutdown(holder["s"])))


def demo_config(root: Path) -> Path:
    """A copy of config/ whose source is var/demo/sdtm, fed over time, with its own SQLite file."""
    target = root / "config"
    shutil.copytree(REPO_ROOT / "config", target, dirs_exist_ok=True)
    study = (target / "study.yaml").read_text(encoding="utf-8")
    import yaml

    data = yaml.safe_load(study)
    data["source"] = {"kind": "sdtm_files", "path": "../sdtm"}
    data["database_url"] = "sqlite:///../vigil.db"
    jobs = data.setdefault("jobs", {})
    jobs.update({"data_cut": "latest_record",
                 "cycle": {"every": "1m"}, "delivery": {"every": "1m"},
                 "demo_feed": {"every": "1m", "enabled": True, "step_days": 14}})
    (target / "study.yaml").write_text("# written by `vigil serve --demo`\n" + yaml.safe_dump(data, sort_keys=False))
    return target / "study.yaml"


@app.command()
def serve(config: ConfigOption = None,
          demo: Annotated[bool, typer.Option("--demo", help="the bundled demo study, arriving over time")] = False,
          host: Annotated[str, typer.Option(help="dashboard address")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="dashboard port")] = 8050,
          data_dir: Annotated[Path | None, typer.Option("--data-dir", help="with --demo: where its files and "
                                                        "database live (default var/demo)")] = None,
          verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """The scheduler in the background and the dashboard in the foreground, until SIGTERM/Ctrl-C."""
    from jobs.lifecycle import StopFlag
    from jobs.scheduler import start_scheduler
    from jobs.tasks import run_step

    if demo:
        root = (data_dir or REPO_ROOT / "var" / "demo").resolve()
        config = demo_config(root)
    cfg = study_config(config)
    jobs_cfg = _jobs_config(cfg)
    store = open_store(cfg)
    _logging(verbose)
    if demo:
        # the first snapshot and cycle now, so the dashboard has something to show at once
        run_step(cfg, jobs_cfg, store, "demo_feed")
        run_step(cfg, jobs_cfg, store, "cycle")
        console.print(f"demo study: files in {cfg.source_path}, database {cfg.database}, config {cfg.path}")
    from dashboards.app import create_app

    sched = start_scheduler(cfg, jobs_cfg)
    flag = StopFlag()
    try:
        dash_app = create_app(cfg, store, demo=demo)
        from werkzeug.serving import make_server

        http = make_server(host, port, dash_app.server, threaded=True)
    except BaseException:
        _shutdown(sched)
        raise
    console.print(f"dashboard: http://{host}:{port}/  (Ctrl-C or SIGTERM stops)")
    # the HTTP server stops from another thread; the signal handler only sets the flag
    flag.install(on_stop=lambda: threading.Thread(target=http.shutdown, daemon=True).start())
    try:
        http.serve_forever()
    finally:
        _shutdown(sched)


@app.command("jobs")
def jobs_command(config: ConfigOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Each job's next run and last outcome, each source's last success, and whether data is stale."""
    from jobs.health import service_health

    cfg = study_config(config)
    _jobs_config(cfg)
    store = open_store(cfg)
    health = service_health(store, cfg)
    frame = pl.DataFrame(health["jobs"], infer_schema_length=None)
    extra = {"last_ingest_success_at": health["last_ingest_success_at"], "stale": health["stale"],
             "stale_after_hours": health["stale_after_hours"], "sources": health["sources"]}
    if fmt == OutputFormat.table:
        emit(frame, fmt, title=f"{cfg.study.id}: scheduled jobs")
        if health["sources"]:
            emit(pl.DataFrame(health["sources"], infer_schema_length=None), fmt, title="sources")
        state = "[bold red]STALE[/]" if health["stale"] else "fresh"
        console.print(f"data: {state} (last successful ingest {health['last_ingest_success_at']}, "
                      f"limit {health['stale_after_hours']} h)")
        if not health["scheduler_started"]:
            console.print("no scheduler has stored its jobs in this database yet (start `vigil scheduler`)")
    else:
        emit(frame, fmt, extra=extra)
