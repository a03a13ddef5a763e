"""Expedited-reporting clocks as polars expressions.

ICH E2A III.A / EU 536/2014 art. 42 / 21 CFR 312.32(c)(1): fatal or life-threatening SUSARs within
7 calendar days of day 0 (complete follow-up within 8 more), all others within 15.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from safety.susar.config import Clocks

STATUSES = ("OPEN", "DUE SOON", "OVERDUE", "SUBMITTED", "SUBMITTED LATE")


def due_date(day0: pl.Expr, fatal_or_lt: pl.Expr, clocks: Clocks) -> pl.Expr:
    days = pl.when(fatal_or_lt).then(clocks.fatal_or_life_threatening_days).otherwise(clocks.other_days)
    return day0 + pl.duration(days=days)


def clock_status(due: pl.Expr, submitted_on: pl.Expr, today: dt.date, clocks: Clocks) -> pl.Expr:
    """OPEN, DUE SOON (<= due_soon_days left), OVERDUE, SUBMITTED or SUBMITTED LATE."""
    days_left = (due - pl.lit(today)).dt.total_days()
    return (
        pl.when(submitted_on.is_not_null() & (submitted_on <= due)).then(pl.lit("SUBMITTED"))
        .when(submitted_on.is_not_null()).then(pl.lit("SUBMITTED LATE"))
        .when(due.is_null()).then(pl.lit("OPEN"))
        .when(days_left < 0).then(pl.lit("OVERDUE"))
        .when(days_left <= clocks.due_soon_days).then(pl.lit("DUE SOON"))
        .otherwise(pl.lit("OPEN"))
    )


def days_to_due(due: pl.Expr, today: dt.date) -> pl.Expr:
    return (due - pl.lit(today)).dt.total_days()
