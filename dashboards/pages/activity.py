"""Activity: PFS Kaplan-Meier, the 6-month rate against p0 and p1, the Simon stage and its
futility boundary, the waterfall of best change and response by visit."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html

from dashboards.components import card, not_computed, page, section
from dashboards.context import AppContext, PageRequest
from dashboards.figures import km_figure, response_lanes_figure, waterfall_figure

NAME = "activity"
PATH = "/activity"
TITLE = "Activity"


def simon_parameters(status: pl.DataFrame | None, table: pl.DataFrame | None) -> dict:
    """The Simon rule's status row and its design parameters (p0, p1, n1, r1, n, r), as stored."""
    if status is None or status.is_empty():
        return {}
    rows = status.filter(pl.col("design") == "simon")
    if rows.is_empty():
        return {}
    out = rows.row(0, named=True)
    if table is not None and table.height:
        key = "rule_id" if "rule_id" in table.columns else "design_id"
        design = table.filter(pl.col(key) == out["design_id"])
        for name in ("p0", "p1", "n1", "r1", "r", "alpha", "power"):
            if name in design.columns and design[name].drop_nulls().len():
                out[name] = design[name].drop_nulls()[0]
        if "n" in design.columns and "p0" in design.columns:
            out["n_max"] = design.filter(pl.col("p0").is_not_null())["n"].max()
    return out


def _rate_cards(rate: pl.DataFrame | None, simon: dict) -> dbc.Row:
    if rate is None or rate.is_empty():
        return not_computed("pfs_rate")
    r = rate.row(0, named=True)
    p0, p1 = simon.get("p0"), simon.get("p1")
    value = r.get("rate")
    text = f"{value:.0%}" if value is not None else "-"
    ci = (f"95% CI {r['rate_lower']:.0%} to {r['rate_upper']:.0%}; {r['n_progression_free']} of {r['n_evaluable']}"
          if r.get("rate_lower") is not None else "")
    tone = "neutral" if p0 is None or value is None else ("alarm" if value <= p0 else "ok" if value >= p1 else "warn")
    cards = [dbc.Col(card("6-month PFS rate", text, ci, tone, "pfs6-rate"), md=3)]
    if p0 is not None:
        cards.append(dbc.Col(card("p0 / p1", f"{p0:g} / {p1:g}", "uninteresting / target rate", "neutral",
                                  "pfs6-p0p1"), md=2))
    if simon:
        stage = "stage 1" if simon.get("n1") is not None and simon["n"] <= simon["n1"] else "stage 2"
        detail = (f"stage 1: stop for futility if <= {simon.get('r1')} of {simon.get('n1')} progression-free"
                  if simon.get("r1") is not None else "")
        cards.append(dbc.Col(card(f"Simon two-stage ({stage})", f"{simon['events']} / {simon['n']}", detail,
                                  "alarm" if simon.get("crossed") else "ok", "simon-status"), md=4))
        cards.append(dbc.Col(html.P(str(simon.get("message", "")), className="sentence", id="simon-message"), md=3))
    return dbc.Row(cards, className="g-2")


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    km = view.derived("pfs_km")
    rate = view.derived("pfs_rate")
    simon = simon_parameters(view.derived("boundary_status"), view.derived("boundary_table"))
    landmark = int(rate["landmark_day"][0]) if rate is not None and "landmark_day" in rate.columns else 183
    waterfall = view.derived("waterfall")
    response = view.derived("response_by_visit")
    return page(
        "Activity", view.label,
        section("6-month progression-free survival", _rate_cards(rate, simon)),
        section("Kaplan-Meier",
                dcc.Graph(id="km", figure=km_figure(km, landmark, simon.get("p0"), simon.get("p1")))
                if km is not None else not_computed("pfs_km")),
        dbc.Row([
            dbc.Col(section("Best response in target lesions",
                            dcc.Graph(id="waterfall", figure=waterfall_figure(waterfall)) if waterfall is not None
                            else not_computed("waterfall")), md=6),
            dbc.Col(section("Response by visit",
                            dcc.Graph(id="response-lanes", figure=response_lanes_figure(response))
                            if response is not None else not_computed("response_by_visit")), md=6),
        ]),
    )


def register(app, ctx: AppContext) -> None:
    """No callbacks."""
