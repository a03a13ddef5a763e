"""`vigil disproportionality`: PRR, ROR, IC and EBGM over a file of reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, emit
from safety.config import ConfigError
from safety.signals.config import load_signal_config, signals_config_path
from safety.signals.disproportionality import REPORT_COLUMNS, run_disproportionality

READERS = {".csv": pl.read_csv, ".parquet": pl.read_parquet, ".pq": pl.read_parquet}
SUMMARY_ROWS = 20


def read_reports(path: Path) -> pl.DataFrame:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UserError(f"{path}: unsupported file type (use .csv or .parquet)")
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        frame = reader(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UserError(f"{path}: cannot read ({str(exc).splitlines()[0]})") from None
    # ids and names are labels, whatever they look like
    present = [c for c in REPORT_COLUMNS if c in frame.columns]
    return frame.with_columns(pl.col(present).cast(pl.String))


def write_result(frame: pl.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.write_csv(path)
    elif suffix in (".parquet", ".pq"):
        frame.write_parquet(path)
    elif suffix == ".json":
        frame.write_json(path)
    else:
        raise UserError(f"{path}: unsupported output type (use .csv, .parquet or .json)")


@app.command("disproportionality")
def disproportionality_command(
    reports: Annotated[Path, typer.Argument(help="CSV or Parquet with report_id, drug, event")],
    output: Annotated[Path, typer.Option("-o", "--output", help="result file (.csv, .parquet, .json)")],
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """PRR, ROR, IC and EBGM per drug-event pair; writes every pair, prints the flagged ones."""
    try:
        cfg = load_signal_config(signals_config_path(config))
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    frame = read_reports(reports)
    try:
        result, prior = run_disproportionality(frame, cfg)
    except ValueError as exc:
        raise UserError(f"{reports}: {exc}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    write_result(result, output)
    flagged = result.filter(pl.col("signal"))
    top = flagged.sort("EB05", descending=True).head(SUMMARY_ROWS).select(
        "drug", "event", "a", "PRR", "ROR_lo", "IC025", "EB05", "n_methods"
    )
    extra = {
        "pairs": result.height,
        "flagged": flagged.height,
        "output": str(output),
        "rules_version": cfg.version,
        "gps_prior": prior.as_dict(),
    }
    emit(top, fmt, title=f"Flagged drug-event pairs (top {SUMMARY_ROWS} by EB05)", extra=extra)
