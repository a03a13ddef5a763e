"""Signals: terms whose rate exceeds what the reference safety information predicts, with history."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html

from dashboards.components import card, grid, not_computed, page, section
from dashboards.context import AppContext, PageRequest
from dashboards.figures import observed_expected_figure

NAME = "signals"
PATH = "/signals"
TITLE = "Signals"
COLUMNS = ["term", "grade_class", "signal", "status", "n_subj", "n_treated", "incidence", "incidence_lo",
           "incidence_hi", "eair_per_100py", "reference_rate", "prob_exceeds", "median_onset_days", "listed",
           "flag_exceeds", "flag_unlisted", "first_seen_at", "assessment", "assessed_by"]


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    from safety.signals.history import with_history

    view = request.view
    table = view.derived("signals_oe")
    if table is None:
        return page(TITLE, view.label, not_computed("signals_oe"))
    shown = (with_history(table, view.signal_states()).sort(["signal", "prob_exceeds"], descending=True, nulls_last=True)
             .with_columns(pl.col(pl.Float64).round(4)))
    flagged = shown.filter(pl.col("signal"))
    new = flagged.filter(pl.col("status") == "new").height
    return page(
        TITLE, view.label,
        dbc.Row([
            dbc.Col(card("Signals", flagged.height, "terms flagged", "alarm" if flagged.height else "ok",
                         "signals-total")),
            dbc.Col(card("New", new, "since they were last flagged", "warn" if new else "neutral", "signals-new")),
            dbc.Col(card("Terms followed", shown.height, "any grade and grade >= 3", "neutral", "signals-terms")),
        ], className="g-2"),
        section("Observed against expected",
                dcc.Graph(id="signals-forest", figure=observed_expected_figure(table, "any")),
                dcc.Graph(id="signals-forest-g3", figure=observed_expected_figure(table, ">=3")),
                help_text="Red: flagged (posterior probability that the true rate exceeds the reference by the "
                          "configured margin passes the threshold, or a term absent from the RSI in 2+ subjects)."),
        section("Terms", grid("signals-grid", shown, COLUMNS, height=420, csv_name="signals.csv"),
                help_text="`vigil signals assess KEY --assessment ... --user ...` records a reviewer's assessment."),
    )


def register(app, ctx: AppContext) -> None:
    """No callbacks: the page is a read-only view of the last cycle (or the chosen data cut)."""
