"""Patients: the swimmer plot of time on treatment, and one patient's profile (doses, AEs, labs)."""

from __future__ import annotations

import polars as pl
from dash import Input, Output, State, dcc, html

from dashboards.components import grid, not_computed, page, records, section
from dashboards.context import AppContext, PageRequest
from dashboards.figures import patient_profile_figure, swimmer_figure

NAME = "patients"
PATH = "/patients"
TITLE = "Patients"
SWIMMER_SUBJECTS = 60
AE_COLUMNS = ["AESEQ", "AETERM", "AEDECOD", "AETOXGR", "AESER", "AEREL", "AEREL2", "AESTDTC", "AEENDTC", "AEOUT"]
DEFAULT_TEST = "ALT"


def dlt_window_days(dlt_status: pl.DataFrame | None) -> int | None:
    """The window length as the cycle applied it (first dose to window end), for shading only."""
    if dlt_status is None or dlt_status.is_empty() or not {"FIRSTDOSE", "WINENDT"} <= set(dlt_status.columns):
        return None
    days = (dlt_status["WINENDT"] - dlt_status["FIRSTDOSE"]).dt.total_days().drop_nulls()
    return int(days.median()) + 1 if days.len() else None


def _profile(ctx: AppContext, cut: str | None, usubjid: str | None, paramcd: str | None):
    view = ctx.reader.view(cut)
    if not usubjid:
        return patient_profile_figure("(choose a subject)", None, None, None), []
    ae = view.derived("ae_events")
    lb = view.derived("lb_graded")
    ex = view.current("EX")
    figure = patient_profile_figure(usubjid, ex, ae, lb, paramcd)
    rows = ae.filter(pl.col("USUBJID") == usubjid).sort("AESTDTC") if ae is not None else pl.DataFrame()
    return figure, records(rows.select([c for c in AE_COLUMNS if c in rows.columns])) if rows.height else []


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    dm = view.current("DM")
    ex = view.current("EX")
    ae = view.derived("ae_events")
    lb = view.derived("lb_graded")
    subjects = dm["USUBJID"].sort().to_list() if dm.height else []
    chosen = request.query.get("usubjid")
    chosen = chosen if chosen in subjects else (subjects[0] if subjects else None)
    tests = sorted(lb["PARAMCD"].drop_nulls().unique().to_list()) if lb is not None else []
    test = DEFAULT_TEST if DEFAULT_TEST in tests else (tests[0] if tests else None)
    figure, ae_rows = _profile(ctx, request.view.cut and str(request.view.cut.id), chosen, test)
    return page(
        "Patients", view.label,
        section(f"Time on treatment (first {SWIMMER_SUBJECTS} subjects by first dose)",
                dcc.Graph(id="swimmer", figure=swimmer_figure(ex, ae, dlt_window_days=dlt_window_days(
                    view.derived("dlt_status")), max_subjects=SWIMMER_SUBJECTS)) if ex.height
                else not_computed("EX"),
                help_text="Bar colour = elacestrant dose (a change of colour is a dose change); diamonds = AE onsets "
                          "by grade; the shaded band is the DLT window."),
        section("Patient profile",
                html.Div([
                    html.Label("Subject", htmlFor="patient-select"),
                    dcc.Dropdown(id="patient-select", options=subjects, value=chosen, clearable=False,
                                 className="select-wide"),
                    html.Label("Lab test", htmlFor="patient-test"),
                    dcc.Dropdown(id="patient-test", options=tests, value=test, clearable=False,
                                 className="select-narrow"),
                ], className="controls"),
                dcc.Graph(id="patient-profile", figure=figure),
                grid("patient-ae-grid", pl.DataFrame(ae_rows) if ae_rows else pl.DataFrame(
                    {c: [] for c in AE_COLUMNS}), AE_COLUMNS, height=260)),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(Output("patient-profile", "figure"), Output("patient-ae-grid", "rowData"),
                  Input("patient-select", "value"), Input("patient-test", "value"), State("data-cut", "value"),
                  prevent_initial_call=True)
    def update_profile(usubjid, paramcd, cut):
        return _profile(ctx, cut, usubjid, paramcd)
