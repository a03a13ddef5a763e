"""Each signal keeps its history across cycles: new, ongoing, closed; and a reviewer's assessment."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection, insert, select, update

from safety.rsi import term_key_expr
from safety.store import schema


def signal_key(grade_class: pl.Expr | str = "grade_class", term: pl.Expr | str = "term") -> pl.Expr:
    g = pl.col(grade_class) if isinstance(grade_class, str) else grade_class
    t = pl.col(term) if isinstance(term, str) else term
    # the term's matching key, so that a term respelled by case or spacing keeps its history
    return pl.concat_str([pl.lit("oe"), g, term_key_expr(t)], separator="|")


def update_signal_states(conn: Connection, signals: pl.DataFrame, cycle_id: int, now: datetime) -> pl.DataFrame:
    """Record which flagged terms are new, still flagged (ongoing) or no longer flagged (closed).

    Returns the flagged rows with SIGNAL_KEY, SIGNAL_STATUS (new | ongoing) and FIRST_SEEN_CYCLE
    (a signal that closed and flags again starts a new episode), for alerts and the dashboard."""
    t = schema.signal_state
    flagged = signals.filter(pl.col("signal")).with_columns(signal_key().alias("SIGNAL_KEY"))
    known = {r.signal_key: r for r in conn.execute(select(t)).all()}
    keys = set(flagged["SIGNAL_KEY"].to_list())
    status, first_seen = {}, {}
    for key in keys:
        row = known.get(key)
        if row is None:
            conn.execute(insert(t).values(signal_key=key, status="new", first_seen_cycle=cycle_id,
                                          last_seen_cycle=cycle_id, first_seen_at=now, updated_at=now))
            status[key], first_seen[key] = "new", cycle_id
        elif row.status == "closed":
            # a closed signal that flags again is new again: the reviewer must look at it afresh
            conn.execute(update(t).where(t.c.id == row.id).values(
                status="new", first_seen_cycle=cycle_id, first_seen_at=now, last_seen_cycle=cycle_id,
                updated_at=now, assessment=None, assessed_by=None, assessed_at=None, assessment_comment=None))
            status[key], first_seen[key] = "new", cycle_id
        else:
            conn.execute(update(t).where(t.c.id == row.id).values(status="ongoing", last_seen_cycle=cycle_id,
                                                                 updated_at=now))
            status[key], first_seen[key] = "ongoing", row.first_seen_cycle
    for key, row in known.items():
        if key not in keys and row.status != "closed":
            conn.execute(update(t).where(t.c.id == row.id).values(status="closed", updated_at=now))
    return flagged.with_columns(
        pl.col("SIGNAL_KEY").replace_strict(status, default=None, return_dtype=pl.String).alias("SIGNAL_STATUS"),
        pl.col("SIGNAL_KEY").replace_strict(first_seen, default=None, return_dtype=pl.Int64)
        .alias("FIRST_SEEN_CYCLE"),
    )


def signal_states(conn: Connection) -> pl.DataFrame:
    t = schema.signal_state
    rows = conn.execute(select(t).order_by(t.c.id)).mappings().all()
    if rows:
        return pl.DataFrame([dict(r) for r in rows], infer_schema_length=None)
    return pl.DataFrame(schema={c.name: pl.String for c in t.columns})


def with_history(table: pl.DataFrame, states: pl.DataFrame) -> pl.DataFrame:
    """The observed-against-expected table beside each signal's status and reviewer's assessment."""
    keyed = table.with_columns(signal_key().alias("signal_key"))
    if states.is_empty():
        return keyed.with_columns(*(pl.lit(None, pl.String).alias(c)
                                    for c in ("status", "first_seen_at", "assessment", "assessed_by")))
    history = states.select("signal_key", "status", pl.col("first_seen_at").cast(pl.String), "assessment",
                            "assessed_by")
    return keyed.join(history, on="signal_key", how="left")


def assess_signal(conn: Connection, key: str, assessment: str, user: str, comment: str, now: datetime) -> None:
    t = schema.signal_state
    found = conn.execute(select(t.c.id).where(t.c.signal_key == key)).scalar_one_or_none()
    if found is None:
        raise KeyError(f"no signal {key!r}")
    conn.execute(update(t).where(t.c.id == found).values(
        assessment=assessment, assessed_by=user, assessed_at=now, assessment_comment=comment))
