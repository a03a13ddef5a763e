"""Alerts: the log with delivery status, and acknowledgement with a comment."""

from __future__ import annotations

import polars as pl
from dash import Input, Output, State, dcc, html

from dashboards import actions, auth
from dashboards.components import grid, page, records, section
from dashboards.context import AppContext, PageRequest

NAME = "alerts"
PATH = "/alerts"
TITLE = "Alerts"
COLUMNS = ["id", "created_at", "severity", "rule", "usubjid", "title", "status", "attempts", "sent_at",
           "acknowledged_at", "acknowledged_by", "ack_comment"]


def _rows(ctx: AppContext, only_open: bool) -> list[dict]:
    alerts = ctx.reader.view(None).alerts()
    if only_open and alerts.height:
        alerts = alerts.filter(pl.col("acknowledged_at").is_null())
    return records(alerts.select([c for c in COLUMNS if c in alerts.columns])) if alerts.height else []


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    alerts = request.view.alerts()
    can_ack = request.role in actions.ACK_ROLES
    open_n = alerts.filter(pl.col("acknowledged_at").is_null()).height if alerts.height else 0
    ack = html.Div([
        dcc.Textarea(id="ack-comment", placeholder="Comment (required)", className="comment"),
        html.Button("Acknowledge selected alert", id="ack-button", className="btn btn-primary"),
    ], className="decide") if can_ack else html.P("Your role cannot acknowledge alerts.", className="help")
    return page(
        "Alerts", f"{open_n} open of {alerts.height} (alerts describe the live service, whatever the data cut)",
        section("Alert log",
                dcc.Checklist(id="alerts-open-only", options=[{"label": " open only", "value": "open"}], value=[],
                              inline=True),
                grid("alerts-grid", alerts, COLUMNS, height=380, selectable=True),
                ack,
                html.Div(id="ack-message", role="status", className="action-message"),
                help_text="status is the e-mail delivery: pending, sent, failed (retried), digested, suppressed."),
        section("Selected alert", html.Pre(id="alert-body", className="alert-body")),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(Output("ack-message", "children"), Output("alerts-grid", "rowData"),
                  Input("ack-button", "n_clicks"), State("alerts-grid", "selectedRows"),
                  State("ack-comment", "value"), State("alerts-open-only", "value"), prevent_initial_call=True)
    def acknowledge(_, selected, comment, open_only):
        alert_id = (selected or [{}])[0].get("id")
        if alert_id is None:
            return "Select an alert first.", _rows(ctx, bool(open_only))
        try:
            actions.acknowledge_alert(ctx.store, int(alert_id), auth.current_username() or "",
                                      auth.current_role() or "", comment)
        except actions.ActionRefused as exc:
            return f"Not recorded: {exc}", _rows(ctx, bool(open_only))
        return f"Alert {alert_id} acknowledged.", _rows(ctx, bool(open_only))

    @app.callback(Output("alerts-grid", "rowData", allow_duplicate=True), Input("alerts-open-only", "value"),
                  prevent_initial_call=True)
    def open_only(value):
        return _rows(ctx, bool(value))

    @app.callback(Output("alert-body", "children"), Input("alerts-grid", "selectedRows"), prevent_initial_call=True)
    def body(selected):
        if not selected:
            return ""
        alerts = ctx.reader.view(None).alerts()
        row = alerts.filter(pl.col("id") == selected[0].get("id"))
        # shown as preformatted text: an alert body is never interpreted as HTML
        return "" if row.is_empty() else f"{row['title'][0]}\n\n{row['body'][0]}\n\nLink: {row['link'][0] or ''}"
