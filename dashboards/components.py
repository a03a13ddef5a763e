"""Small building blocks every page uses: cards, text-only grids, "not computed yet" notices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import polars as pl
from dash import html

MAX_GRID_ROWS = 5000  # the grid is for reading; full tables go out as listings


def not_computed(name: str) -> html.Div:
    """A derived table no cycle has written yet: say so plainly instead of failing."""
    return html.Div(f"{name}: not computed yet (no monitoring cycle has produced it)",
                    className="not-computed", **{"data-table": name})


def card(title: str, value: Any, detail: str = "", tone: str = "neutral", card_id: str | None = None,
         href: str | None = None) -> dbc.Card:
    body = [html.Div(title, className="card-label"), html.Div(str(value), className="card-value"),
            html.Div(detail, className="card-detail")]
    content = html.A(body, href=href, className="card-link") if href else html.Div(body)
    kwargs = {"id": card_id} if card_id else {}
    return dbc.Card(dbc.CardBody(content), className=f"kpi kpi-{tone}", **kwargs)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return str(value)
    return value


def records(frame: pl.DataFrame, limit: int = MAX_GRID_ROWS) -> list[dict[str, Any]]:
    """Rows for a grid: dates as ISO text, nested values as text."""
    return [{k: _cell(v) for k, v in row.items()} for row in frame.head(limit).iter_rows(named=True)]


def grid(grid_id: str, frame: pl.DataFrame | None, columns: list[str] | None = None, *, height: int = 420,
         selectable: bool = False, csv_name: str | None = None) -> dag.AgGrid:
    """A sortable, filterable grid. Cells are plain text: no cell renderer, no HTML, so a verbatim
    term holding markup shows as the characters typed."""
    frame = frame if frame is not None else pl.DataFrame()
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    options: dict[str, Any] = {"pagination": frame.height > 200, "paginationPageSize": 100,
                               "enableCellTextSelection": True, "ensureDomOrder": True,
                               "suppressColumnVirtualisation": True}
    if selectable:
        options["rowSelection"] = {"mode": "singleRow", "enableClickSelection": True}
    return dag.AgGrid(
        id=grid_id,
        rowData=records(frame.select(columns)) if columns else [],
        columnDefs=[{"field": c, "headerName": c} for c in columns],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
        dashGridOptions=options,
        columnSize="autoSize",
        # the grid's own CSV export neutralises formulas as the listing writers do (assets/dashAgGridFunctions.js)
        csvExportParams={"fileName": csv_name or f"{grid_id}.csv",
                         "processCellCallback": {"function": "inertCsvText(params.value)"},
                         "processHeaderCallback": {"function": "inertCsvText(params.column.getColDef().headerName)"}},
        style={"height": f"{height}px", "width": "100%"},
        className="ag-theme-alpine",
    )


def section(title: str, *children: Any, help_text: str | None = None) -> html.Section:
    head = [html.H4(title)] + ([html.P(help_text, className="help")] if help_text else [])
    return html.Section(head + list(children), className="page-section")


def page(title: str, subtitle: str, *children: Any) -> html.Div:
    return html.Div([html.H2(title), html.P(subtitle, className="page-subtitle"), *children], className="page")


__all__ = ["card", "grid", "not_computed", "page", "records", "section"]
