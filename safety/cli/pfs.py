"""`vigil pfs`: PFS per subject and the 6-month PFS rate from stop-gap SDTM files (RS, DM, DS)."""

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


def read_domain(path: Path) -> pl.DataFrame:
    """A stop-gap reader (Parquet, CSV, SAS XPT) until the command reads the store."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    if suffix == ".xpt":
        import pandas as pd

        return pl.from_pandas(pd.read_sas(path, format="xport", encoding="utf-8"))
    raise UserError(f"{path}: unsupported file type {suffix!r} (Parquet, CSV or XPT)")


def pfs_report(
    rs: pl.DataFrame, dm: pl.DataFrame, ds: pl.DataFrame | None, cfg: PfsConfig, data_cut: date | None = None
) -> tuple[pl.DataFrame, dict]:
    """ADTTE PFS rows with the landmark status, and the 6-month rate summary."""
    pfs = derive_pfs(dm, rs, ds, cfg, data_cut)
    summary = six_month_rate(pfs, cfg).as_dict()
    return landmark_status(pfs, cfg.six_month_rate.landmark_day), summary


@app.command("pfs")
def pfs_command(
    rs: Annotated[Path, typer.Option("--rs", help="RS domain file (Parquet, CSV, XPT)")],
    dm: Annotated[Path, typer.Option("--dm", help="DM domain file")],
    ds: Annotated[Path | None, typer.Option("--ds", help="DS domain file (deaths, new anticancer therapy)")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="pfs.yaml (default: next to --config)")] = None,
    data_cut: Annotated[str | None, typer.Option("--data-cut", help="ignore records after this date (YYYY-MM-DD)")] = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """PFS per subject (RECIST 1.1, FDA 2018 censoring) and the 6-month PFS rate."""
    path = rules or (config.parent / "pfs.yaml" if config else DEFAULT_PFS_CONFIG)
    try:
        cfg = load_pfs_config(path)
        cut = date.fromisoformat(data_cut) if data_cut else None
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    except ValueError:
        raise UserError(f"--data-cut {data_cut!r}: not a date (YYYY-MM-DD)") from None
    frame, summary = pfs_report(read_domain(rs), read_domain(dm), read_domain(ds) if ds else None, cfg, cut)
    emit(frame, fmt, title=f"PFS ({cfg.version})", extra={"six_month_rate": summary} if fmt == OutputFormat.json
         else summary)
