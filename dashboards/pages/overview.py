"""Overview: what is new since this user's last visit, what needs action, how near the boundaries are."""

from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
import polars as pl
from dash import html

from dashboards.components import card, grid, not_computed, page, section
from dashboards.context import AppContext, PageRequest

NAME = "overview"
PATH = "/"
TITLE = "Overview"


def _since(request: PageRequest) -> datetime | None:
    try:
        return datetime.fromisoformat(request.since) if request.since else None
    except ValueError:
        return None


def _newer(frame: pl.DataFrame, column: str, since: datetime | None) -> pl.DataFrame:
    if since is None or frame.is_empty() or column not in frame.columns:
        return frame
    value = since.replace(tzinfo=None) if frame.schema[column] == pl.Datetime("us") else since
    return frame.filter(pl.col(column) > value)


def _new_since(request: PageRequest) -> html.Section:
    view = request.view
    since = _since(request)
    alerts = _newer(view.alerts(), "created_at", since)
    runs = view.ingest_runs_since(since)
    ae = view.derived("ae_events")
    new_ae = 0
    if ae is not None and "_RUN_ID" in ae.columns and runs.height:
        new_ae = ae.filter(pl.col("_RUN_ID").is_in(runs["id"].implode())).height
    elif ae is not None and since is None:
        new_ae = ae.height
    g3 = 0
    if ae is not None and "_RUN_ID" in ae.columns and runs.height:
        g3 = ae.filter(pl.col("_RUN_ID").is_in(runs["id"].implode()) & (pl.col("AETOXGR") >= 3)).height
    changed = view.derived_since(since)
    label = f"since your last visit ({since:%Y-%m-%d %H:%M} UTC)" if since else "(first visit: everything is new)"
    cards = dbc.Row([
        dbc.Col(card("New alerts", alerts.height, label, "warn" if alerts.height else "ok", "new-alerts",
                     href="/alerts")),
        dbc.Col(card("New or changed AE records", new_ae, f"{g3} of grade 3 or higher", "warn" if g3 else "neutral",
                     "new-aes", href="/adverse-events")),
        dbc.Col(card("Ingest runs", runs.height, f"{int(runs['n_new'].sum() or 0) if runs.height else 0} new records",
                     "neutral", "new-runs", href="/data")),
        dbc.Col(card("Derived tables updated", changed.height, "by monitoring cycles", "neutral", "new-derived")),
    ], className="g-3")
    return section("What is new", cards)


def _open_alerts(request: PageRequest) -> html.Section:
    alerts = request.view.alerts()
    open_ = alerts.filter(pl.col("acknowledged_at").is_null()) if alerts.height else alerts
    return section(f"Open alerts ({open_.height})",
                   grid("overview-open-alerts", open_, ["id", "created_at", "severity", "title", "usubjid", "status"],
                        height=240),
                   html.A("Acknowledge on the Alerts page", href="/alerts", className="btn btn-outline-primary mt-2"),
                   help_text="Alerts nobody has acknowledged yet; delivery status is the e-mail's.")


def _counts(frame: pl.DataFrame | None, column: str, name: str, card_prefix: str, href: str) -> html.Div:
    if frame is None:
        return not_computed(name)
    if frame.is_empty():
        return html.P(f"{name}: no rows")
    counts = frame.group_by(column).len().sort("len", descending=True)
    return dbc.Row([dbc.Col(card(str(value), n, "", "warn" if value in ("DLT", "OVERDUE", "DUE SOON") else "neutral",
                                 f"{card_prefix}-{str(value).lower().replace(' ', '-').replace(',', '')}", href=href),
                            md=3) for value, n in counts.iter_rows()], className="g-2")


def _boundaries(request: PageRequest) -> html.Div:
    status = request.view.derived("boundary_status")
    if status is None:
        return not_computed("boundary_status")
    tiles = []
    for row in status.iter_rows(named=True):
        crossed = bool(row.get("crossed"))
        to_stop = row.get("events_to_stop")
        detail = "boundary crossed" if crossed else (
            f"{to_stop} more event(s) to the boundary" if to_stop is not None else "boundary not reachable yet")
        tiles.append(dbc.Col(card(row.get("title") or row["design_id"], f"{row['events']} / {row['n']}", detail,
                                  "alarm" if crossed else ("warn" if to_stop is not None and to_stop <= 1 else "ok"),
                                  f"boundary-{row['design_id']}", href="/dlt"), md=4))
    return dbc.Row(tiles, className="g-2")


def _freshness(request: PageRequest) -> html.Div:
    view = request.view
    runs = view.ingest_runs(1)
    jobs = view.last_job_runs()
    last = runs.row(0, named=True) if runs.height else None
    text = (f"Last ingest run {last['id']}: {last['status']}, finished {last['finished_at']:%Y-%m-%d %H:%M}"
            if last and last.get("finished_at") else "No ingest run yet.")
    return html.Div([html.P(text, id="last-ingest"),
                     grid("overview-jobs", jobs, ["job", "outcome", "started_at", "finished_at", "error"], height=200)])


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    return page(
        "Overview", f"{ctx.cfg.study.title} - {view.label}",
        _new_since(request),
        _open_alerts(request),
        section("Stopping boundaries", _boundaries(request),
                help_text="Observed events / evaluable subjects per stopping rule; the distance is events to stop."),
        section("Subjects by DLT status", _counts(view.derived("dlt_status"), "DLTSTAT", "dlt_status", "dlt", "/dlt")),
        section("SUSARs by clock status", _counts(view.derived("susar_cases"), "STATUS", "susar_cases", "susar",
                                                  "/susars")),
        section("Data freshness", _freshness(request)),
    )


def register(app, ctx: AppContext) -> None:
    """No callbacks: the overview is rendered whole."""
