"""Signals keep their history across cycles: new, ongoing, closed, new again; and an assessment."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from safety.signals.history import assess_signal, signal_states, update_signal_states, with_history

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def table(*flagged_terms: str) -> pl.DataFrame:
    terms = ["hypertension", "dry eye", "nausea"]
    return pl.DataFrame({"grade_class": ["any"] * 3, "term": terms,
                         "signal": [t in flagged_terms for t in terms]})


def test_new_ongoing_closed_and_reopened(store):
    with store.write() as conn:
        first = update_signal_states(conn, table("hypertension"), 1, NOW)
    assert first.select("term", "SIGNAL_STATUS", "FIRST_SEEN_CYCLE").rows() == [("hypertension", "new", 1)]
    with store.write() as conn:
        second = update_signal_states(conn, table("hypertension", "dry eye"), 2, NOW)
        assess_signal(conn, "oe|any|hypertension", "under evaluation", "so1", "looking at BP logs", NOW)
    assert dict(second.select("term", "SIGNAL_STATUS").rows()) == {"hypertension": "ongoing", "dry eye": "new"}
    with store.write() as conn:
        update_signal_states(conn, table("dry eye"), 3, NOW)
        states = {r["signal_key"]: r for r in signal_states(conn).iter_rows(named=True)}
    assert states["oe|any|hypertension"]["status"] == "closed"
    assert states["oe|any|hypertension"]["assessment"] == "under evaluation"
    with store.write() as conn:
        again = update_signal_states(conn, table("hypertension"), 4, NOW)
        states = {r["signal_key"]: r for r in signal_states(conn).iter_rows(named=True)}
    # flagging again after closing is a new episode, to be assessed afresh
    assert again.select("SIGNAL_STATUS", "FIRST_SEEN_CYCLE").row(0) == ("new", 4)
    assert states["oe|any|hypertension"]["assessment"] is None
    assert states["oe|any|dry eye"]["status"] == "closed"


def test_a_term_respelled_by_case_or_spacing_keeps_its_history(store):
    # The term is the same signal whatever its case or spacing (terms match by trimmed,
    # lower-cased, single-spaced key, safety.rsi.term_key): it stays ongoing with its assessment,
    # it is not closed and reopened as new.
    flagged = pl.DataFrame({"grade_class": ["any"], "term": ["Pneumonitis"], "signal": [True]})
    with store.write() as conn:
        update_signal_states(conn, flagged, 1, NOW)
        assess_signal(conn, "oe|any|pneumonitis", "under evaluation", "so1", "CT reviewed", NOW)
    respelled = pl.DataFrame({"grade_class": ["any"], "term": ["PNEUMONITIS "], "signal": [True]})
    with store.write() as conn:
        second = update_signal_states(conn, respelled, 2, NOW)
        states = signal_states(conn)
    assert second.select("SIGNAL_STATUS", "FIRST_SEEN_CYCLE").row(0) == ("ongoing", 1)
    assert states.select("signal_key", "status", "assessment").rows() == [
        ("oe|any|pneumonitis", "ongoing", "under evaluation")
    ]
    assert with_history(respelled, states).select("status", "assessment").row(0) == ("ongoing", "under evaluation")
