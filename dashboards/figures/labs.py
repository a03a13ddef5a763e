"""Lab figures: trends by test with the normal range, baseline-to-worst shift matrix, eDISH."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.style import BOUNDARY_COLOUR, GRADE_COLOURS, base_layout, empty_figure

MAX_LINES = 400  # more subject lines than this is ink, not information: show the spread instead


def lab_trend_figure(lb: pl.DataFrame | None, paramcd: str, highlight: list[str] | None = None) -> go.Figure:
    """Values of one test by visit: one line per subject (or the 10-90% spread when there are many),
    the median, and the usual LLN/ULN; `highlight` subjects drawn on top. `lb` is `lb_graded`."""
    title = f"{paramcd}: values by visit"
    if lb is None or lb.is_empty():
        return empty_figure(title)
    rows = (lb.filter((pl.col("PARAMCD") == paramcd) & pl.col("AVAL").is_not_null() & pl.col("VISITNUM").is_not_null())
            .select("USUBJID", "VISITNUM", "VISIT", "AVAL", "ANRLO", "ANRHI", "AVALU").sort("USUBJID", "VISITNUM"))
    if rows.is_empty():
        return empty_figure(title, f"no results for {paramcd}")
    unit = rows["AVALU"].drop_nulls().mode().first() if rows["AVALU"].null_count() < rows.height else ""
    fig = go.Figure()
    n_subj = rows["USUBJID"].n_unique()
    by_visit = rows.group_by("VISITNUM").agg(
        pl.col("AVAL").median().alias("median"), pl.col("AVAL").quantile(0.1).alias("p10"),
        pl.col("AVAL").quantile(0.9).alias("p90"), pl.len().alias("n")).sort("VISITNUM")
    # unscheduled visits hold a handful of subjects: their median is noise, not a trend
    by_visit = by_visit.filter(pl.col("n") >= max(3, n_subj // 10))
    if n_subj <= MAX_LINES:
        # one trace with a gap (null row) after each subject: hundreds of traces would make the browser crawl
        gap = rows.select("USUBJID").unique().with_columns(pl.lit(10**9).alias("VISITNUM"))
        lines = (pl.concat([rows.select("USUBJID", "VISITNUM", "AVAL"),
                            gap.with_columns(pl.lit(None, pl.Float64).alias("AVAL"))], how="diagonal_relaxed")
                 .sort("USUBJID", "VISITNUM")
                 .with_columns(pl.when(pl.col("AVAL").is_null()).then(None).otherwise(pl.col("VISITNUM"))
                               .alias("VISITNUM")))
        xs2, ys2, names2 = lines["VISITNUM"].to_list(), lines["AVAL"].to_list(), lines["USUBJID"].to_list()
        fig.add_trace(go.Scattergl(x=xs2, y=ys2, mode="lines", name=f"subjects ({n_subj})", text=names2,
                                   line={"color": "rgba(100,100,100,0.25)", "width": 1},
                                   hovertemplate="%{text}<br>visit %{x}: %{y}<extra></extra>"))
    else:
        fig.add_trace(go.Scatter(x=by_visit["VISITNUM"], y=by_visit["p90"], mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=by_visit["VISITNUM"], y=by_visit["p10"], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(100,100,100,0.2)", name=f"10-90% of {n_subj}"))
    fig.add_trace(go.Scatter(x=by_visit["VISITNUM"], y=by_visit["median"], mode="lines+markers", name="median",
                             line={"color": "#2166ac", "width": 3}))
    for subj in highlight or []:
        one = rows.filter(pl.col("USUBJID") == subj)
        if one.height:
            fig.add_trace(go.Scatter(x=one["VISITNUM"], y=one["AVAL"], mode="lines+markers", name=subj,
                                     line={"width": 2}))
    for column, label in (("ANRLO", "LLN"), ("ANRHI", "ULN")):
        limit = rows[column].drop_nulls()
        if limit.len():
            value = float(limit.median())
            fig.add_hline(y=value, line={"dash": "dash", "color": BOUNDARY_COLOUR},
                          annotation_text=f"{label} {value:g}", annotation_position="top left")
    fig.update_xaxes(title="visit number")
    fig.update_yaxes(title=f"{paramcd} ({unit})" if unit else paramcd)
    return base_layout(fig, title)


def shift_matrix(lab_shift: pl.DataFrame | None, toxicity: str, direction: str | None = None) -> pl.DataFrame:
    """Subjects by baseline grade (rows) and worst post-baseline grade (columns) for one toxicity,
    from `lab_shift` (ATOXDSC, ATOXDIR, BTOXGR, ATOXGR, NSUBJ)."""
    columns = ["Baseline grade"] + [f"Worst {g}" for g in range(5)] + ["Total"]
    if lab_shift is None or lab_shift.is_empty():
        return pl.DataFrame({c: [] for c in columns}, schema=dict.fromkeys(columns, pl.String))
    rows = lab_shift.filter(pl.col("ATOXDSC") == toxicity)
    if direction is not None:
        rows = rows.filter(pl.col("ATOXDIR") == direction)
    grid = []
    for b in range(5):
        counts = [int(rows.filter((pl.col("BTOXGR") == b) & (pl.col("ATOXGR") == w))["NSUBJ"].sum()) for w in range(5)]
        grid.append([str(b)] + [str(c) for c in counts] + [str(sum(counts))])
    missing = rows.filter(pl.col("BTOXGR").is_null())
    if missing.height:
        counts = [int(missing.filter(pl.col("ATOXGR") == w)["NSUBJ"].sum()) for w in range(5)]
        grid.append(["missing"] + [str(c) for c in counts] + [str(sum(counts))])
    return pl.DataFrame(grid, schema=columns, orient="row")


def edish_figure(edish: pl.DataFrame | None) -> go.Figure:
    """eDISH: peak ALT (or AST) / ULN against peak total bilirubin / ULN, log-log, lines at 3 and 2."""
    title = "eDISH: peak aminotransferase vs peak bilirubin (x ULN)"
    if edish is None or edish.is_empty():
        return empty_figure(title)
    rows = edish.filter(pl.col("EDISHX").is_not_null() & pl.col("EDISHY").is_not_null()
                        & (pl.col("EDISHX") > 0) & (pl.col("EDISHY") > 0))
    if rows.is_empty():
        return empty_figure(title, "no subject has both results")
    quadrants = rows["EDISHQ"].fill_null("").to_list() if "EDISHQ" in rows.columns else [""] * rows.height
    fig = go.Figure(go.Scatter(
        x=rows["EDISHX"], y=rows["EDISHY"], mode="markers", text=rows["USUBJID"], customdata=quadrants,
        marker={"size": 9, "color": [GRADE_COLOURS[4] if "Hy" in q else "#2166ac" for q in quadrants],
                "line": {"width": 0.5, "color": "#fff"}},
        hovertemplate="%{text}<br>ALT/AST %{x:.2f} x ULN, bilirubin %{y:.2f} x ULN<br>%{customdata}<extra></extra>",
        name="subjects"))
    fig.add_vline(x=3, line={"dash": "dash", "color": BOUNDARY_COLOUR})
    fig.add_hline(y=2, line={"dash": "dash", "color": BOUNDARY_COLOUR})
    x_hi = max(float(rows["EDISHX"].max()) * 1.5, 30.0)
    y_hi = max(float(rows["EDISHY"].max()) * 1.5, 20.0)
    x_lo = min(float(rows["EDISHX"].min()) / 1.5, 0.1)
    y_lo = min(float(rows["EDISHY"].min()) / 1.5, 0.1)
    for x, y, text in ((x_hi / 1.2, y_hi / 1.2, "Potential Hy's law"), (x_hi / 1.2, y_lo * 1.3, "Temple's corollary"),
                       (x_lo * 1.3, y_hi / 1.2, "Cholestasis / Gilbert's"), (x_lo * 1.3, y_lo * 1.3, "Normal range")):
        # on log axes Plotly places annotations in log10 units
        fig.add_annotation(x=_log10(x), y=_log10(y), text=text, showarrow=False, font={"color": "#555"},
                           xanchor="right" if x > 3 else "left")
    fig.update_xaxes(type="log", title="peak ALT or AST / ULN", range=[_log10(x_lo), _log10(x_hi)])
    fig.update_yaxes(type="log", title="peak total bilirubin / ULN", range=[_log10(y_lo), _log10(y_hi)])
    return base_layout(fig, title, height=480)


def _log10(value: float) -> float:
    import math

    return math.log10(value)
