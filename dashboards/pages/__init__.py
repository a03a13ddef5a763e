"""One module per page. Each has NAME, PATH, TITLE, `layout(ctx, request)` and `register(app, ctx)`."""

from __future__ import annotations

from types import ModuleType

from dashboards.pages import (
    activity,
    adverse_events,
    alerts,
    data,
    dlt_boundaries,
    labs,
    overview,
    patients,
    signals,
    susars,
)

PAGES: list[ModuleType] = [
    overview, adverse_events, patients, labs, dlt_boundaries, susars, signals, activity, alerts, data,
]


def page_for(pathname: str) -> ModuleType | None:
    path = "/" + pathname.strip("/")
    return next((p for p in PAGES if p.PATH == path), None)


__all__ = ["PAGES", "page_for"]
