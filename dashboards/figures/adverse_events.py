"""Adverse-event figures: subjects by SOC/PT and worst grade; observed vs expected rates."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.style import base_layout, empty_figure

GRADE_COLUMNS = ["G1", "G2", "G3", "G4", "G5"]


def soc_pt_heatmap(soc_pt: pl.DataFrame | None, max_terms: int = 40) -> go.Figure:
    """Subjects per preferred term (grouped by SOC) and worst grade, from the `ae_soc_pt` table."""
    title = "Subjects by preferred term and worst CTCAE grade"
    if soc_pt is None or soc_pt.is_empty():
        return empty_figure(title)
    top = soc_pt.sort("N_SUBJ", descending=True).head(max_terms).sort(["AEBODSYS", "AEDECOD"], descending=True)
    labels = [f"{pt}  ({soc})" for soc, pt in zip(top["AEBODSYS"], top["AEDECOD"], strict=True)]
    z = top.select(GRADE_COLUMNS).to_numpy()
    fig = go.Figure(go.Heatmap(
        z=z, x=["Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5"], y=labels, text=z, texttemplate="%{text}",
        colorscale="Reds", colorbar={"title": "subjects"},
        hovertemplate="%{y}<br>%{x}: %{z} subjects<extra></extra>"))
    return base_layout(fig, title, height=max(320, 22 * top.height + 120))


def observed_expected_figure(signals_oe: pl.DataFrame | None, grade_class: str = "any",
                             max_terms: int = 25) -> go.Figure:
    """Observed incidence (with its interval) against the reference rate, per term (`signals_oe`)."""
    title = "Observed incidence vs expected (reference safety information)"
    if signals_oe is None or signals_oe.is_empty():
        return empty_figure(title)
    rows = signals_oe.filter(pl.col("grade_class") == grade_class) if "grade_class" in signals_oe.columns else signals_oe
    rows = rows.sort("n_subj", descending=True).head(max_terms).sort("incidence")
    if rows.is_empty():
        return empty_figure(title)
    flagged = rows["signal"].fill_null(False).to_list() if "signal" in rows.columns else [False] * rows.height
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=rows["incidence"] * 100, y=rows["term"], mode="markers", name="observed",
        marker={"color": ["#b2182b" if f else "#2166ac" for f in flagged], "size": 9},
        error_x={"type": "data", "symmetric": False,
                 "array": ((rows["incidence_hi"] - rows["incidence"]) * 100).to_list(),
                 "arrayminus": ((rows["incidence"] - rows["incidence_lo"]) * 100).to_list()},
        customdata=rows.select("n_subj", "n_treated", "eair_per_100py").to_numpy(),
        hovertemplate="%{y}: %{x:.1f}% (%{customdata[0]}/%{customdata[1]}); "
                      "EAIR %{customdata[2]:.1f} per 100 PY<extra></extra>"))
    fig.add_trace(go.Scatter(x=rows["reference_rate"] * 100, y=rows["term"], mode="markers", name="expected",
                             marker={"symbol": "line-ns-open", "size": 14, "color": "#333"}))
    fig.update_xaxes(title="% of treated subjects")
    return base_layout(fig, title + f" ({grade_class})", height=max(320, 24 * rows.height + 120))
