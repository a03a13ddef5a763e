"""SUSARs: each case with day 0, the due date of its report and the clock status; line listings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, State, dcc, html

from dashboards.components import card, grid, not_computed, page, section
from dashboards.context import AppContext, PageRequest
from dashboards.data import DataView

NAME = "susars"
PATH = "/susars"
TITLE = "SUSARs"
CASE_COLUMNS = ["CASE_ID", "USUBJID", "AESEQ", "CASE_STATE", "DAY0", "DAY0_BASIS", "FATAL_OR_LT", "DUE_DATE",
                "DAYS_TO_DUE", "STATUS", "SUBMITTED_DATE", "COMPLETE_DUE", "COMPLETE_STATUS", "SUSPECT_DRUGS",
                "LATEST_REPORT_TYPE", "NEXT_DUE_DATE"]
FORMATS = ("csv", "xlsx", "pdf")


def data_cut_date(view: DataView, table: str) -> date:
    """The data cut of the cycle that wrote `table` (what the listing is 'as of')."""
    meta = view.derived_meta(table)
    if meta and meta.get("cycle_id") is not None:
        cycles = view.cycles(limit=1000)
        row = cycles.filter(pl.col("id") == meta["cycle_id"]) if cycles.height else cycles
        if row.height and row["data_cut"][0] is not None:
            return row["data_cut"][0].date()
    return datetime.now(UTC).date()


def susar_listing_file(ctx: AppContext, cut: str | None, fmt: str, username: str) -> str:
    """Write the cumulative SUSAR line listing for the chosen data and return the file's path."""
    from safety.listings import ListingMeta, susar_line_listing, write_listing

    view = ctx.reader.view(cut)
    cases = view.derived("susar_cases")
    ae = view.derived("ae_events")
    if cases is None or ae is None:
        raise LookupError("susar_cases is not computed yet")
    frame = susar_line_listing(cases, ae, view.current("DM"), view.current("EX"), None, None)
    cut_day = data_cut_date(view, "susar_cases")
    meta = ListingMeta(study=ctx.cfg.study.id, data_cut=cut_day, generated_at=datetime.now(UTC),
                       title=f"SUSAR line listing ({view.label}; requested by {username})")
    path = ctx.listing_dir / f"susar_listing_{ctx.cfg.study.id}_{cut_day:%Y%m%d}.{fmt}"
    return str(write_listing(frame, path, fmt, meta).path)


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    cases = view.derived("susar_cases")
    if cases is None:
        return page("SUSARs", view.label, not_computed("susar_cases"))
    counts = cases.group_by("STATUS").len().sort("STATUS")
    tones = {"OVERDUE": "alarm", "DUE SOON": "warn", "SUBMITTED": "ok", "SUBMITTED LATE": "warn"}
    return page(
        "SUSARs", view.label,
        dbc.Row([dbc.Col(card("SUSAR cases", cases.height, "", "neutral", "susar-total"))]
                + [dbc.Col(card(str(s), n, "clock status", tones.get(str(s), "neutral"),
                                f"susar-status-{str(s).lower().replace(' ', '-')}"))
                   for s, n in counts.iter_rows()], className="g-2"),
        section("Cases and reporting clocks",
                grid("susar-grid", cases.sort("DUE_DATE", nulls_last=True), CASE_COLUMNS, height=360),
                help_text="Day 0 = the day the sponsor became aware; 7 days for fatal or life-threatening (and its "
                          "complete report 8 days later: COMPLETE_DUE), else 15."),
        section("Line listing (cumulative)",
                html.Div([html.Button(f"Download {f.upper()}", id=f"susar-download-{f}",
                                      className="btn btn-outline-primary me-2") for f in FORMATS]),
                html.Div(id="susar-download-message", role="status", className="action-message"),
                dcc.Download(id="susar-download")),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(Output("susar-download", "data"), Output("susar-download-message", "children"),
                  *[Input(f"susar-download-{f}", "n_clicks") for f in FORMATS], State("data-cut", "value"),
                  prevent_initial_call=True)
    def download(*args):
        from dash import ctx as trigger

        from dashboards import auth

        cut = args[-1]
        fmt = str(trigger.triggered_id).rsplit("-", 1)[-1]
        try:
            path = susar_listing_file(ctx, cut, fmt, auth.current_username() or "")
        except LookupError as exc:
            return None, str(exc)
        return dcc.send_file(path), f"{fmt.upper()} listing written"
