"""Patient figures: the swimmer plot of time on treatment, and one patient's profile on one time axis."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from dashboards.figures.style import BOUNDARY_COLOUR, GRADE_COLOURS, base_layout, empty_figure, plain


def _segments(frame: pl.DataFrame, x0: str, x1: str, y: str) -> tuple[list, list]:
    """x and y lists drawing one horizontal segment per row, separated by gaps (one trace for all)."""
    xs: list = []
    ys: list = []
    for start, end, lane in frame.select(x0, x1, y).iter_rows():
        xs += [start, end, None]
        ys += [lane, lane, None]
    return xs, ys


def swimmer_figure(ex: pl.DataFrame | None, ae: pl.DataFrame | None, drug: str = "ELACESTRANT",
                   dlt_window_days: int | None = 28, max_subjects: int = 60,
                   subjects: list[str] | None = None) -> go.Figure:
    """Days on `drug` per subject, coloured by dose (dose changes show as colour changes), with AE
    onsets marked by CTCAE grade and the DLT window shaded. Day 1 = the subject's first dose."""
    title = f"Time on treatment ({drug.lower()} dose), AEs by grade"
    if ex is None or ex.is_empty():
        return empty_figure(title)
    first = ex.group_by("USUBJID").agg(pl.col("EXSTDT").min().alias("FIRST"))
    rows = ex.filter(pl.col("EXTRT").str.to_uppercase() == drug.upper())
    chosen = first.sort("FIRST", "USUBJID")
    if subjects:
        chosen = chosen.filter(pl.col("USUBJID").is_in(subjects))
    chosen = chosen.head(max_subjects)
    if rows.is_empty() or chosen.is_empty():
        return empty_figure(title, f"no {drug.lower()} exposure")
    rows = (rows.join(chosen, on="USUBJID").with_columns(
        ((pl.col("EXSTDT") - pl.col("FIRST")).dt.total_days() + 1).alias("D0"),
        ((pl.col("EXENDT").fill_null(pl.col("EXSTDT")) - pl.col("FIRST")).dt.total_days() + 2).alias("D1")))
    order = chosen["USUBJID"].to_list()
    fig = go.Figure()
    doses = sorted(rows["EXDOSE"].drop_nulls().unique().to_list(), reverse=True)
    palette = ["#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#bababa"]
    for i, dose in enumerate(doses + [None]):
        part = rows.filter(pl.col("EXDOSE").is_null() if dose is None else pl.col("EXDOSE") == dose)
        if part.is_empty():
            continue
        xs, ys = _segments(part, "D0", "D1", "USUBJID")
        label = "dose missing" if dose is None else f"{dose:g} {part['EXDOSU'].drop_nulls().first() or ''}".strip()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=label,
                                 line={"width": 9, "color": palette[min(i, len(palette) - 1)]},
                                 hovertemplate="%{y}: day %{x}<extra>" + label + "</extra>"))
    if ae is not None and not ae.is_empty():
        onsets = (ae.join(chosen, on="USUBJID").filter(pl.col("AESTDT").is_not_null())
                  .with_columns(((pl.col("AESTDT") - pl.col("FIRST")).dt.total_days() + 1).alias("DAY")))
        for grade in range(1, 6):
            part = onsets.filter(pl.col("AETOXGR") == grade)
            if part.height:
                fig.add_trace(go.Scatter(
                    x=part["DAY"], y=part["USUBJID"], mode="markers", name=f"AE grade {grade}",
                    text=part["AEDECOD"], marker={"color": GRADE_COLOURS[grade], "size": 6 + grade * 2,
                                                  "symbol": "diamond", "line": {"width": 1, "color": "#fff"}},
                    hovertemplate="%{y} day %{x}: %{text}<extra>grade " + str(grade) + "</extra>"))
    if dlt_window_days:
        fig.add_vrect(x0=1, x1=dlt_window_days + 1, fillcolor="rgba(178,24,43,0.08)", line_width=0,
                      annotation_text="DLT window", annotation_position="top left")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), title=None)
    fig.update_xaxes(title="study day", rangemode="tozero")
    return base_layout(fig, title, height=max(380, 16 * len(order) + 140))


def patient_profile_figure(usubjid: str, ex: pl.DataFrame | None, ae: pl.DataFrame | None,
                           lb: pl.DataFrame | None, paramcd: str | None = None) -> go.Figure:
    """One subject on one date axis: doses of each drug, AEs by grade, and one lab test against
    its normal range (ANRLO-ANRHI from `lb_graded`)."""
    title = f"Patient profile: {usubjid}"
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.22, 0.38, 0.40],
                        subplot_titles=("Doses", "Adverse events (colour = CTCAE grade)",
                                        f"Lab: {paramcd}" if paramcd else "Lab"))
    if ex is not None and ex.height:
        for drug, part in ex.filter(pl.col("USUBJID") == usubjid).group_by("EXTRT", maintain_order=True):
            xs, ys = [], []
            for start, end, dose in part.sort("EXSTDT").select("EXSTDT", "EXENDT", "EXDOSE").iter_rows():
                xs += [start, end or start, None]
                ys += [dose, dose, None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=str(drug[0]).lower(), line={"width": 4}),
                          row=1, col=1)
    if ae is not None and ae.height:
        events = ae.filter(pl.col("USUBJID") == usubjid).sort("AESTDT")
        for grade in range(1, 6):
            part = events.filter(pl.col("AETOXGR") == grade)
            if part.is_empty():
                continue
            xs, ys, texts = [], [], []
            for start, end, term, verbatim in part.select("AESTDT", "AEENDT", "AEDECOD", "AETERM").iter_rows():
                xs += [start, end or start, None]
                ys += [term, term, None]
                texts += [plain(verbatim), plain(verbatim), None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"grade {grade}", text=texts,
                                     line={"width": 8, "color": GRADE_COLOURS[grade]},
                                     hovertemplate="%{y} (%{text})<br>%{x}<extra>grade " + str(grade) + "</extra>"),
                          row=2, col=1)
    if lb is not None and lb.height and paramcd:
        labs = lb.filter((pl.col("USUBJID") == usubjid) & (pl.col("PARAMCD") == paramcd)).sort("LBDT")
        if labs.height:
            fig.add_trace(go.Scatter(x=labs["LBDT"], y=labs["ANRHI"], mode="lines", name="ULN",
                                     line={"dash": "dash", "color": BOUNDARY_COLOUR}), row=3, col=1)
            fig.add_trace(go.Scatter(x=labs["LBDT"], y=labs["ANRLO"], mode="lines", name="LLN", fill="tonexty",
                                     fillcolor="rgba(33,102,172,0.08)", line={"dash": "dash", "color": "#2166ac"}),
                          row=3, col=1)
            fig.add_trace(go.Scatter(x=labs["LBDT"], y=labs["AVAL"], mode="lines+markers", name=paramcd,
                                     line={"color": "#333"}), row=3, col=1)
    if not fig.data:
        return empty_figure(title, f"no records for {usubjid}")
    return base_layout(fig, title, height=720)
