"""Labs: trends by test against the normal range, baseline-to-worst shift tables, eDISH."""

from __future__ import annotations

import polars as pl
from dash import Input, Output, State, dcc, html

from dashboards.components import grid, not_computed, page, records, section
from dashboards.context import AppContext, PageRequest
from dashboards.figures import edish_figure, lab_trend_figure, shift_matrix

NAME = "labs"
PATH = "/labs"
TITLE = "Labs"
DEFAULT_TEST = "ALT"


def _toxicities(shift: pl.DataFrame | None) -> list[dict[str, str]]:
    if shift is None or shift.is_empty():
        return []
    pairs = shift.select("ATOXDSC", "ATOXDIR").unique().sort("ATOXDSC")
    return [{"label": f"{d} ({'low' if r == 'L' else 'high'})", "value": f"{d}|{r}"} for d, r in pairs.iter_rows()]


def _shift_rows(shift: pl.DataFrame | None, choice: str | None) -> list[dict]:
    if not choice:
        return []
    toxicity, _, direction = choice.partition("|")
    return records(shift_matrix(shift, toxicity, direction or None))


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    lb = view.derived("lb_graded")
    shift = view.derived("lab_shift")
    edish = view.derived("edish")
    hys = view.derived("hyslaw_cases")
    tests = sorted(lb["PARAMCD"].drop_nulls().unique().to_list()) if lb is not None else []
    test = DEFAULT_TEST if DEFAULT_TEST in tests else (tests[0] if tests else None)
    toxicities = _toxicities(shift)
    first_tox = toxicities[0]["value"] if toxicities else None
    return page(
        "Labs", view.label,
        section("Trends by test",
                dcc.Dropdown(id="lab-test", options=tests, value=test, clearable=False, className="select-narrow"),
                dcc.Graph(id="lab-trend", figure=lab_trend_figure(lb, test)) if lb is not None
                else not_computed("lb_graded")),
        section("Shift from baseline grade to worst post-baseline grade (subjects)",
                dcc.Dropdown(id="shift-toxicity", options=toxicities, value=first_tox, clearable=False,
                             className="select-wide"),
                grid("shift-grid", shift_matrix(shift, "", None), height=250) if shift is not None
                else not_computed("lab_shift")),
        section("eDISH (Hy's law screening)",
                dcc.Graph(id="edish", figure=edish_figure(edish)) if edish is not None else not_computed("edish"),
                html.H5(f"Potential Hy's law cases: {hys.height if hys is not None else 'not computed yet'}",
                        id="hyslaw-count"),
                grid("hyslaw-grid", hys, ["USUBJID", "AMTTEST", "AMTDT", "AMTULN", "BILIDT", "BILIULN", "BILIDAYS",
                                          "ALPULN", "ALPSTAT", "SRC"], height=200) if hys is not None else None),
    )


def register(app, ctx: AppContext) -> None:
    @app.callback(Output("lab-trend", "figure"), Input("lab-test", "value"), State("data-cut", "value"),
                  prevent_initial_call=True)
    def trend(paramcd, cut):
        return lab_trend_figure(ctx.reader.view(cut).derived("lb_graded"), paramcd)

    @app.callback(Output("shift-grid", "rowData"), Input("shift-toxicity", "value"), State("data-cut", "value"))
    def shift(choice, cut):
        return _shift_rows(ctx.reader.view(cut).derived("lab_shift"), choice)
