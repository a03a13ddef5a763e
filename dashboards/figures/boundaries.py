"""Stopping-rule figures: observed events against the boundary; operating characteristics."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.style import BOUNDARY_COLOUR, OBSERVED_COLOUR, base_layout, empty_figure


def _rule_rows(frame: pl.DataFrame, rule_id: str) -> pl.DataFrame:
    key = "rule_id" if "rule_id" in frame.columns else "design_id"
    return frame.filter(pl.col(key) == rule_id)


def boundary_figure(table: pl.DataFrame | None, status: dict, title: str | None = None) -> go.Figure:
    """The stopping boundary (events >= b_n stops) by evaluable n, and where the data are now.

    `table` is `boundary_table` (one row per n with `stop_if_events_ge`); `status` is one row of
    `boundary_status` (design_id, events, n, boundary, crossed, events_to_stop).
    """
    rule_id = status.get("design_id", "")
    title = title or status.get("title") or rule_id
    if table is None or table.is_empty():
        return empty_figure(title, "no boundary table")
    fig = go.Figure()
    mine = _rule_rows(table, rule_id)
    is_simon = {"n1", "r1", "r"} <= set(mine.columns) and mine["n1"].drop_nulls().len() > 0
    if is_simon:
        # Simon two-stage: futility is "at most r1 of n1" (stage 1) and "at most r of n" (final)
        design = mine.filter(pl.col("n1").is_not_null()).row(0, named=True)
        fig.add_trace(go.Scatter(x=[design["n1"], design["n"]], y=[design["r1"], design["r"]], mode="markers+text",
                                 name="futile at or below", marker={"symbol": "line-ew-open", "size": 28,
                                                                    "color": BOUNDARY_COLOUR},
                                 text=[f"r1={design['r1']}", f"r={design['r']}"], textposition="middle right"))
        fig.update_yaxes(title="progression-free subjects")
    else:
        rows = (mine.filter(pl.col("stop_if_events_ge").is_not_null()).sort("n")
                if "stop_if_events_ge" in mine.columns else mine.clear())
        if rows.is_empty():
            return empty_figure(title, "no boundary table for this rule")
        fig.add_trace(go.Scatter(x=rows["n"], y=rows["stop_if_events_ge"], mode="lines+markers", line_shape="hv",
                                 name="stop at or above", line={"color": BOUNDARY_COLOUR},
                                 hovertemplate="n=%{x}: stop if events >= %{y}<extra></extra>"))
        fig.update_yaxes(title="cumulative events")
    n, events = status.get("n"), status.get("events")
    if n is not None and events is not None:
        crossed = bool(status.get("crossed"))
        fig.add_trace(go.Scatter(x=[n], y=[events], mode="markers+text", name="observed",
                                 marker={"size": 14, "color": BOUNDARY_COLOUR if crossed else OBSERVED_COLOUR,
                                         "symbol": "x" if crossed else "circle"},
                                 text=[f"{events} of {n}"], textposition="top left"))
        boundary = status.get("boundary")
        if boundary is not None and not crossed and not is_simon:
            fig.add_trace(go.Scatter(x=[n, n], y=[events, boundary], mode="lines", name="distance",
                                     line={"dash": "dot", "color": "#777"},
                                     hovertemplate=f"{boundary - events} more event(s) at n={n}<extra></extra>"))
    fig.update_xaxes(title="evaluable subjects (n)")
    fig.update_yaxes(rangemode="tozero")
    return base_layout(fig, title, height=380)


def oc_figure(oc: pl.DataFrame | None, rule_id: str, title: str | None = None) -> go.Figure:
    """Probability of stopping and expected sample size by true rate (`boundary_oc`)."""
    title = title or f"Operating characteristics: {rule_id}"
    if oc is None or oc.is_empty():
        return empty_figure(title)
    rows = _rule_rows(oc, rule_id).sort("true_rate")
    if rows.is_empty():
        return empty_figure(title)
    stop_col = next((c for c in ("p_stop", "p_stop_early") if c in rows.columns and rows[c].null_count() < rows.height),
                    None)
    fig = go.Figure()
    if stop_col:
        fig.add_trace(go.Scatter(x=rows["true_rate"], y=rows[stop_col], mode="lines+markers",
                                 name="P(stop)" if stop_col == "p_stop" else "P(stop early)"))
    if "expected_n" in rows.columns:
        fig.add_trace(go.Scatter(x=rows["true_rate"], y=rows["expected_n"], mode="lines+markers", yaxis="y2",
                                 name="expected n", line={"dash": "dash"}))
    fig.update_layout(yaxis={"title": "probability", "range": [0, 1]},
                      yaxis2={"title": "expected n", "overlaying": "y", "side": "right", "rangemode": "tozero"})
    fig.update_xaxes(title="true rate")
    return base_layout(fig, title, height=340)
