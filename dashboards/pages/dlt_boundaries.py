"""DLT and boundaries: the run-in decision, each stopping rule against its boundary with the
operating characteristics, and the DLT candidates the committee confirms or rejects."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, State, dcc, html

from dashboards import actions, auth
from dashboards.components import card, grid, not_computed, page, records, section
from dashboards.context import AppContext, PageRequest
from dashboards.figures import boundary_figure, oc_figure

NAME = "dlt"
PATH = "/dlt"
TITLE = "DLT & boundaries"
CANDIDATE_COLUMNS = ["CANDIDATE_ID", "USUBJID", "DECISION", "DLT_RULE", "DLT_DESC", "DLTSTDT", "TERM", "GRADE", "DURATION",
                     "CANDSTAT", "REVIEW", "SRC", "DECIDED_BY", "COMMENT"]


def candidates_with_decisions(candidates: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """Each candidate with the committee's latest decision (the newest row per candidate wins)."""
    if decisions.is_empty():
        return candidates.with_columns(pl.lit(None, pl.String).alias("DECISION"),
                                       pl.lit(None, pl.String).alias("DECIDED_BY"),
                                       pl.lit(None, pl.String).alias("COMMENT"))
    latest = (decisions.sort("id", descending=True).unique("candidate_id", keep="first")
              .select(pl.col("candidate_id").alias("CANDIDATE_ID"), pl.col("decision").alias("DECISION"),
                      pl.col("decided_by").alias("DECIDED_BY"), pl.col("comment").alias("COMMENT")))
    return candidates.join(latest, on="CANDIDATE_ID", how="left")


def _candidates_rows(ctx: AppContext, cut: str | None) -> list[dict]:
    view = ctx.reader.view(cut)
    cands = view.derived("dlt_candidates")
    if cands is None:
        return []
    merged = candidates_with_decisions(cands, view.dlt_decisions())
    return records(merged.select([c for c in CANDIDATE_COLUMNS if c in merged.columns]))


def _runin(view) -> html.Div:
    decision = view.derived("runin_decision")
    if decision is None or decision.is_empty():
        return not_computed("runin_decision")
    row = decision.row(0, named=True)
    tone = {"CONFIRM": "ok", "PENDING": "neutral", "DE-ESCALATE": "warn", "STOP": "alarm"}.get(
        str(row.get("decision", "")).upper(), "neutral")
    return dbc.Row([
        dbc.Col(card("Run-in decision", row.get("decision"), f"dose level {row.get('dose_level')}", tone,
                     "runin-decision"), md=3),
        dbc.Col(card("Evaluable", row.get("n_evaluable"), "DLT-evaluable subjects", "neutral", "runin-evaluable"),
                md=2),
        dbc.Col(card("DLTs", row.get("n_dlt"), "confirmed by the committee", "neutral", "runin-dlts"), md=2),
        dbc.Col(html.P(str(row.get("sentence", "")), className="sentence", id="runin-sentence"), md=5),
    ], className="g-2")


def _rules(view) -> list:
    status = view.derived("boundary_status")
    if status is None:
        return [not_computed("boundary_status")]
    table = view.derived("boundary_table")
    oc = view.derived("boundary_oc")
    blocks = []
    for row in status.iter_rows(named=True):
        rule_id = row["design_id"]
        crossed = bool(row.get("crossed"))
        blocks.append(html.Div([
            html.H5([row.get("title") or rule_id, " ",
                     dbc.Badge("CROSSED" if crossed else "not crossed", color="danger" if crossed else "success")]),
            html.P(str(row.get("message", "")), className="boundary-message", id=f"boundary-message-{rule_id}"),
            dbc.Row([
                dbc.Col(dcc.Graph(id=f"boundary-{rule_id}", figure=boundary_figure(table, row)), md=7),
                dbc.Col(dcc.Graph(id=f"oc-{rule_id}", figure=oc_figure(oc, rule_id)), md=5),
            ]),
        ], className="rule-block"))
    return blocks


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    can_decide = request.role in actions.DLT_ROLES and view.cut is None
    cands = view.derived("dlt_candidates")
    status = view.derived("dlt_status")
    decide = html.Div([
        dcc.Textarea(id="dlt-comment", placeholder="Comment (required to reject)", className="comment"),
        html.Button("Confirm DLT", id="dlt-confirm", className="btn btn-danger me-2"),
        html.Button("Reject", id="dlt-reject", className="btn btn-outline-secondary"),
    ], className="decide") if can_decide else html.P(
        "Only the committee role can confirm or reject candidates (and only on live data).", className="help")
    return page(
        "DLT and stopping boundaries", view.label,
        section("Safety run-in", _runin(view)),
        section("Stopping rules", *_rules(view),
                help_text="The line is the boundary (stop when events reach it); the point is the data now."),
        section("DLT candidates",
                grid("dlt-grid", candidates_with_decisions(cands, view.dlt_decisions()) if cands is not None else None,
                     CANDIDATE_COLUMNS, height=260, selectable=True) if cands is not None
                else not_computed("dlt_candidates"),
                decide,
                html.Div(id="dlt-message", role="status", className="action-message"),
                help_text="Select a candidate, then confirm or reject it with a comment. The next monitoring cycle "
                          "counts confirmed DLTs."),
        section("Subjects by DLT status",
                grid("dlt-status-grid", status, ["USUBJID", "COHORT", "DOSELVL", "FIRSTDOSE", "WINENDT", "DOSES",
                                                 "N_CAND", "N_CONFIRMED", "DLTSTAT", "DLTRSN"], height=300)
                if status is not None else not_computed("dlt_status")),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(Output("dlt-message", "children"), Output("dlt-grid", "rowData"),
                  Input("dlt-confirm", "n_clicks"), Input("dlt-reject", "n_clicks"),
                  State("dlt-grid", "selectedRows"), State("dlt-comment", "value"), State("data-cut", "value"),
                  prevent_initial_call=True)
    def decide(confirm_clicks, reject_clicks, selected, comment, cut):
        from dash import ctx as trigger

        decision = "CONFIRMED" if trigger.triggered_id == "dlt-confirm" else "REJECTED"
        if cut not in (None, "", "live"):
            return "Decisions are made on live data, not on a frozen data cut.", _candidates_rows(ctx, cut)
        candidate = (selected or [{}])[0].get("CANDIDATE_ID")
        try:
            actions.decide_dlt(ctx.store, candidate, decision, auth.current_username() or "",
                               auth.current_role() or "", comment)
        except actions.ActionRefused as exc:
            return f"Not recorded: {exc}", _candidates_rows(ctx, cut)
        return f"{decision.title()}: {candidate}", _candidates_rows(ctx, cut)
