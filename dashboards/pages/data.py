"""Data: ingest runs, the rows quarantined by the last run with their reasons, job and cycle runs."""

from __future__ import annotations

from dash import html

from dashboards.components import grid, page, section
from dashboards.context import AppContext, PageRequest

NAME = "data"
PATH = "/data"
TITLE = "Data"


def layout(ctx: AppContext, request: PageRequest) -> html.Div:
    view = request.view
    runs = view.ingest_runs()
    quarantine = view.quarantine()
    return page(
        "Data", "How fresh and how clean the data are (always live)",
        section(f"Ingest runs ({runs.height})", grid("ingest-grid", runs, height=260)),
        section(f"Quarantined in the last run ({quarantine.height} rows)",
                grid("quarantine-grid", quarantine, ["domain", "file", "source_row", "record_key", "reason",
                                                     "row_json"], height=300),
                help_text="Rows that failed validation; they are not in the canonical tables until corrected."),
        section("Monitoring cycles", grid("cycle-grid", view.cycles(), height=220)),
        section("Job runs", grid("job-grid", view.job_runs(), height=260)),
        section("Audit trail (latest)", grid("audit-grid", view.audit(), height=260)),
    )


def register(app, ctx: AppContext) -> None:
    """No callbacks."""
