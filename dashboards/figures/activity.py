"""Activity figures: Kaplan-Meier of PFS with number at risk, waterfall of best change, response lanes."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.style import BOUNDARY_COLOUR, RESPONSE_COLOURS, base_layout, empty_figure


def km_figure(km: pl.DataFrame | None, landmark_day: int = 183, p0: float | None = None,
              p1: float | None = None, risk_every: int = 60) -> go.Figure:
    """PFS Kaplan-Meier step curve with its band (from a `kaplan_meier` table: time, survival,
    lower, upper, n_at_risk), the landmark day, p0/p1 reference lines and the number at risk."""
    title = "Progression-free survival (Kaplan-Meier, 95% band)"
    if km is None or km.is_empty():
        return empty_figure(title)
    km = km.sort("time")
    start = pl.DataFrame({"time": [0.0], "survival": [1.0], "lower": [1.0], "upper": [1.0]})
    curve = pl.concat([start, km.select("time", "survival", "lower", "upper").cast(pl.Float64)])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=curve["time"], y=curve["upper"], mode="lines", line={"width": 0, "shape": "hv"},
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=curve["time"], y=curve["lower"], mode="lines", line={"width": 0, "shape": "hv"},
                             fill="tonexty", fillcolor="rgba(33,102,172,0.15)", name="95% band"))
    fig.add_trace(go.Scatter(x=curve["time"], y=curve["survival"], mode="lines", name="PFS",
                             line={"shape": "hv", "color": "#2166ac", "width": 3},
                             hovertemplate="day %{x:.0f}: %{y:.2f}<extra></extra>"))
    fig.add_vline(x=landmark_day, line={"dash": "dot", "color": "#555"}, annotation_text=f"day {landmark_day}")
    for value, label in ((p0, "p0"), (p1, "p1")):
        if value is not None:
            fig.add_hline(y=value, line={"dash": "dash", "color": BOUNDARY_COLOUR if label == "p0" else "#1a9850"},
                          annotation_text=f"{label} = {value:g}", annotation_position="bottom right")
    t_max = float(km["time"].max())
    ticks = list(range(0, int(t_max) + 1, risk_every))
    at_risk = []
    for t in ticks:
        later = km.filter(pl.col("time") >= t)
        at_risk.append(int(later["n_at_risk"].first()) if later.height else 0)
    fig.add_trace(go.Scatter(x=ticks, y=[-0.12] * len(ticks), mode="text", text=[str(n) for n in at_risk],
                             name="at risk", showlegend=False, hoverinfo="skip", cliponaxis=False))
    fig.add_annotation(x=0, y=-0.05, xref="x", yref="y", text="number at risk", showarrow=False, xanchor="left",
                       font={"size": 11, "color": "#555"})
    fig.update_yaxes(range=[-0.18, 1.05], title="progression-free", tickvals=[0, 0.25, 0.5, 0.75, 1])
    fig.update_xaxes(title="days from first dose", tickvals=ticks)
    return base_layout(fig, title, height=460)


def waterfall_figure(waterfall: pl.DataFrame | None) -> go.Figure:
    """Best % change from baseline in the sum of target lesion diameters, one bar per subject,
    with the RECIST lines at -30% (partial response) and +20% (progression)."""
    title = "Best % change in target lesions (waterfall)"
    if waterfall is None or waterfall.is_empty():
        return empty_figure(title)
    rows = waterfall.filter(pl.col("BEST_PCHG").is_not_null()).sort("BEST_PCHG", descending=True)
    if rows.is_empty():
        return empty_figure(title, "no post-baseline measurements")
    colours = ["#1a9850" if v <= -30 else "#d73027" if v >= 20 else "#fee08b" for v in rows["BEST_PCHG"]]
    fig = go.Figure(go.Bar(x=list(range(rows.height)), y=rows["BEST_PCHG"], marker_color=colours,
                           text=rows["USUBJID"], hovertemplate="%{text}: %{y:.1f}%<extra></extra>", name="best %"))
    fig.add_hline(y=-30, line={"dash": "dash", "color": "#1a9850"}, annotation_text="-30%")
    fig.add_hline(y=20, line={"dash": "dash", "color": "#d73027"}, annotation_text="+20%")
    fig.update_xaxes(showticklabels=False, title="subjects")
    fig.update_yaxes(title="best % change")
    return base_layout(fig, title, height=380)


def response_lanes_figure(response: pl.DataFrame | None, max_subjects: int = 60) -> go.Figure:
    """Overall response per subject and visit (swimmer lanes), from `response_by_visit`."""
    title = "Response by visit"
    if response is None or response.is_empty():
        return empty_figure(title)
    subjects = response["USUBJID"].unique(maintain_order=True).head(max_subjects)
    rows = response.filter(pl.col("USUBJID").is_in(subjects.implode()))
    fig = go.Figure()
    spans = rows.group_by("USUBJID").agg(pl.col("ADY").max().alias("last"))
    xs, ys = [], []
    for subj, last in spans.iter_rows():
        xs += [0, last, None]
        ys += [subj, subj, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#ddd", "width": 6}, showlegend=False,
                             hoverinfo="skip"))
    for value, part in rows.group_by("AVALC", maintain_order=True):
        name = str(value[0])
        fig.add_trace(go.Scatter(x=part["ADY"], y=part["USUBJID"], mode="markers", name=name,
                                 marker={"color": RESPONSE_COLOURS.get(name.upper(), "#888"), "size": 10,
                                         "line": {"width": 1, "color": "#333"}},
                                 hovertemplate="%{y} day %{x}: " + name + "<extra></extra>"))
    fig.update_xaxes(title="study day")
    return base_layout(fig, title, height=max(360, 14 * subjects.len() + 140))
