"""`vigil listing susar` (periodic or cumulative SUSAR line listing, kept in the store) and
`vigil susar submit` (record that a SUSAR report went to the authorities)."""

from __future__ import annotations

import datetime as dt
import getpass
import re
from pathlib import Path
from typing import Annotated, Literal

import polars as pl
import typer
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from safety.cli.app import ConfigOption, FormatOption, OutputFormat, UserError, app, emit
from safety.cli.core import open_store, study_config
from safety.store import Store, schema, utcnow
from safety.susar.cases import COMPLETE

listing_app = typer.Typer(help="Regulatory listings (CSV, XLSX, PDF), each kept in the store.", no_args_is_help=True)
susar_app = typer.Typer(help="SUSAR reporting: record submissions.", no_args_is_help=True)
app.add_typer(listing_app, name="listing")
app.add_typer(susar_app, name="susar")

REPORT_TYPE = re.compile(r"^(initial|complete|follow-up [1-9][0-9]*)$")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def _susar_cases(store: Store) -> tuple[pl.DataFrame, dict]:
    cases = store.derived("susar_cases")
    meta = store.derived_meta("susar_cases")
    if cases is None or meta is None:
        raise UserError("no SUSAR cases in the store yet: run `vigil cycle` first")
    return cases, meta


def _cycle_data_cut(store: Store, cycle_id: int | None) -> dt.date | None:
    if cycle_id is None:
        return None
    c = schema.cycle
    with store.read() as conn:
        cut = conn.execute(select(c.c.data_cut).where(c.c.id == cycle_id)).scalar_one_or_none()
    return cut.date() if isinstance(cut, dt.datetime) else cut


def store_listing(store: Store, kind: str, written, params: dict, user: str) -> int:
    """Keep the listing file (bytes), its parameters and hashes; audited."""
    with store.write() as conn:
        listing_id = conn.execute(insert(schema.listing).values(
            kind=kind, format=written.format, params=params, content_sha256=written.sha256,
            file_sha256=written.file_sha256, n_rows=written.rows, created_at=utcnow(), created_by=user,
            payload=Path(written.path).read_bytes(),
        )).inserted_primary_key[0]
        store.audit(conn, user, "listing.create", f"listing:{listing_id}",
                    {"kind": kind, "format": written.format, "content_sha256": written.sha256, "rows": written.rows,
                     "path": str(written.path)})
    return listing_id


@listing_app.command("susar")
def susar_listing_command(
    period_from: Annotated[str | None, typer.Option("--from", help="period start, inclusive (YYYY-MM-DD)")] = None,
    period_to: Annotated[str | None, typer.Option("--to", help="period end / data cut, inclusive (YYYY-MM-DD)")] = None,
    file_format: Annotated[Literal["csv", "xlsx", "pdf"], typer.Option("--format", help="csv, xlsx or pdf")] = "csv",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="file to write")] = None,
    cumulative: Annotated[bool, typer.Option("--cumulative", help="every case to --to (the DSUR cumulative listing)")] = False,
    user: Annotated[str | None, typer.Option("--user", help="who makes the listing (default: login name)")] = None,
    config: ConfigOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--report", help="summary as table, csv or json")] = OutputFormat.table,
) -> None:
    """SUSAR line listing for a period (cases whose initial or latest report day 0 falls in it)."""
    from safety.listings import ListingMeta, cumulative_listing, susar_line_listing, write_listing

    start, end = _date(period_from, "--from"), _date(period_to, "--to")
    if cumulative and start is not None:
        raise UserError("--cumulative lists every case up to --to: leave out --from")
    if start and end and start > end:
        raise UserError(f"--from {start} is after --to {end}")
    cfg = study_config(config)
    store = open_store(cfg)
    cases, meta = _susar_cases(store)
    data_cut = end or _cycle_data_cut(store, meta["cycle_id"]) or dt.date.today()
    # the listings name the AE version `_version` (the store: `_VERSION`), shown as "Source record"
    ae = store.current("AE").rename({"_VERSION": "_version"}, strict=False)
    dm, ex = store.current("DM"), store.current("EX")
    if cumulative:
        frame = cumulative_listing(cases, ae, dm, ex, data_cut)
        kind, title, period = "susar_cumulative", "Cumulative SUSAR line listing", f"to {data_cut}"
    else:
        frame = susar_line_listing(cases, ae, dm, ex, start, end)
        kind, title = "susar_line_listing", "SUSAR line listing"
        period = f"{start or 'start'} to {end or 'data cut'}"
    who = user or getpass.getuser()
    listing_meta = ListingMeta(cfg.study.id, data_cut, utcnow().replace(microsecond=0), title, period)
    target = out or Path(f"{kind}_{start or 'start'}_{data_cut}.{file_format}")
    try:
        written = write_listing(frame, target, file_format, listing_meta)
    except OSError as exc:
        raise UserError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - a writer failure (e.g. fpdf layout) is one line, not a traceback
        if type(exc).__module__.startswith(("fpdf", "xlsxwriter")):
            raise UserError(f"{target}: the {file_format} writer failed: {exc}") from None
        raise
    params = dict(written.params) | {
        "kind": kind, "from": None if start is None else start.isoformat(),
        "to": None if end is None else end.isoformat(), "cumulative": cumulative,
        "susar_cases_derived_id": meta["id"], "susar_cases_cycle_id": meta["cycle_id"],
        "susar_cases_sha256": meta["content_sha256"], "rule_version": meta["rule_version"],
        "content_sha256": written.sha256,
    }
    listing_id = store_listing(store, kind, written, params, who)
    emit(pl.DataFrame([{"listing_id": listing_id, "kind": kind, "format": file_format, "rows": written.rows,
                        "pages": written.pages, "path": str(written.path), "content_sha256": written.sha256}]),
         fmt, title=f"{cfg.study.id}: {title} ({period})")


