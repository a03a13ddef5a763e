"""`vigil grade`: CTCAE v5.0 grades for an SDTM LB file, for a statistician who wants only grades."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safety.cli.app import ConfigOption, UserError, app, console, err_console

WRITERS = (".parquet", ".csv", ".xpt")


def _read_domain(path: Path, domain: str):
    from safety.sources.canonical import canonicalize
    from safety.sources.files import SourceFileError, read_file

    try:
        canon = canonicalize(read_file(path), domain, str(path))
    except SourceFileError as exc:
        raise UserError(str(exc)) from None
    return canon


@app.command()
def grade(
    infile: Annotated[Path, typer.Argument(help="SDTM LB file (XPT, CSV, Parquet, Dataset-JSON)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="graded rows: .parquet, .csv or .xpt")],
    dm: Annotated[Path | None, typer.Option("--dm", help="SDTM DM file, for first-dose dates (baseline)")] = None,
    config: ConfigOption = None,
) -> None:
    """Grade labs per CTCAE v5.0 (criteria in config/) and write every row with ATOXGRL/ATOXGRH."""
    from safety.cli.core import study_config
    from safety.grading import CriteriaError, derive_lab_grades, load_criteria

    if out.suffix.lower() not in WRITERS:
        raise UserError(f"{out}: write .parquet, .csv or .xpt")
    cfg = study_config(config)
    try:
        criteria = load_criteria(cfg.folder)
    except CriteriaError as exc:
        raise UserError(str(exc)) from None
    lb = _read_domain(infile, "LB")
    dm_frame = _read_domain(dm, "DM").frame if dm else None
    graded = derive_lab_grades(lb.frame.drop("_KEY"), dm_frame, criteria)
    _write(graded, out)
    n_graded = graded.filter(graded["ATOXGRL"].is_not_null() | graded["ATOXGRH"].is_not_null()).height
    # paths and reasons are plain text, not Rich markup (a '[' in a file name would raise)
    console.print(f"{graded.height:,} rows graded with {criteria.version} -> {out} ({n_graded:,} with a grade)",
                  markup=False)
    if lb.quarantine.height:
        err_console.print(f"{lb.quarantine.height} rows not graded (unusable): "
                          + "; ".join(lb.quarantine["REASON"].unique().head(5).to_list()), highlight=False,
                          markup=False)


def _write(frame, out: Path) -> None:
    import polars as pl

    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix == ".csv":
        frame.with_columns(pl.col(pl.List(pl.Int64)).list.eval(pl.element().cast(pl.String)).list.join(",")).write_csv(out)
    else:
        import polars.selectors as cs
        import pyreadstat

        # SAS transport holds numbers and text only: dates, times and Enum vocabularies become text.
        flat = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S"), pl.col(pl.Date).cast(pl.String),
                                  cs.enum().cast(pl.String))
        pyreadstat.write_xport(flat.to_pandas(), str(out), file_format_version=5, table_name="ADLB")
