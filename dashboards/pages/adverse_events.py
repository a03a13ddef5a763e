"""Adverse events: subjects by SOC/PT and worst grade, observed vs expected rates, the AE listing."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, State, dcc, html

from dashboards.components import card, grid, not_computed, page, records, section
from dashboards.context import AppContext, PageRequest
from dashboards.figures import observed_expected_figure, soc_pt_heatmap

NAME = "adverse_events"
PATH = "/adverse-events"
TITLE = "Adverse events"
LISTING_COLUMNS = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AESER", "AEREL", "AEREL2",
                   "AESTDTC", "AEENDTC", "AEOUT", "AEACN", "IS_SUSAR"]
SOC_PT_COLUMNS = ["AEBODSYS", "AEDECOD", "N_SUBJ", "G1", "G2", "G3", "G4", "G5", "N_G3PLUS", "N_SERIOUS", "N_RELATED"]


def filter_events(ae: pl.DataFrame, filters: list[str] | None) -> pl.DataFrame:
    """The listing rows for the chosen filters (serious, related to either drug, grade >= 3)."""
    filters = filters or []
    if "serious" in filters and "SERIOUS" in ae.columns:
        ae = ae.filter(pl.col("SERIOUS").fill_null(False))
    if "related" in filters and {"RELATED_ELA", "RELATED_EXE"} <= set(ae.columns):
        ae = ae.filter(pl.col("RELATED_ELA").fill_null(False) | pl.col("RELATED_EXE").fill_null(False))
    if "g3" in filters:
        ae = ae.filter(pl.col("AETOXGR") >= 3)
    return ae


def _summary_cards(ae: pl.DataFrame) -> dbc.Row:
    return dbc.Row([
        dbc.Col(card("AE records", ae.height, f"in {ae['USUBJID'].n_unique()} subjects", "neutral", "ae-count")),
        dbc.Col(card("Grade >= 3 AE records", ae.filter(pl.col("AETOXGR") >= 3).height, "CTCAE grade 3, 4 or 5",
                     "warn", "ae-g3-count")),
        dbc.Col(card("Serious", ae.filter(pl.col("SERIOUS").fill_null(False)).height if "SERIOUS" in ae.columns
                     else "-", "AESER = Y", "neutral", "ae-serious-count")),
        dbc.Col(card("SUSARs", ae.filter(pl.col("IS_SUSAR").fill_null(False)).height if "IS_SUSAR" in ae.columns
                     else "-", "suspected unexpected serious", "alarm", "ae-susar-count")),
    ], className="g-2")


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    ae = view.derived("ae_events")
    soc_pt = view.derived("ae_soc_pt")
    signals = view.derived("signals_oe")
    listing = (grid("ae-grid", ae, LISTING_COLUMNS, height=480, csv_name="adverse_events.csv")
               if ae is not None else not_computed("ae_events"))
    return page(
        "Adverse events", view.label,
        _summary_cards(ae) if ae is not None else not_computed("ae_events"),
        section("By system organ class and preferred term (subjects, worst grade)",
                grid("soc-pt-grid", soc_pt, SOC_PT_COLUMNS, height=320) if soc_pt is not None
                else not_computed("ae_soc_pt"),
                dcc.Graph(id="soc-pt-heatmap", figure=soc_pt_heatmap(soc_pt)) if soc_pt is not None else None),
        section("Exposure-adjusted and observed vs expected rates",
                dcc.RadioItems(id="oe-class", options=[{"label": " any grade", "value": "any"},
                                                       {"label": " grade >= 3", "value": ">=3"}],
                               value="any", inline=True, className="radio"),
                dcc.Graph(id="oe-figure", figure=observed_expected_figure(signals, "any"))
                if signals is not None else not_computed("signals_oe"),
                grid("oe-grid", signals, ["grade_class", "term", "listed", "n_subj", "n_treated", "incidence",
                                          "eair_per_100py", "reference_rate", "prob_exceeds", "signal"], height=260)
                if signals is not None else None),
        section("AE listing",
                dcc.Checklist(id="ae-filters", options=[{"label": " serious only", "value": "serious"},
                                                        {"label": " related to either drug", "value": "related"},
                                                        {"label": " grade >= 3", "value": "g3"}],
                              value=[], inline=True, className="checks"),
                html.Button("Export CSV", id="ae-export", className="btn btn-outline-secondary btn-sm my-2"),
                html.Span(id="ae-filter-count", className="ms-3"),
                listing,
                help_text="Verbatim terms are shown exactly as entered."),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(Output("ae-grid", "rowData"), Output("ae-filter-count", "children"),
                  Input("ae-filters", "value"), State("data-cut", "value"), prevent_initial_call=True)
    def filter_listing(filters, cut):
        ae = ctx.reader.view(cut).derived("ae_events")
        if ae is None:
            return [], "not computed yet"
        rows = filter_events(ae, filters)
        return records(rows.select([c for c in LISTING_COLUMNS if c in rows.columns])), f"{rows.height} records"

    @app.callback(Output("ae-grid", "exportDataAsCsv"), Input("ae-export", "n_clicks"), prevent_initial_call=True)
    def export(_):
        return True

    @app.callback(Output("oe-figure", "figure"), Input("oe-class", "value"), State("data-cut", "value"),
                  prevent_initial_call=True)
    def oe_class(grade_class, cut):
        return observed_expected_figure(ctx.reader.view(cut).derived("signals_oe"), grade_class)