@susar_app.command("submit")
def submit_command(
    case_id: Annotated[str, typer.Argument(help="CASE_ID (see the SUSAR listing)")],
    on: Annotated[str, typer.Option("--on", help="date the report was submitted (YYYY-MM-DD)")],
    user: Annotated[str, typer.Option("--user", help="who records the submission")],
    report_type: Annotated[str, typer.Option(
        "--report-type", help="initial, 'follow-up N', or complete (the complete report of a fatal or "
        "life-threatening case, due 8 days after its 7-day report)")] = "initial",
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Record that a SUSAR report (initial, follow-up N or complete) was submitted; stops its clock at the next cycle."""
    submitted = _date(on, "--on")
    rtype = report_type.strip().lower()
    if not REPORT_TYPE.match(rtype):
        raise UserError(f"--report-type {report_type!r}: expected 'initial', 'follow-up N' or 'complete'")
    if not user.strip():
        raise UserError("--user is required")
    if submitted > dt.date.today():
        raise UserError(f"--on {submitted} is in the future")
    cfg = study_config(config)
    store = open_store(cfg)
    cases, _ = _susar_cases(store)
    if case_id not in set(cases["CASE_ID"].to_list()):
        raise UserError(f"no SUSAR case {case_id!r} in the latest cycle's cases")
    if rtype == COMPLETE:
        owed = "COMPLETE_DUE" in cases.columns and cases.filter(
            (pl.col("CASE_ID") == case_id) & pl.col("COMPLETE_DUE").is_not_null()).height > 0
        if not owed:
            raise UserError(f"case {case_id} is not fatal or life-threatening: it owes no complete report")
    elif rtype != "initial":
        followups = store.derived("susar_followups")
        known = set() if followups is None else set(
            followups.filter(pl.col("CASE_ID") == case_id)["REPORT_TYPE"].to_list())
        if rtype not in known:
            raise UserError(f"case {case_id} has no {rtype} (known: {', '.join(sorted(known)) or 'none'})")
    at = dt.datetime.combine(submitted, dt.time(), dt.UTC)
    try:
        with store.write() as conn:
            sub_id = conn.execute(insert(schema.susar_submission).values(
                case_id=case_id, report_type=rtype, submitted_on=at, recorded_by=user.strip(),
                recorded_at=utcnow(), comment=comment,
            )).inserted_primary_key[0]
            store.audit(conn, user.strip(), "susar.submit", f"susar:{case_id}",
                        {"report_type": rtype, "submitted_on": submitted.isoformat(), "comment": comment})
    except IntegrityError:
        raise UserError(f"the {rtype} report of {case_id} is already recorded as submitted") from None
    emit(pl.DataFrame([{"submission_id": sub_id, "case_id": case_id, "report_type": rtype,
                        "submitted_on": submitted.isoformat(), "recorded_by": user.strip()}]), fmt,
         title="SUSAR submission recorded")
