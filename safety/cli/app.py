"""The `vigil` Typer app and what every command shares: --config, --format, one-line errors."""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(
    name="vigil",
    help="Continuous safety monitoring of the elacestrant + exemestane trial.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", envvar="VIGIL_CONFIG", help="study.yaml (default config/study.yaml)"),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv, or json for scripts")]


class UserError(Exception):
    """An error the user can fix; shown as one line on stderr, exit status 1."""


def print_error(message: str) -> None:
    """One 'error: ...' line on stderr. The message quotes user input and data: plain text, never
    Rich markup (a '[/x]' in it would raise)."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


def emit(frame: pl.DataFrame, fmt: OutputFormat, title: str | None = None, extra: dict | None = None) -> None:
    """Print a frame as a rich table, CSV, or one JSON document (rows, plus `extra` keys)."""
    if fmt == OutputFormat.json:
        doc = {"rows": frame.to_dicts()} | (extra or {})
        # NaN/Infinity are not JSON: null, as polars' write_json writes them
        sys.stdout.write(json.dumps(_finite(doc), default=str, allow_nan=False) + "\n")
    elif fmt == OutputFormat.csv:
        sys.stdout.write(frame.write_csv())
    else:
        table = Table(title=title, show_lines=False)
        for name in frame.columns:
            table.add_column(name, overflow="fold")
        for row in frame.iter_rows():
            table.add_row(*(Text("" if v is None else str(v)) for v in row))  # data is text, not markup
        console.print(table)
        for key, value in (extra or {}).items():
            console.print(Text.assemble((str(key), "bold"), f": {value}"), highlight=False)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
