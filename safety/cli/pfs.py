"""`vigil pfs`: PFS per subject and the 6-month PFS rate: from the store's last cycle, or from files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from safety.activity.config import DEFAULT_PFS_CONFIG, PfsConfig, load_pfs_config
from safety.activity.pfs import derive_pfs
from safety.activity.rate import landmark_status, six_month_rate
from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, emit
from safety.config import ConfigError


def read_domain(path: Path, domain: str) -> pl.DataFrame:
    """An SDTM file typed like the store's canonical table (unusable rows left out)."""
    from safety.cli.grade import _read_domain

    if not path.exists():
        raise UserError(f"{path}: file not found")
    return _read_domain(path, domain).frame


def pfs_report(
    rs: pl.DataFrame, dm: pl.DataFrame, ds: pl.DataFrame | None, cfg: PfsConfig, data_cut: date | None = None
) -> tuple[pl.DataFrame, dict]:
    """ADTTE PFS rows with the landmark status, and the 6-month rate summary."""
    pfs = derive_pfs(dm, rs, ds, cfg, data_cut)
    summary = six_month_rate(pfs, cfg).as_dict()
    return landmark_status(pfs, cfg.six_month_rate.landmark_day), summary


@app.command("pfs")
def pfs_command(
    rs: Annotated[Path | None, typer.Option("--rs", help="RS file (Parquet, CSV, XPT); default: the store")] = None,
    dm: Annotated[Path | None, typer.Option("--dm", help="DM domain file (with --rs)")] = None,
    ds: Annotated[Path | None, typer.Option("--ds", help="DS domain file (deaths, new anticancer therapy)")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="pfs.yaml (default: next to --config)")] = None,
    data_cut: Annotated[str | None, typer.Option("--data-cut", help="ignore records after this date (YYYY-MM-DD)")] = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """PFS per subject (RECIST 1.1, FDA 2018 censoring) and the 6-month PFS rate."""
    if rs is None:
        _from_store(config, fmt)
        return
    if dm is None:
        raise UserError("--rs needs --dm (first-dose dates)")
    path = rules or (config.parent / "pfs.yaml" if config else DEFAULT_PFS_CONFIG)
    try:
        cfg = load_pfs_config(path)
        cut = date.fromisoformat(data_cut) if data_cut else None
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    except ValueError:
        raise UserError(f"--data-cut {data_cut!r}: not a date (YYYY-MM-DD)") from None
    frame, summary = pfs_report(
        read_domain(rs, "RS"), read_domain(dm, "DM"), read_domain(ds, "DS") if ds else None, cfg, cut
    )
    emit(frame, fmt, title=f"PFS ({cfg.version})", extra={"six_month_rate": summary} if fmt == OutputFormat.json
         else summary)


def _from_store(config: Path | None, fmt: OutputFormat) -> None:
    """The PFS table and rate the last monitoring cycle stored: what the dashboard shows."""
    from safety.cli.core import open_store, study_config

    store = open_store(study_config(config))
    frame, rate = store.derived("pfs"), store.derived("pfs_rate")
    if frame is None or rate is None:
        raise UserError("no monitoring cycle has computed PFS yet: run `vigil cycle` first")
    summary = rate.row(0, named=True)
    emit(frame, fmt, title=f"PFS ({summary.get('rule_version')})",
         extra={"six_month_rate": summary} if fmt == OutputFormat.json else summary)
